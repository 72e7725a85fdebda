"""The no-op task for django-tasks-db (Django's task framework, database backend)."""

from django.tasks import task

from bench.jobs import record_start


@task()
def noop(tag: str, job: int, enqueued_at: float) -> None:
    record_start(tag, job, enqueued_at)
