"""How a task runs inside its workflow: attempts, retries with backoff, and the record.

Every change to the task's record is a DBOS step, so after a crash the workflow replays
them instead of repeating them; between attempts the workflow sleeps durably (DBOS.sleep),
so a backoff survives a deploy. The task's own ``keel.tasks.step`` calls are steps too:
a replay returns their recorded results, and the task resumes after the last one done.

Django's task signals are sent from the workflow, as Django's backends send them (sender
the backend class, ``task_result``): ``task_started`` as each attempt begins, and
``task_finished`` once, when the task is SUCCESSFUL or FAILED after its last attempt.
They are not steps: a workflow that resumes replays its code, so a receiver may get a
signal again for an attempt it has seen. They are sent robustly: a receiver that raises
is logged by Django and changes nothing, so it cannot fail a task or make a replay
take another path.
"""

from __future__ import annotations

import traceback
from typing import TYPE_CHECKING, Any

from asgiref.sync import sync_to_async

from keel.tasks import services
from keel.tasks.api import normalize_json, task_backends, task_finished, task_started
from keel.tasks.database_retry import retrying_through_outages

if TYPE_CHECKING:
    from django.dispatch import Signal

    from keel.tasks.api import TaskResult


class TaskExpired(Exception):
    """The task was past its ``max_age`` when an attempt was due: it did not run."""


def expired_error(plan: dict[str, Any]) -> dict[str, str]:
    message = f"the task is {plan['age']:.0f} s old, past its max_age: not attempted"
    return {
        "exception_class_path": f"{TaskExpired.__module__}.{TaskExpired.__qualname__}",
        "traceback": f"{TaskExpired.__module__}.{TaskExpired.__qualname__}: {message}\n",
    }


def backoff(*, attempt: int, first: float, most: float) -> float:
    """Seconds to wait after failed attempt ``attempt`` (1-based): doubling, capped."""
    return float(min(most, first * 2 ** (attempt - 1)))


def error_of(exception: BaseException) -> dict[str, str]:
    kind = type(exception)
    return {
        "exception_class_path": f"{kind.__module__}.{kind.__qualname__}",
        "traceback": "".join(traceback.format_exception(exception)),
    }


def _send(signal: Signal, result: TaskResult) -> None:
    # Robust: a receiver's error is Django's to log ("django.dispatch"), never the task's.
    signal.send_robust(type(task_backends[result.backend]), task_result=result)


async def _asend(signal: Signal, result: TaskResult) -> None:
    await signal.asend_robust(type(task_backends[result.backend]), task_result=result)


def _final_result(task_id: str) -> TaskResult:
    """The task's result once its final state is recorded (for ``task_finished``)."""
    from keel.tasks.backend import task_of, task_result
    from keel.tasks.models import TaskRecord

    record = retrying_through_outages(TaskRecord.objects.get)(pk=task_id)
    return task_result(record, task_of(record))


def _step(name: str, function: Any, **kwargs: Any) -> Any:
    from dbos import DBOS

    return DBOS.run_step({"name": name}, retrying_through_outages(function), **kwargs)


def run(task_id: str) -> None:
    """Run a sync task's attempts in this workflow until one succeeds or none are left."""
    from dbos import DBOS

    from keel.tasks.backend import task_of, task_result
    from keel.tasks.models import TaskRecord

    # Not a step: every worker that (re)starts the workflow is recorded as one processing it.
    retrying_through_outages(services.task_worker_join)(
        task_id=task_id, worker_id=str(DBOS.executor_id)
    )
    attempt = 1
    while True:
        plan = _step(
            "keel_tasks.attempt_begin",
            services.task_attempt_begin,
            task_id=task_id,
            attempt=attempt,
        )
        if plan.get("expired"):
            _step(
                "keel_tasks.attempt_fail",
                services.task_attempt_fail,
                task_id=task_id,
                error=expired_error(plan),
                final=True,
            )
            _send(task_finished, _final_result(task_id))
            return
        record = TaskRecord.objects.get(pk=task_id)
        task = task_of(record)
        # The attempt's number as recorded when it began: a replay sees the same one.
        started = task_result(record, task, attempts=plan.get("attempts"))
        _send(task_started, started)
        try:
            if plan["takes_context"]:
                from keel.tasks.api import TaskContext

                value = task.call(TaskContext(task_result=started), *plan["args"], **plan["kwargs"])
            else:
                value = task.call(*plan["args"], **plan["kwargs"])
            returned = normalize_json(value)
        except Exception as exception:
            final = attempt > plan["retries"]
            _step(
                "keel_tasks.attempt_fail",
                services.task_attempt_fail,
                task_id=task_id,
                error=error_of(exception),
                final=final,
            )
            if final:
                # In the handler, as Django's backends do: its logging receiver shows it.
                _send(task_finished, _final_result(task_id))
                return
            DBOS.sleep(
                backoff(
                    attempt=attempt, first=plan["retry_backoff"], most=plan["retry_backoff_max"]
                )
            )
            attempt += 1
            continue
        _step("keel_tasks.succeed", services.task_succeed, task_id=task_id, return_value=returned)
        _send(task_finished, _final_result(task_id))
        return


async def arun(task_id: str) -> None:
    """Run an async task's attempts in this workflow (as ``run`` does for sync ones)."""
    from dbos import DBOS

    from keel.tasks.backend import task_of, task_result
    from keel.tasks.models import TaskRecord

    async def step(name: str, function: Any, **kwargs: Any) -> Any:
        return await DBOS.run_step_async(
            {"name": name}, sync_to_async(retrying_through_outages(function)), **kwargs
        )

    final_result = sync_to_async(_final_result)

    await sync_to_async(retrying_through_outages(services.task_worker_join))(
        task_id=task_id, worker_id=str(DBOS.executor_id)
    )
    attempt = 1
    while True:
        plan = await step(
            "keel_tasks.attempt_begin",
            services.task_attempt_begin,
            task_id=task_id,
            attempt=attempt,
        )
        if plan.get("expired"):
            await step(
                "keel_tasks.attempt_fail",
                services.task_attempt_fail,
                task_id=task_id,
                error=expired_error(plan),
                final=True,
            )
            await _asend(task_finished, await final_result(task_id))
            return
        record = await TaskRecord.objects.aget(pk=task_id)
        task = task_of(record)
        started = task_result(record, task, attempts=plan.get("attempts"))
        await _asend(task_started, started)
        try:
            if plan["takes_context"]:
                from keel.tasks.api import TaskContext

                value = await task.acall(
                    TaskContext(task_result=started), *plan["args"], **plan["kwargs"]
                )
            else:
                value = await task.acall(*plan["args"], **plan["kwargs"])
            returned = normalize_json(value)
        except Exception as exception:
            final = attempt > plan["retries"]
            await step(
                "keel_tasks.attempt_fail",
                services.task_attempt_fail,
                task_id=task_id,
                error=error_of(exception),
                final=final,
            )
            if final:
                await _asend(task_finished, await final_result(task_id))
                return
            await DBOS.sleep_async(
                backoff(
                    attempt=attempt, first=plan["retry_backoff"], most=plan["retry_backoff_max"]
                )
            )
            attempt += 1
            continue
        await step(
            "keel_tasks.succeed", services.task_succeed, task_id=task_id, return_value=returned
        )
        await _asend(task_finished, await final_result(task_id))
        return
