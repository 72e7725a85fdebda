"""Factories for the tasks app's models (factory_boy), for tests that need rows."""

from __future__ import annotations

import factory
from django.utils import timezone

from keel.tasks.models import WorkerHeartbeat


class WorkerHeartbeatFactory(factory.django.DjangoModelFactory[WorkerHeartbeat]):
    class Meta:
        model = WorkerHeartbeat

    executor_id = factory.Sequence(lambda number: f"executor-{number}")
    application_version = "keel-agents-1"
    started_at = factory.LazyFunction(timezone.now)
    beat_at = factory.LazyFunction(timezone.now)
