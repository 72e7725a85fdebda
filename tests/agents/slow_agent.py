"""A test agent whose model streams slowly, so a worker can be killed mid-request.

Like the demo agent (the same scripted model and ``work`` tool), but each token of its
model responses takes ``TOKEN_DELAY`` seconds: a sentence takes seconds, long enough for
a test to SIGKILL the worker while a model request is streaming and check that the
resumed run's repeated tokens are shown once (docs/agents.md, "Events and streaming").
Loaded by the console's browser tests through ``AGENT_MODULES``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from pydantic_ai import RunContext
from pydantic_ai.messages import ModelMessage
from pydantic_ai.models.function import AgentInfo, DeltaToolCalls, FunctionModel

from keel.agents.demo import DemoInput, scripted_model
from keel.agents.durable import durable_agent, tool_step
from keel.agents.registry import AgentSpec, RunDeps, register

TOKEN_DELAY = 0.25
#: Words the model says before each tool call, one token each.
PREAMBLE = "Let me think about this slowly and carefully, one word at a time, before I start."


async def slow_model(
    messages: list[ModelMessage], info: AgentInfo
) -> AsyncIterator[str | DeltaToolCalls]:
    """Say ``PREAMBLE`` slowly, then answer as the demo agent's scripted model does."""
    for word in PREAMBLE.split(" "):
        await asyncio.sleep(TOKEN_DELAY)
        yield f"{word} "
    async for item in scripted_model(messages, info):
        yield item


slow_agent = durable_agent(
    name="slow", model=FunctionModel(stream_function=slow_model, model_name="slow-scripted")
)


@slow_agent.instructions
def _instructions(ctx: RunContext[RunDeps]) -> str:
    return f"Call the work tool {ctx.deps.input['steps']} times, then summarise."


@slow_agent.tool
@tool_step("slow.work")
async def work(ctx: RunContext[RunDeps], step: int) -> str:
    """Do one unit of (simulated) work."""
    await asyncio.sleep(float(ctx.deps.input["step_delay"]))
    return f"step {step} done"


register(
    AgentSpec(
        name="slow",
        agent=slow_agent,
        input_serializer=DemoInput,
        prompt=lambda validated: str(validated["prompt"]),
    )
)
