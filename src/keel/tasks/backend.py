"""keel's ``django.tasks`` backend: every task a durable DBOS workflow run by ``keel worker``.

    TASKS = {
        "default": {
            "BACKEND": "keel.tasks.backend.DurableBackend",
            "QUEUES": ["default", "reports"],
            "OPTIONS": {"queues": {"reports": {"concurrency": 2, "worker_concurrency": 1}}},
        }
    }

Tasks are ordinary Django tasks (``@task`` from ``django.tasks``, or ``django_tasks`` on
Django 5.2). ``keel.tasks.task`` adds retries with backoff on any supported Django;
``keel.tasks.step`` checkpoints the expensive parts of a task. docs/tasks.md explains
each guarantee.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from keel.tasks import services
from keel.tasks.api import (
    TASK_REFRESH_ATTRS,
    BaseTaskBackend,
    InvalidTask,
    Task,
    TaskError,
    TaskResult,
    TaskResultDoesNotExist,
    TaskResultStatus,
    normalize_json,
    task_enqueued,
)
from keel.tasks.models import TaskRecord

#: What a queue's entry in ``OPTIONS["queues"]`` may set, and the defaults.
QUEUE_OPTIONS = {"concurrency": None, "worker_concurrency": 10, "rate_limit": None}


@dataclass(frozen=True, slots=True, kw_only=True)
class DurableTask(Task):
    """A Django task that is retried: ``retries`` more attempts after a failure, each
    ``retry_backoff`` seconds after the last, doubling, at most ``retry_backoff_max``.

    ``max_age`` (seconds): no attempt starts once the task is older than this (counted
    from ``enqueue``); it fails instead, as Lambda drops an event past its maximum age.
    """

    retries: int = 0
    retry_backoff: float = 1.0
    retry_backoff_max: float = 300.0
    max_age: float | None = None


# Frozen as Django's TaskResult is; django-stubs 6.1 declares that one not frozen.
@dataclass(frozen=True, slots=True, kw_only=True)
class DurableTaskResult(TaskResult):  # type: ignore[misc]
    """Django's ``TaskResult``, with ``attempts`` the attempts made (``TaskRecord.attempts``).

    Django and django-tasks define ``attempts`` as ``len(worker_ids)``: one worker per
    attempt. keel's ``worker_ids`` are the executors that processed the task, so one
    worker may have made every attempt, and a resumed attempt has two. The count is kept
    beside them instead, and ``TaskContext.attempt`` (which is ``task_result.attempts``)
    is the number of the attempt under way.
    """

    _attempts: int = field(init=False, default=0)

    @property
    def attempts(self) -> int:
        return self._attempts

    def refresh(self) -> None:
        self._take(self.task.get_backend().get_result(self.id))

    async def arefresh(self) -> None:
        self._take(await self.task.get_backend().aget_result(self.id))

    def _take(self, refreshed: TaskResult) -> None:
        # Django's refresh copies TASK_REFRESH_ATTRS, which cannot name this class's field.
        for attr in (*TASK_REFRESH_ATTRS, "_attempts"):
            object.__setattr__(self, attr, getattr(refreshed, attr))


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueLimits:
    name: str
    #: At most this many of the queue's tasks running at once, across every worker.
    concurrency: int | None
    #: At most this many on one worker process.
    worker_concurrency: int
    #: At most ``limit`` starts every ``period`` seconds, across every worker.
    rate_limit: dict[str, float] | None


class DurableBackend(BaseTaskBackend):
    task_class = DurableTask
    supports_defer = True
    supports_async_task = True
    supports_get_result = True
    supports_priority = True

    def __init__(self, alias: str, params: dict[str, Any]) -> None:
        super().__init__(alias, params)
        self.limits = {name: self._queue_limits(name) for name in sorted(self.queues)}

    def _queue_limits(self, name: str) -> QueueLimits:
        configured = dict((self.options.get("queues") or {}).get(name) or {})
        unknown = set(configured) - set(QUEUE_OPTIONS)
        where = f"TASKS[{self.alias!r}]['OPTIONS']['queues'][{name!r}]"
        if unknown:
            raise ImproperlyConfigured(
                f"{where} has unknown keys {sorted(unknown)}; known: {sorted(QUEUE_OPTIONS)}."
            )
        values = {**QUEUE_OPTIONS, **configured}
        for key in ("concurrency", "worker_concurrency"):
            value = values[key]
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ImproperlyConfigured(f"{where}[{key!r}] must be a whole number >= 1.")
        rate = values["rate_limit"]
        if rate is not None and not (
            isinstance(rate, dict)
            and set(rate) == {"limit", "period"}
            and all(isinstance(rate[key], int | float) and rate[key] > 0 for key in rate)
        ):
            raise ImproperlyConfigured(
                f"{where}['rate_limit'] must be {{'limit': n, 'period': seconds}}."
            )
        return QueueLimits(name=name, **values)

    def validate_task(self, task: Task) -> None:
        super().validate_task(task)
        if isinstance(task, DurableTask):
            if not isinstance(task.retries, int) or task.retries < 0:
                raise InvalidTask("retries must be a whole number >= 0.")
            if not (0 < task.retry_backoff <= task.retry_backoff_max):
                raise InvalidTask("retry_backoff must be > 0 and at most retry_backoff_max.")
            if task.max_age is not None and not (
                isinstance(task.max_age, int | float) and task.max_age > 0
            ):
                raise InvalidTask("max_age must be a number of seconds > 0 (or None).")

    def enqueue(self, task: Task, args: Any, kwargs: Any) -> TaskResult:
        self.validate_task(task)
        args, kwargs = round_tripped(list(args), dict(kwargs))
        durable = task if isinstance(task, DurableTask) else None
        record = services.task_record_create(
            backend=self.alias,
            task_path=task.module_path,
            queue_name=task.queue_name,
            priority=task.priority,
            run_after=task.run_after,
            takes_context=task.takes_context,
            retries=durable.retries if durable else 0,
            retry_backoff=durable.retry_backoff if durable else 1.0,
            retry_backoff_max=durable.retry_backoff_max if durable else 300.0,
            max_age=durable.max_age if durable else None,
            args=args,
            kwargs=kwargs,
        )
        result = task_result(record, task)
        task_enqueued.send(type(self), task_result=result)
        return result

    def get_result(self, result_id: str) -> TaskResult:
        record = TaskRecord.objects.filter(pk=result_id, backend=self.alias).first()
        if record is None:
            raise TaskResultDoesNotExist(result_id)
        return task_result(record, task_of(record))

    def check(self, **kwargs: Any) -> list[Any]:
        from django.apps import apps
        from django.core.checks import Error

        if apps.is_installed("keel.tasks"):
            return []
        return [
            Error(
                f"TASKS[{self.alias!r}] uses keel's backend, but keel.tasks is not installed.",
                hint='Add "keel.tasks" to INSTALLED_APPS.',
                id="keel.E020",
            )
        ]


def round_tripped(args: list[Any], kwargs: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    """Return the arguments as the worker will see them, or refuse what JSON would change.

    A task's arguments travel through the database as JSON. Django normalises what it can
    (tuples become lists) and refuses what it cannot (a datetime, an object); on top of
    that, keel refuses values JSON would silently change (a dict with non-string keys,
    NaN), so a task never runs with arguments other than the ones it was given.
    """
    normalized = normalize_json({"args": args, "kwargs": kwargs})
    for path, value in _leaves(normalized, "arguments"):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{path} is {value!r}, which JSON cannot represent.")
    try:
        decoded = json.loads(json.dumps(normalized, allow_nan=False))
    except (TypeError, ValueError) as error:
        raise ValueError(f"Task arguments must survive a JSON round trip: {error}") from None
    if decoded != normalized:
        raise ValueError(
            "Task arguments must survive a JSON round trip (dict keys must be strings)."
        )
    return decoded["args"], decoded["kwargs"]


def _leaves(value: Any, path: str) -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return [leaf for key, item in value.items() for leaf in _leaves(item, f"{path}[{key!r}]")]
    if isinstance(value, list):
        return [
            leaf for index, item in enumerate(value) for leaf in _leaves(item, f"{path}[{index}]")
        ]
    return [(path, value)]


def task_of(record: TaskRecord) -> Task:
    """The ``Task`` a record was enqueued from, imported by its module path."""
    try:
        found = import_string(record.task_path)
    except ImportError as error:
        raise ImproperlyConfigured(
            f"task {record.id}: {record.task_path} does not import ({error})."
        ) from error
    if not isinstance(found, Task):
        raise ImproperlyConfigured(f"task {record.id}: {record.task_path} is not a task.")
    return found


def task_result(record: TaskRecord, task: Task, *, attempts: int | None = None) -> TaskResult:
    """The record as ``django.tasks.TaskResult``; ``attempts`` overrides the record's count
    (an attempt's own number, recorded when it began, so a replay sees the same one)."""
    result = DurableTaskResult(
        task=task.using(
            priority=record.priority, queue_name=record.queue_name, run_after=record.run_after
        ),
        id=record.id,
        status=TaskResultStatus(record.status),
        enqueued_at=record.created_at,
        started_at=record.started_at,
        finished_at=record.finished_at,
        last_attempted_at=record.last_attempted_at,
        args=record.args,
        kwargs=record.kwargs,
        backend=record.backend,
        errors=[TaskError(**error) for error in record.errors],
        worker_ids=list(record.worker_ids),
    )
    object.__setattr__(result, "_return_value", record.return_value)
    object.__setattr__(result, "_attempts", record.attempts if attempts is None else attempts)
    return result
