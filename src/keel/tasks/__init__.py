"""Durable Django tasks: ``django.tasks`` on DBOS, executed by ``keel worker``.

- ``keel.tasks.task``: Django's ``@task`` with retries (``retries``, ``retry_backoff``,
  ``retry_backoff_max``) on every supported Django (Django 6.1's own ``@task`` takes them
  too, as does the ``django-tasks`` backport on 5.2).
- ``keel.tasks.step``: checkpoint part of a task (keel.tasks.steps).
- ``keel.tasks.backend.DurableBackend``: the backend to name in ``TASKS``.
"""

from __future__ import annotations

from typing import Any

from keel.tasks.steps import arun_step, run_step, step

__all__ = ["arun_step", "run_step", "step", "task"]


def task(function: Any = None, /, **options: Any) -> Any:
    """``@task`` / ``@task(...)``: a Django task of the backend ``options["backend"]``
    (``default``), built by its ``task_class``, so keel's ``retries`` options apply."""
    from keel.tasks.api import DEFAULT_TASK_QUEUE_NAME, task_backends

    if "run_after" in options:
        raise TypeError("run_after is set when enqueueing: task.using(run_after=...).")
    backend = options.setdefault("backend", "default")
    options.setdefault("queue_name", DEFAULT_TASK_QUEUE_NAME)

    def decorate(target: Any) -> Any:
        return task_backends[backend].task_class(func=target, **options)

    return decorate(function) if function is not None else decorate
