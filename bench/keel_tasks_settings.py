"""Bench-only settings for the keel.tasks row: bench.settings with keel's durable backend.

The same no-op task as django-tasks-db's (bench.django_jobs, ``@task()`` on the default
backend) then runs on keel's backend, enqueued with ``.enqueue()`` and run by
``keel worker`` (docs/tasks.md): one task, two backends.
"""

from bench.settings import *  # noqa: F403

TASKS = {"default": {"BACKEND": "keel.tasks.backend.DurableBackend"}}
