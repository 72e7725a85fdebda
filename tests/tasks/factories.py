"""Factories for the tasks app's models (factory_boy), for tests that need rows."""

from __future__ import annotations

import factory
from django.utils import timezone

from keel.tasks.models import TaskRecord, TaskStatus, WorkerHeartbeat


class TaskRecordFactory(factory.django.DjangoModelFactory[TaskRecord]):
    """A task recorded on the default backend and queue, READY and not yet handed over."""

    class Meta:
        model = TaskRecord

    id = factory.Sequence(lambda number: f"task-{number}")
    backend = "default"
    task_path = "tests.tasks.durable_tasks.marked"
    queue_name = "default"
    status = TaskStatus.READY


class WorkerHeartbeatFactory(factory.django.DjangoModelFactory[WorkerHeartbeat]):
    class Meta:
        model = WorkerHeartbeat

    executor_id = factory.Sequence(lambda number: f"executor-{number}")
    application_version = "keel-agents-1"
    started_at = factory.LazyFunction(timezone.now)
    beat_at = factory.LazyFunction(timezone.now)
