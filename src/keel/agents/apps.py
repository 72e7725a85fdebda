from __future__ import annotations

from typing import Any

from django.apps import AppConfig


class AgentsConfig(AppConfig):
    name = "keel.agents"
    label = "keel_agents"
    verbose_name = "Agent runs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from keel.agents import checks, system_database  # noqa: F401  (checks: registered)
        from keel.health.readiness import register

        # /readyz includes the DBOS system database: reachable, and its tables created.
        register("dbos")(system_database.check_reachable)

    def keel_worker(self) -> Any:
        """The service ``keel worker`` runs for this app (keel.runtime.worker)."""
        from keel.agents.worker import AgentWorker

        return AgentWorker()

    def keel_migrate(self) -> str:
        """Create or upgrade the DBOS system database; ``keel migrate`` calls this after
        Django's migrations, so /readyz is green before the first worker starts."""
        from keel.agents.system_database import migrate

        migrate()
        return "DBOS system database migrated"
