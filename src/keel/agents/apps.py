from __future__ import annotations

from typing import Any

from django.apps import AppConfig


class AgentsConfig(AppConfig):
    name = "keel.agents"
    label = "keel_agents"
    verbose_name = "Agent runs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from keel.agents import checks  # noqa: F401  (registers system checks)

    def keel_durable(self) -> Any:
        """What agent runs need in the worker's DBOS (keel.tasks.contributions)."""
        from keel.agents.contribution import agents_contribution

        return agents_contribution()
