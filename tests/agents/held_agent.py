"""A test agent that says what the demo agent says, with tool calls a test can hold.

The demo's scripted model and input, so a run's text is the demo's; its ``work`` tool
records its start and waits while the test holds its step, as the counting agent's does
(tests/agents/holds.py, ``Cluster.hold``). The console's browser tests load it with
``AGENT_MODULES`` to reload a run's page while the run waits inside a tool call: still
running by construction, however slow the machine, until the test releases it.
"""

from __future__ import annotations

import asyncio

from pydantic_ai import RunContext
from pydantic_ai.models.function import FunctionModel

from keel.agents.demo import DemoInput, scripted_model
from keel.agents.durable import durable_agent, tool_step
from keel.agents.registry import AgentSpec, RunDeps, register
from tests.agents.holds import start_and_wait_while_held

held_agent = durable_agent(
    name="held", model=FunctionModel(stream_function=scripted_model, model_name="held-scripted")
)


@held_agent.instructions
def _instructions(ctx: RunContext[RunDeps]) -> str:
    return f"Call the work tool {ctx.deps.input['steps']} times, then summarise."


@held_agent.tool
@tool_step("held.work")
async def work(ctx: RunContext[RunDeps], step: int) -> str:
    """Do one unit of (simulated) work, once the test lets it."""
    await start_and_wait_while_held(ctx.deps.run_id, step)
    await asyncio.sleep(float(ctx.deps.input["step_delay"]))
    return f"step {step} done"


register(
    AgentSpec(
        name="held",
        agent=held_agent,
        input_serializer=DemoInput,
        prompt=lambda validated: str(validated["prompt"]),
    )
)
