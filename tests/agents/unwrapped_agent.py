"""An agent module that forgot ``tool_step``: registering it must fail (keel.E014)."""

from __future__ import annotations

from pydantic_ai.models.function import FunctionModel

from keel.agents.demo import DemoInput, scripted_model
from keel.agents.durable import durable_agent
from keel.agents.registry import AgentSpec, register

unwrapped_agent = durable_agent(
    name="unwrapped", model=FunctionModel(stream_function=scripted_model, model_name="unwrapped")
)


@unwrapped_agent.tool_plain
async def lookup(order_id: str) -> str:
    """A tool with a side effect that a crash would repeat."""
    return order_id


register(
    AgentSpec(
        name="unwrapped",
        agent=unwrapped_agent,
        input_serializer=DemoInput,
        prompt=lambda validated: str(validated["prompt"]),
    )
)
