"""Business logic for tasks: every write to a task's record goes through here.

The workflow that executes a task (keel.tasks.execution) calls these as DBOS steps, so
each change of state is recorded once and replayed, not repeated, after a crash.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from keel import constants, metrics
from keel.tasks.models import TaskRecord, TaskStatus

logger = logging.getLogger("keel.tasks")

#: The DBOS workflows that run a task, sync and async (keel.tasks.workflows).
RUN_WORKFLOW = "keel_tasks.run"
ARUN_WORKFLOW = "keel_tasks.arun"
#: DBOS priorities run lowest first, from 1; Django's run highest first, -100 to 100.
PRIORITY_OFFSET = 101


def dbos_queue_name(*, backend: str, queue_name: str) -> str:
    """The DBOS queue a task of ``backend`` (a TASKS alias) on ``queue_name`` waits in."""
    return f"keel_tasks.{backend}.{queue_name}"


def task_record_create(
    *,
    backend: str,
    task_path: str,
    queue_name: str,
    priority: int,
    run_after: Any,
    takes_context: bool,
    retries: int,
    retry_backoff: float,
    retry_backoff_max: float,
    args: list[Any],
    kwargs: dict[str, Any],
    max_age: float | None = None,
) -> TaskRecord:
    """Record a task and hand it to the workers once the caller's transaction commits.

    Outside a transaction that is at once. Inside one, a rollback discards the record and
    nothing runs. A process that dies between the commit and the hand-over leaves the
    record READY with no ``enqueued_at``, and a worker's sweep hands it over later.
    """
    now = timezone.now()
    record = TaskRecord.objects.create(
        id=uuid.uuid4().hex,
        expires_at=None if max_age is None else now + timedelta(seconds=max_age),
        backend=backend,
        task_path=task_path,
        queue_name=queue_name,
        priority=priority,
        run_after=run_after,
        takes_context=takes_context,
        retries=retries,
        retry_backoff=retry_backoff,
        retry_backoff_max=retry_backoff_max,
        args=args,
        kwargs=kwargs,
    )
    transaction.on_commit(lambda: _dispatch_logged(record.id), robust=True)
    return record


def _dispatch_logged(task_id: str) -> None:
    try:
        task_dispatch(task_id=task_id)
    except Exception:
        # The record is committed: the sweep hands it over once the system database is
        # back (tasks_unenqueued_dispatch). The caller's request must not fail for it.
        logger.warning("task %s recorded; handing it to the workers failed", task_id, exc_info=True)


def task_dispatch(*, task_id: str) -> None:
    """Enqueue the task's workflow in DBOS (idempotent: the workflow id names the task)."""
    from keel.tasks.conf import durable_settings
    from keel.tasks.system_database import client

    record = TaskRecord.objects.get(pk=task_id)
    options: dict[str, Any] = {
        "workflow_name": ARUN_WORKFLOW if _is_async(record) else RUN_WORKFLOW,
        "queue_name": dbos_queue_name(backend=record.backend, queue_name=record.queue_name),
        "workflow_id": record.workflow_id,
        "priority": PRIORITY_OFFSET - record.priority,
        "app_version": durable_settings().application_version,
    }
    if record.run_after is not None:
        delay = (record.run_after - timezone.now()).total_seconds()
        if delay > 0:
            options["delay_seconds"] = delay
    client().enqueue(options, record.id)
    TaskRecord.objects.filter(pk=record.pk, enqueued_at__isnull=True).update(
        enqueued_at=timezone.now()
    )


def _is_async(record: TaskRecord) -> bool:
    from asgiref.sync import iscoroutinefunction
    from django.utils.module_loading import import_string

    return iscoroutinefunction(import_string(record.task_path).func)


def task_worker_join(*, task_id: str, worker_id: str) -> None:
    """Note that ``worker_id`` is (again) executing the task: it is RUNNING on it now."""
    with transaction.atomic():
        record = TaskRecord.objects.select_for_update().get(pk=task_id)
        if record.status in (TaskStatus.SUCCESSFUL, TaskStatus.FAILED):
            return
        if not record.worker_ids or record.worker_ids[-1] != worker_id:
            record.worker_ids = [*record.worker_ids, worker_id]
        record.status = TaskStatus.RUNNING
        record.last_attempted_at = timezone.now()
        record.save(update_fields=["worker_ids", "status", "last_attempted_at"])


