"""System checks for keel.tasks: the backends in TASKS load, with the queues they name."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register
from django.core.exceptions import ImproperlyConfigured


@register()
def check_task_backends(**kwargs: Any) -> list[CheckMessage]:
    from keel.tasks.api import task_backends

    problems: list[CheckMessage] = []
    for alias in getattr(settings, "TASKS", {}):
        try:
            task_backends[alias]
        except ImproperlyConfigured as error:
            problems.append(Error(str(error), hint="Fix TASKS (docs/tasks.md).", id="keel.E021"))
    return problems
