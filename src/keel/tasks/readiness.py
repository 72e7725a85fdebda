"""``/readyz``'s ``tasks`` check: every keel task backend in ``TASKS`` loads, and its
records are reachable."""

from __future__ import annotations

from django.conf import settings


def check_task_queues() -> None:
    """Raise when a keel task backend's configuration is wrong or its table unreachable."""
    from keel.tasks.api import task_backends
    from keel.tasks.backend import DurableBackend
    from keel.tasks.models import TaskRecord

    for alias in getattr(settings, "TASKS", {}):
        backend = task_backends[alias]  # ImproperlyConfigured names a bad queue option
        if isinstance(backend, DurableBackend):
            TaskRecord.objects.filter(backend=alias).exists()
