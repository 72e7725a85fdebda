"""``/readyz``'s ``tasks`` check: every keel task backend in ``TASKS`` loads, and its
records are reachable."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def check_task_queues() -> None:
    """Raise when a keel task backend's configuration is wrong or its table unreachable."""
    from keel.health.readiness import NotReady
    from keel.tasks.api import task_backends
    from keel.tasks.backend import DurableBackend
    from keel.tasks.models import TaskRecord

    for alias in getattr(settings, "TASKS", {}):
        try:
            backend = task_backends[alias]
        except ImproperlyConfigured as error:
            # keel's own message names the setting at fault and holds no secret (unlike a
            # driver's), so the operator reading /readyz sees what to fix.
            raise NotReady(str(error)) from error
        if isinstance(backend, DurableBackend):
            TaskRecord.objects.filter(backend=alias).exists()