def task_attempt_begin(*, task_id: str, attempt: int) -> dict[str, Any]:
    """Start attempt ``attempt``; return what the attempt runs (recorded, as a step).

    ``expired`` says the task is past its ``expires_at``: the attempt must not run.
    ``attempts`` is the result's attempt count with this one (``TaskContext.attempt``): one
    more than its errors, so it goes on counting after a retry from the failed list.
    """
    with transaction.atomic():
        record = TaskRecord.objects.select_for_update().get(pk=task_id)
        now = timezone.now()
        record.status = TaskStatus.RUNNING
        record.started_at = record.started_at or now
        record.last_attempted_at = now
        record.save(update_fields=["status", "started_at", "last_attempted_at"])
    return {
        "attempt": attempt,
        "attempts": record.attempts,
        "task_path": record.task_path,
        "args": record.args,
        "kwargs": record.kwargs,
        "takes_context": record.takes_context,
        "retries": record.retries,
        "retry_backoff": record.retry_backoff,
        "retry_backoff_max": record.retry_backoff_max,
        "expired": record.expires_at is not None and now > record.expires_at,
        "age": (now - record.created_at).total_seconds(),
    }


def task_attempt_fail(*, task_id: str, error: dict[str, str], final: bool) -> None:
    """Record a failed attempt: READY for the next one, or FAILED after the last."""
    with transaction.atomic():
        record = TaskRecord.objects.select_for_update().get(pk=task_id)
        record.errors = [*record.errors, error]
        record.status = TaskStatus.FAILED if final else TaskStatus.READY
        fields = ["errors", "status"]
        if final:
            record.finished_at = timezone.now()
            fields.append("finished_at")
        record.save(update_fields=fields)
    if final:
        metrics.emit(
            {constants.TASKS_FINISHED: 1},
            dimensions={constants.METRIC_OUTCOME_DIMENSION: TaskStatus.FAILED},
        )
    log = logger.error if final else logger.warning
    log(
        "task %s attempt failed%s: %s",
        task_id,
        "" if not final else " (no attempts left)",
        error["exception_class_path"],
        extra={"task_id": task_id, "final": final},
    )


def task_succeed(*, task_id: str, return_value: Any) -> None:
    TaskRecord.objects.filter(pk=task_id).update(
        status=TaskStatus.SUCCESSFUL, finished_at=timezone.now(), return_value=return_value
    )
    metrics.emit(
        {constants.TASKS_FINISHED: 1},
        dimensions={constants.METRIC_OUTCOME_DIMENSION: TaskStatus.SUCCESSFUL},
    )


def task_retry(*, task_id: str) -> TaskRecord:
    """Send a FAILED task back to the workers, as a new generation of the same result.

    A retry is an operator's decision to run it now: a ``max_age`` no longer applies.
    """
    with transaction.atomic():
        record = TaskRecord.objects.select_for_update().get(pk=task_id)
        if record.status != TaskStatus.FAILED:
            raise ValueError(f"task {task_id} is {record.status}, not FAILED")
        record.status = TaskStatus.READY
        record.generation += 1
        record.enqueued_at = None
        record.finished_at = None
        record.expires_at = None
        record.save(
            update_fields=["status", "generation", "enqueued_at", "finished_at", "expires_at"]
        )
        transaction.on_commit(lambda: _dispatch_logged(record.id), robust=True)
    return record


def task_gauges() -> dict[str, float]:
    """Tasks waiting to start now and running, database-wide (published by keel.tasks.worker).

    A task deferred to a later ``run_after`` is not waiting yet: the worker service scales
    on this count (QueuedWork), and a task due tomorrow needs no worker today.
    """
    from django.db.models import Count, Q

    counts = dict(
        TaskRecord.objects.filter(
            Q(status=TaskStatus.RUNNING)
            | Q(status=TaskStatus.READY)
            & (Q(run_after__isnull=True) | Q(run_after__lte=timezone.now()))
        )
        .values_list("status")
        .annotate(count=Count("id"))
        .order_by()
    )
    return {
        constants.QUEUED_TASKS: counts.get(TaskStatus.READY, 0),
        constants.RUNNING_TASKS: counts.get(TaskStatus.RUNNING, 0),
    }


def tasks_unenqueued_dispatch(*, grace: float, batch: int = 100) -> int:
    """Hand over tasks recorded but never enqueued, ``grace`` seconds after recording."""
    cutoff = timezone.now() - timedelta(seconds=grace)
    stranded = list(
        TaskRecord.objects.filter(
            status=TaskStatus.READY, enqueued_at__isnull=True, created_at__lt=cutoff
        )
        .order_by("created_at")
        .values_list("id", flat=True)[:batch]
    )
    for task_id in stranded:
        task_dispatch(task_id=task_id)
        logger.warning("handed over task %s, recorded but never enqueued", task_id)
    return len(stranded)
