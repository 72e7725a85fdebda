"""The plain environment the stack gives keel's containers (docs/deploy.md's table)."""

from __future__ import annotations

import pulumi

from keel import constants
from keel.infra.config import StackConfig


def role_environment(
    config: StackConfig,
    *,
    allowed_hosts: pulumi.Input[str],
    vpc_cidr: pulumi.Input[str],
    database_address: pulumi.Input[str],
    database_port: pulumi.Input[str],
    region: pulumi.Input[str],
) -> dict[str, pulumi.Input[str]]:
    """Return the environment every role gets; secrets come separately, never here."""
    return {
        **config.environment,
        "DJANGO_SETTINGS_MODULE": config.django_settings_module,
        "DEBUG": "false",
        "ALLOWED_HOSTS": allowed_hosts,
        "PORT": str(constants.PORT),
        # gunicorn trusts X-Forwarded-* only from inside the VPC (the ALB).
        "FORWARDED_ALLOW_IPS": vpc_cidr,
        "DATABASE_HOST": database_address,
        "DATABASE_PORT": database_port,
        "DATABASE_NAME": config.database.name,
        "DATABASE_USER": config.database.username,
        "AWS_REGION": region,
    }


def web_environment(
    config: StackConfig, environment: dict[str, pulumi.Input[str]]
) -> dict[str, pulumi.Input[str]]:
    """Return the web role's environment: every role's, and its worker count if set."""
    if config.web.concurrency is None:
        return dict(environment)
    return {**environment, "WEB_CONCURRENCY": str(config.web.concurrency)}
