"""A test agent whose tool leaves a side effect outside DBOS, so re-execution shows.

Each ``work`` call appends ``<run id> <step> <unix time>`` to the file named by
``COUNTING_AGENT_LOG`` after its delay: a step that completed (and was checkpointed)
before a worker died must appear exactly once, however often the run was resumed.
Worker processes in the e2e tests load it with ``AGENT_MODULES``.

A test holds every run inside one step's tool call by writing that step's number to
``<log>.hold``: a call of that step records its start, then waits until the file is gone
or names another step (tests/agents/holds.py). So a SIGKILL lands mid-call by
construction, never in the moment between a tool's side effect and DBOS checkpointing it.
"""

from __future__ import annotations

import asyncio
import time

from pydantic_ai import RunContext
from pydantic_ai.models.function import FunctionModel

from keel.agents.demo import DemoInput, scripted_model
from keel.agents.durable import durable_agent, tool_step
from keel.agents.registry import AgentSpec, RunDeps, register
from tests.agents.holds import record, start_and_wait_while_held

counting_agent = durable_agent(
    name="counting",
    model=FunctionModel(stream_function=scripted_model, model_name="counting-scripted"),
)


@counting_agent.instructions
def _instructions(ctx: RunContext[RunDeps]) -> str:
    return f"Call the work tool {ctx.deps.input['steps']} times, then summarise."


@counting_agent.tool
@tool_step("counting.work")
async def work(ctx: RunContext[RunDeps], step: int) -> str:
    """Do one unit of work and record it."""
    run_id = ctx.deps.run_id
    await start_and_wait_while_held(run_id, step)
    await asyncio.sleep(float(ctx.deps.input["step_delay"]))
    await asyncio.to_thread(record, f"{run_id} {step} {time.time():.3f}\n")
    return f"step {step} done"


register(
    AgentSpec(
        name="counting",
        agent=counting_agent,
        input_serializer=DemoInput,
        prompt=lambda validated: str(validated["prompt"]),
    )
)
