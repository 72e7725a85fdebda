"""Tasks the e2e tests enqueue: each leaves side effects outside DBOS, so re-runs show.

Every side effect is a line ``<label> <what> <unix time>`` appended to the file named by
``TASKS_SIDE_EFFECT_LOG``; the tests read it to count attempts and steps and to audit
when each task ran. Loaded by ``keel web`` (which enqueues) and ``keel worker`` (which
imports each task by its module path when it runs it).
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

from keel.tasks import step, task
from keel.tasks.api import TaskContext, TaskResult, task_enqueued, task_finished, task_started


def record(label: str, what: str) -> None:
    with open(os.environ["TASKS_SIDE_EFFECT_LOG"], "a") as log:
        log.write(f"{label} {what} {time.time():.3f}\n")


def held(number: int) -> bool:
    """True while ``<log>.hold`` names step ``number``: its calls wait inside the step.

    So a test kills a worker mid-step by construction (tests.tasks.cluster.hold), never
    in the moment between a step's side effect and DBOS checkpointing it.
    """
    try:
        with open(os.environ["TASKS_SIDE_EFFECT_LOG"] + ".hold") as hold:
            return hold.read().strip() == str(number)
    except FileNotFoundError:
        return False


@step
def counted_step(label: str, number: int, delay: float) -> int:
    record(label, f"step-{number}-start")
    while held(number):
        time.sleep(0.05)
    time.sleep(delay)
    record(label, f"step-{number}-done")
    return number


@task
def counted(label: str, steps: int, step_delay: float) -> int:
    """``steps`` checkpointed steps; a resumed task must not redo a finished one."""
    return sum(counted_step(label, number, step_delay) for number in range(1, steps + 1))


@step
async def async_counted_step(label: str, number: int, delay: float) -> int:
    await asyncio.to_thread(record, label, f"step-{number}-start")
    # The hold is a file the test process removes: there is no event to wait on.
    while await asyncio.to_thread(held, number):  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    await asyncio.sleep(delay)
    await asyncio.to_thread(record, label, f"step-{number}-done")
    return number


@task
async def async_counted(label: str, steps: int, step_delay: float) -> int:
    total = 0
    for number in range(1, steps + 1):
        total += await async_counted_step(label, number, step_delay)
    return total


@step
def attempt_mark(label: str) -> int:
    record(label, "attempt")
    with open(os.environ["TASKS_SIDE_EFFECT_LOG"]) as log:
        return sum(1 for line in log if line.startswith(f"{label} attempt "))


@task(retries=2, retry_backoff=0.5, retry_backoff_max=5)
def flaky(label: str, failures: int) -> str:
    """Fail the first ``failures`` attempts (each counted in a step), then succeed."""
    if attempt_mark(label) <= failures:
        raise ConnectionError(f"{label}: the webhook endpoint refused the connection")
    return f"{label} delivered"


@task
def gated(label: str, gate: str) -> None:
    """Hold a slot of its queue until the file ``gate`` exists (the test creates it once it
    has seen what it waits for); the side effects name the worker process."""
    record(label, f"start:{os.getpid()}")
    deadline = time.monotonic() + 120
    while not os.path.exists(gate):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{label}: the gate {gate} was never opened")
        time.sleep(0.05)
    record(label, f"end:{os.getpid()}")


@task(max_age=1)
def perishable(label: str) -> str:
    """Must start within a second of being enqueued, or not at all."""
    record(label, "ran")
    return label


@task
def marked(label: str) -> str:
    record(label, "ran")
    return label


@task(takes_context=True)
def with_context(context: TaskContext, label: str) -> dict[str, Any]:
    record(label, "ran")
    return {"attempt": context.attempt, "id": context.task_result.id}


@task(takes_context=True, retries=1, retry_backoff=0.1, retry_backoff_max=0.1)
def retried_with_context(context: TaskContext, label: str, failures: int) -> dict[str, Any]:
    """Fail the first ``failures`` attempts, as ``context.attempt`` numbers them."""
    record(label, f"attempt-{context.attempt}")
    if context.attempt <= failures:
        raise ConnectionError(f"{label}: attempt {context.attempt} refused")
    return {"attempt": context.attempt, "attempts": context.task_result.attempts}


@task(takes_context=True, retries=1, retry_backoff=0.1, retry_backoff_max=0.1)
async def async_retried_with_context(
    context: TaskContext, label: str, failures: int
) -> dict[str, Any]:
    await asyncio.to_thread(record, label, f"attempt-{context.attempt}")
    if context.attempt <= failures:
        raise ConnectionError(f"{label}: attempt {context.attempt} refused")
    return {"attempt": context.attempt, "attempts": context.task_result.attempts}


SIGNALLED = {retried_with_context.func, async_retried_with_context.func}


def signalled(name: str, sender: type, task_result: TaskResult) -> None:
    """Record Django's task signals for the ``retried`` tasks only (other tests count
    every line of the log): ``<label> <signal>:<sender>:<status>:<attempts>``."""
    if task_result.task.func in SIGNALLED:
        what = f"{name}:{sender.__name__}:{task_result.status}:{task_result.attempts}"
        record(task_result.args[0], what)


def on_enqueued(sender: type, task_result: TaskResult, **kwargs: Any) -> None:
    signalled("enqueued", sender, task_result)


def on_started(sender: type, task_result: TaskResult, **kwargs: Any) -> None:
    signalled("started", sender, task_result)


def on_finished(sender: type, task_result: TaskResult, **kwargs: Any) -> None:
    signalled("finished", sender, task_result)


# Connected on import: ``keel web`` imports this module to enqueue, a worker to run a task.
task_enqueued.connect(on_enqueued)
task_started.connect(on_started)
task_finished.connect(on_finished)
