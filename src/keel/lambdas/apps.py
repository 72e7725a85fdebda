from __future__ import annotations

from typing import Any

from django.apps import AppConfig


class LambdasConfig(AppConfig):
    name = "keel.lambdas"
    label = "keel_lambdas"
    verbose_name = "Lambda functions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from keel.lambdas import checks, registry  # noqa: F401  (registers system checks)

        # Lambda's init phase, at start-up: every handler imported and checked now, so a
        # wrong path stops the process with the function's name instead of failing its
        # first request (the web role runs no system checks when gunicorn boots).
        registry.functions()

    def keel_durable(self) -> Any:
        """Scheduled functions, as DBOS schedules of the worker (keel.tasks.contributions)."""
        from keel.lambdas.contribution import lambdas_contribution

        return lambdas_contribution()

    def keel_worker(self) -> Any:
        """The SQS pollers of the functions with queue triggers (keel.lambdas.sqs)."""
        from keel.lambdas.sqs import QueuePollers

        return QueuePollers()
