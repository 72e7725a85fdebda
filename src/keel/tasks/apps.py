from __future__ import annotations

from typing import Any

from django.apps import AppConfig


class TasksConfig(AppConfig):
    name = "keel.tasks"
    label = "keel_tasks"
    verbose_name = "Durable tasks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from keel.health.readiness import register
        from keel.tasks import checks, readiness, system_database  # noqa: F401  (registers)

        # /readyz includes the DBOS system database (reachable, its tables created) and
        # the task queues the settings declare. Those are read from keel's database: with
        # it down the check could only wait as long again to fail (READY_OUTAGE_ANSWER_BOUND).
        register("dbos")(system_database.check_reachable)
        register("tasks", requires="database")(readiness.check_task_queues)

    def keel_worker(self) -> Any:
        """The service ``keel worker`` runs: DBOS, every app's queues, the heartbeat."""
        from keel.tasks.worker import DurableWorker

        return DurableWorker()

    def keel_migrate(self) -> str:
        """Create or upgrade the DBOS system database; ``keel migrate`` calls this after
        Django's migrations, so /readyz is green before the first worker starts."""
        from keel.tasks.system_database import migrate

        migrate()
        return "DBOS system database migrated"

    def keel_durable(self) -> Any:
        """What this app runs in the worker's DBOS: the task workflows and queues."""
        from keel.tasks.contributions import tasks_contribution

        return tasks_contribution()
