from __future__ import annotations

import logging

from django.apps import AppConfig
from django.conf import settings

logger = logging.getLogger("keel.health")


class HealthConfig(AppConfig):
    name = "keel.health"
    label = "keel_health"
    verbose_name = "Keel health checks"

    def ready(self) -> None:
        from keel.ecs import task_private_ips
        from keel.health import checks  # noqa: F401  (registers system checks)

        # The ALB health checker and in-VPC callers address the task by its private IP.
        # Only /healthz bypasses host validation, so other in-VPC callers (preflight,
        # /readyz probes) need the task's own addresses allowed.
        # Django compares IPv6 hosts in their bracketed form ("[fd00::5]").
        hosts = [f"[{ip}]" if ":" in ip else ip for ip in task_private_ips()]
        added = [host for host in hosts if host not in settings.ALLOWED_HOSTS]
        if added:
            settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, *added]
            logger.info("added ECS task private IPs to ALLOWED_HOSTS", extra={"hosts": added})
