"""Checkpoints inside a task: ``keel.tasks.step`` makes a function a durable step.

    from keel.tasks import step, task

    @step
    def fetch_day(day: str) -> dict: ...

    @task(retries=3)
    def build_report(days: list[str]) -> str:
        totals = [fetch_day(day) for day in days]   # each one checkpointed
        ...

A step's result is recorded when it returns. If the worker dies, the task's workflow
resumes on another worker: every step that had returned gives its recorded result at
once, and the task carries on from the first that had not. A step is at least once: one
that was running when the worker died runs again, so make its side effects idempotent.
A stopping worker lets a step in flight finish and starts no new one (keel.tasks.drain).
Outside a worker (a test calling the task, Django's immediate backend) a step is a plain
call.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, overload

from asgiref.sync import iscoroutinefunction

from keel import constants, metrics
from keel.tasks import drain

TASK_STEP = {constants.METRIC_KIND_DIMENSION: "task"}


@overload
def step[**P, R](function: Callable[P, R], /) -> Callable[P, R]: ...


@overload
def step[**P, R](*, name: str | None = None) -> Callable[[Callable[P, R]], Callable[P, R]]: ...


def step(function: Any = None, /, *, name: str | None = None) -> Any:
    """Make ``function`` (sync or async) a checkpointed step of the task calling it."""

    def decorate(target: Callable[..., Any]) -> Callable[..., Any]:
        from dbos import DBOS

        step_name = name or f"{target.__module__}.{target.__qualname__}"
        if iscoroutinefunction(target):

            @functools.wraps(target)
            async def gated_async(*args: Any, **kwargs: Any) -> Any:
                async with drain.step():
                    with metrics.timed(constants.STEP_DURATION, **TASK_STEP):
                        return await target(*args, **kwargs)

            return DBOS.step(name=step_name)(gated_async)

        @functools.wraps(target)
        def gated(*args: Any, **kwargs: Any) -> Any:
            with drain.step_sync(), metrics.timed(constants.STEP_DURATION, **TASK_STEP):
                return target(*args, **kwargs)

        return DBOS.step(name=step_name)(gated)

    return decorate(function) if function is not None else decorate


def run_step[R](name: str, function: Callable[..., R], /, *args: Any, **kwargs: Any) -> R:
    """Call ``function`` as a checkpointed step named ``name`` (for one-off calls)."""
    wrapped: Callable[..., R] = step(name=name)(function)
    return wrapped(*args, **kwargs)


async def arun_step[R](
    name: str, function: Callable[..., Awaitable[R]], /, *args: Any, **kwargs: Any
) -> R:
    """Await ``function`` as a checkpointed step named ``name``."""
    wrapped: Callable[..., Awaitable[R]] = step(name=name)(function)
    return await wrapped(*args, **kwargs)
