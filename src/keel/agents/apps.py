from __future__ import annotations

from django.apps import AppConfig


class AgentsConfig(AppConfig):
    name = "keel.agents"
    label = "keel_agents"
    verbose_name = "Agent runs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from keel.agents import system_database
        from keel.health.readiness import register

        # /readyz includes the DBOS system database: reachable, and its tables created.
        register("dbos")(system_database.check_reachable)
