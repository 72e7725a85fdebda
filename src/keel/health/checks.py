"""System checks that make the ALB health-check failure impossible to configure."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, register

HEALTH_MIDDLEWARE = "keel.health.middleware.HealthCheckMiddleware"


@register()
def check_health_middleware_first(**kwargs: Any) -> list[Error]:
    middleware = list(settings.MIDDLEWARE)
    if middleware and middleware[0] == HEALTH_MIDDLEWARE:
        return []
    return [
        Error(
            f"{HEALTH_MIDDLEWARE} must be the first entry in MIDDLEWARE.",
            hint=(
                "Anything before it may validate the Host header or redirect to HTTPS, and "
                "the ALB health check (Host: <task IP>) then fails with 400 or 301."
            ),
            id="keel.E001",
        )
    ]
