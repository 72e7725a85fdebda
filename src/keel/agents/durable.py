"""Build pydantic-ai agents whose model and tool calls are DBOS steps and whose events
become run events.

``DBOSDurability`` makes every model request a checkpointed step and hands streamed
model events to the handler live, inside that step. Function tools are not steps by
default in pydantic-ai: agents decorate each tool with ``tool_step`` so a completed tool
call is never executed again after a crash, and keel.agents.registry refuses an agent
with a tool that is not one (keel.E014). Agents declared in settings get their tools
wrapped by ``durable_tool``.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import AsyncGenerator, AsyncIterable, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from dbos import DBOS
from pydantic_ai import Agent, RunContext
from pydantic_ai.durable_exec.dbos import DBOSDurability
from pydantic_ai.messages import (
    AgentStreamEvent,
    FunctionToolCallEvent,
    FunctionToolResultEvent,
    PartDeltaEvent,
    PartStartEvent,
    TextPart,
    TextPartDelta,
)
from pydantic_ai.models.wrapper import WrapperModel

from keel import constants, metrics
from keel.agents.models import EventType
from keel.agents.registry import STEP_MARKER, RunDeps
from keel.agents.services import run_event_append
from keel.tasks import drain
from keel.tasks.database_retry import retrying_through_outages


async def record_events(ctx: RunContext[RunDeps], events: AsyncIterable[AgentStreamEvent]) -> None:
    """Store streamed tokens, tool calls and tool results as run events."""
    async for event in events:
        recorded = _as_run_event(event)
        if recorded is not None:
            await asyncio.to_thread(
                retrying_through_outages(run_event_append),
                run_id=ctx.deps.run_id,
                type=recorded[0],
                payload=recorded[1],
            )


def _as_run_event(event: AgentStreamEvent) -> tuple[EventType, dict[str, Any]] | None:
    if isinstance(event, PartStartEvent) and isinstance(event.part, TextPart):
        return (EventType.TOKEN, {"text": event.part.content}) if event.part.content else None
    if isinstance(event, PartDeltaEvent) and isinstance(event.delta, TextPartDelta):
        return EventType.TOKEN, {"text": event.delta.content_delta}
    if isinstance(event, FunctionToolCallEvent):
        return EventType.TOOL_CALL, {
            "tool": event.part.tool_name,
            "call_id": event.part.tool_call_id,
            "args": event.part.args_as_dict(),
        }
    if isinstance(event, FunctionToolResultEvent):
        return EventType.TOOL_RESULT, {
            "tool": event.part.tool_name,
            "call_id": event.part.tool_call_id,
            "content": event.part.model_response_str(),
        }
    return None


def tool_step[**P, R](
    name: str,
) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """Make an async tool body a checkpointed, cancellable DBOS step.

    Preemptible: cancelling the run (or its time limit) aborts a tool in flight. The drain
    gate keeps a stopping worker from starting it at all.
    """

    def decorate(function: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        @functools.wraps(function)
        async def gated(*args: P.args, **kwargs: P.kwargs) -> R:
            async with drain.step():
                with metrics.timed(
                    constants.STEP_DURATION, **{constants.METRIC_KIND_DIMENSION: "tool"}
                ):
                    return await function(*args, **kwargs)

        step = DBOS.step(name=name, preemptible=True)(gated)
        setattr(step, STEP_MARKER, name)
        return step

    return decorate


def durable_tool(function: Callable[..., Any], *, agent: str) -> Callable[..., Any]:
    """Return ``function`` as a tool that is a durable step named ``<agent>.<function>``.

    A function already made a step by ``tool_step`` is returned as it is; a sync function
    runs in a thread, so a slow call does not stall the worker's event loop. The result
    keeps the function's signature and docstring, which are the tool's schema.
    """
    if getattr(function, STEP_MARKER, None):
        return function
    if inspect.iscoroutinefunction(function):
        return tool_step(f"{agent}.{function.__name__}")(function)

    @functools.wraps(function)
    async def in_thread(*args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(function, *args, **kwargs)

    return tool_step(f"{agent}.{function.__name__}")(in_thread)


MODEL_STEP = {constants.METRIC_KIND_DIMENSION: "model"}


class GatedModel(WrapperModel):
    """A model whose requests pass the worker's drain gate (keel.tasks.drain)."""

    async def request(self, *args: Any, **kwargs: Any) -> Any:
        async with drain.step():
            with metrics.timed(constants.STEP_DURATION, **MODEL_STEP):
                return await super().request(*args, **kwargs)

    @asynccontextmanager
    async def request_stream(self, *args: Any, **kwargs: Any) -> AsyncGenerator[Any]:
        async with drain.step():
            with metrics.timed(constants.STEP_DURATION, **MODEL_STEP):
                async with super().request_stream(*args, **kwargs) as stream:
                    yield stream


def durable_agent(*, name: str, model: Any, **options: Any) -> Agent[RunDeps, str]:
    """Return a pydantic-ai agent named ``name`` whose runs are durable inside a workflow."""
    return Agent(
        GatedModel(model),
        name=name,
        deps_type=RunDeps,
        capabilities=[
            DBOSDurability(event_stream_handler=record_events, parallel_execution_mode="sequential")
        ],
        **options,
    )
