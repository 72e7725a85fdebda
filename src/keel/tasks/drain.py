"""Let a stopping worker finish the steps it is in without starting new ones.

DBOS's worker process exits on SIGTERM without draining. Keel's worker instead closes
this gate: a step (a model or tool call of an agent run, a ``keel.tasks.step`` of a task)
already in flight runs to its end and is checkpointed, while one about to start parks
forever, so each workflow stops at a step boundary. Once every running workflow is parked
(or the graceful timeout passes) the worker exits and another worker recovers the
workflows from their last completed step.

Counting parked workflows rather than steps in flight matters: a workflow reaches its
next gate only after DBOS recorded the previous step, so "all parked" means every
finished step is checkpointed. A sync workflow (a sync task) parks its thread; an async
one (an agent run) parks its coroutine. A workflow that never reaches a gate (a task with
no steps) runs until it ends or the graceful timeout passes, then is recovered whole.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

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


def _count(delta: int) -> None:
    global _running
    with _lock:
        _running += delta


def _park() -> None:
    global _parked
    with _lock:
        _parked += 1


@contextmanager
def workflow_sync() -> Iterator[None]:
    """Count a running sync workflow for the idle check."""
    _count(1)
    try:
        yield
    finally:
        _count(-1)


@asynccontextmanager
async def workflow() -> AsyncIterator[None]:
    """Count a running async workflow for the idle check."""
    _count(1)
    try:
        yield
    finally:
        _count(-1)


@contextmanager
def step_sync() -> Iterator[None]:
    """Let a step start, or park this thread forever once the gate is closed."""
    if _closed.is_set():
        _park()
        # Never started, so nothing runs twice; the process exits around it.
        threading.Event().wait()
    yield


@asynccontextmanager
async def step() -> AsyncIterator[None]:
    """Let a step start, or park this coroutine forever once the gate is closed."""
    if _closed.is_set():
        _park()
        await asyncio.Event().wait()
    yield
