"""Let a stopping worker finish the steps it is in without starting new ones.

DBOS's worker process exits on SIGTERM without draining. Keel's worker instead closes
this gate: a model or tool call already in flight runs to its end and is checkpointed,
while one about to start parks forever, so each run stops at a step boundary. Once every
running workflow is parked (or the graceful timeout passes) the worker exits and another
worker recovers the runs from their last completed step.

Counting parked workflows rather than steps in flight matters: a workflow reaches its
next gate only after DBOS recorded the previous step, so "all parked" means every
finished step is checkpointed.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from pydantic_ai.models.wrapper import WrapperModel

_lock = threading.Lock()
_running = 0
_parked = 0
_closed = threading.Event()


def close() -> None:
    """Stop admitting new steps in this process."""
    _closed.set()


def is_closed() -> bool:
    return _closed.is_set()


def busy() -> int:
    """Return how many workflows are running and not parked at the gate."""
    with _lock:
        return _running - _parked


def wait_idle(timeout: float) -> bool:
    """Wait until every running workflow is parked; return False if ``timeout`` passed."""
    deadline = time.monotonic() + timeout
    while busy() > 0:
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True


@asynccontextmanager
async def workflow() -> AsyncIterator[None]:
    """Count a running workflow for the idle check."""
    global _running
    with _lock:
        _running += 1
    try:
        yield
    finally:
        with _lock:
            _running -= 1


@asynccontextmanager
async def step() -> AsyncIterator[None]:
    """Let a model or tool call start, or park forever once the gate is closed."""
    global _parked
    if _closed.is_set():
        with _lock:
            _parked += 1
        # Never started, so nothing runs twice; the process exits around it.
        await asyncio.Event().wait()
    yield


class GatedModel(WrapperModel):
    """A model whose requests pass the drain gate."""

    async def request(self, *args: Any, **kwargs: Any) -> Any:
        async with step():
            return await super().request(*args, **kwargs)

    @asynccontextmanager
    async def request_stream(self, *args: Any, **kwargs: Any) -> AsyncGenerator[Any]:
        async with step(), super().request_stream(*args, **kwargs) as stream:
            yield stream
