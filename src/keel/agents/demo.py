"""The demo agent: offline and deterministic, so a new project shows a full run with no key.

Registered when a project lists ``keel.agents.demo`` in ``AGENT_MODULES`` (the example
project does; docs/adopting.md's first run uses it).

A scripted model streams a sentence token by token, then asks for the ``work`` tool,
``steps`` times, one call per turn; each call takes ``step_delay`` seconds. Both the model
requests and the tool calls are durable steps, so a worker killed mid-run resumes at the
step it was in.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

from pydantic_ai import RunContext
from pydantic_ai.messages import ModelMessage, ModelRequest, ToolReturnPart
from pydantic_ai.models.function import AgentInfo, DeltaToolCall, DeltaToolCalls, FunctionModel
from rest_framework import serializers

from keel.agents.durable import durable_agent, tool_step
from keel.agents.fields import StrictCharField, StrictFloatField, StrictIntegerField
from keel.agents.registry import AgentSpec, RunDeps, register

#: Pause between streamed tokens, so a client sees them arrive one by one.
TOKEN_INTERVAL = 0.005
_STEPS = re.compile(r"Call the work tool (\d+) times")


class DemoInput(serializers.Serializer[Any]):
    # Strict fields: a JSON string, integer and number exactly as the schema says.
    prompt = StrictCharField(max_length=10_000)
    steps = StrictIntegerField(min_value=1, max_value=20, default=3)
    step_delay = StrictFloatField(min_value=0, max_value=10, default=0.2)


def _completed_steps(messages: list[ModelMessage]) -> int:
    return sum(
        isinstance(part, ToolReturnPart)
        for message in messages
        if isinstance(message, ModelRequest)
        for part in message.parts
    )


async def _tokens(text: str) -> AsyncIterator[str]:
    for index, word in enumerate(text.split(" ")):
        await asyncio.sleep(TOKEN_INTERVAL)
        yield word if index == 0 else f" {word}"


async def scripted_model(
    messages: list[ModelMessage], info: AgentInfo
) -> AsyncIterator[str | DeltaToolCalls]:
    """Follow the instructions: call ``work`` N times, then answer."""
    match = _STEPS.search(info.instructions or "")
    steps = int(match.group(1)) if match else 1
    done = _completed_steps(messages)
    if done < steps:
        async for token in _tokens(f"Working on step {done + 1} of {steps}."):
            yield token
        yield {
            0: DeltaToolCall(
                name="work", json_args=f'{{"step": {done + 1}}}', tool_call_id=f"work-{done + 1}"
            )
        }
        return
    async for token in _tokens(f"Done: finished all {steps} steps."):
        yield token


demo_agent = durable_agent(
    name="demo", model=FunctionModel(stream_function=scripted_model, model_name="demo-scripted")
)


@demo_agent.instructions
def _instructions(ctx: RunContext[RunDeps]) -> str:
    return f"Call the work tool {ctx.deps.input['steps']} times, then summarise."


@demo_agent.tool
@tool_step("demo.work")
async def work(ctx: RunContext[RunDeps], step: int) -> str:
    """Do one unit of (simulated) work."""
    await asyncio.sleep(float(ctx.deps.input["step_delay"]))
    return f"step {step} done"


register(
    AgentSpec(
        name="demo",
        agent=demo_agent,
        input_serializer=DemoInput,
        prompt=lambda validated: str(validated["prompt"]),
    )
)
