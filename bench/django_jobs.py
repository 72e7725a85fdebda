"""The no-op Django task (django.tasks), on the default backend of the settings in use.

bench.settings makes it django-tasks-db's (its database backend, run by ``db_worker``);
bench.keel_tasks_settings makes it keel's (keel.tasks, run by ``keel worker``).
"""

from django.tasks import task

from bench.jobs import record_start


@task()
def noop(tag: str, job: int, enqueued_at: float) -> None:
    record_start(tag, job, enqueued_at)
