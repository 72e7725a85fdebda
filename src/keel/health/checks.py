"""System checks that make the ALB health-check failure impossible to configure."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Warning, register
from django.core.exceptions import ImproperlyConfigured
from django.http.request import validate_host
from django.urls import Resolver404, resolve

from keel import credentials
from keel.constants import READY_PATH
from keel.ecs import task_allowed_hosts

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


@register()
def check_task_ips_allowed(**kwargs: Any) -> list[Error]:
    """On ECS, every private IP of this task must be an allowed host."""
    missing = [
        host for host in task_allowed_hosts() if not validate_host(host, settings.ALLOWED_HOSTS)
    ]
    if not missing:
        return []
    return [
        Error(
            f"ALLOWED_HOSTS does not allow this task's private IP(s): {', '.join(missing)}.",
            hint=(
                "Callers inside the VPC address the task by IP (/readyz probes, keel "
                "preflight); add them in the settings: "
                "ALLOWED_HOSTS = [..., *keel.ecs.task_allowed_hosts()]."
            ),
            id="keel.E003",
        )
    ]


@register()
def check_health_urls_included(**kwargs: Any) -> list[Error]:
    """``/readyz`` must reach keel's readiness view: the project includes keel.health.urls."""
    from keel.health.views import readyz

    try:
        found = resolve(READY_PATH).func is readyz
    except Resolver404:
        found = False
    if found:
        return []
    return [
        Error(
            f"{READY_PATH} does not reach keel's readiness view.",
            hint='Add path("", include("keel.health.urls")) to the root URLconf\'s '
            "urlpatterns: keel preflight, deploy gates and operators read /readyz.",
            id="keel.E004",
        )
    ]


@register()
def check_static_root(**kwargs: Any) -> list[Error]:
    """The image collects static files at build time, into ``STATIC_ROOT``."""
    from django.apps import apps

    if not apps.is_installed("django.contrib.staticfiles") or settings.STATIC_ROOT:
        return []
    return [
        Error(
            "STATIC_ROOT is not set, so the image cannot collect static files.",
            hint='Set STATIC_ROOT = env.string("STATIC_ROOT", str(BASE_DIR / "staticfiles")) '
            "(keel's image sets STATIC_ROOT=/app/staticfiles and runs collectstatic).",
            id="keel.E005",
        )
    ]


@register()
def check_json_logs(**kwargs: Any) -> list[Warning]:
    """Logs on ECS go to CloudWatch from stdout: keel's JSON lines, searchable by field."""
    from keel.logs import JsonFormatter

    formatters = (getattr(settings, "LOGGING", None) or {}).get("formatters", {})
    factories = {str(formatter.get("()", "")) for formatter in formatters.values()}
    if f"{JsonFormatter.__module__}.{JsonFormatter.__qualname__}" in factories:
        return []
    return [
        Warning(
            "The logs are not keel's JSON lines on stdout.",
            hint='Set LOGGING = keel.logs.logging_config(env.string("LOG_LEVEL", "INFO")'
            ".upper()): CloudWatch Logs Insights then searches every line by request id and "
            "trace id, and unhandled errors are logged outside DEBUG.",
            id="keel.W006",
        )
    ]


@register()
def check_rotated_secrets(**kwargs: Any) -> list[Error]:
    """Every secret ``ROTATED_SECRETS`` names has a well-formed ``<NAME>_SECRET_ARN``."""
    try:
        credentials.declared_secrets()
    except ImproperlyConfigured as error:
        return [
            Error(
                str(error),
                hint="A rotated secret is read from Secrets Manager by the process "
                "(docs/configuration.md, Rotated secrets); the Pulumi stack sets "
                "<NAME>_SECRET_ARN from keel:rotatedSecrets.",
                id="keel.E007",
            )
        ]
    return []
