"""The plain environment the stack gives keel's containers (docs/deploy.md's table)."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi

from keel import constants
from keel.infra.config import StackConfig, rotated_secret_variable

#: The variable keel.metrics reads its ``Service`` dimension from.
METRICS_SERVICE_VARIABLE = "KEEL_METRICS_SERVICE"


def role_environment(
    config: StackConfig,
    *,
    allowed_hosts: pulumi.Input[str],
    vpc_cidr: pulumi.Input[str],
    database: Mapping[str, pulumi.Input[str]],
    region: pulumi.Input[str],
) -> dict[str, pulumi.Input[str]]:
    """Return the environment every role gets; secrets come separately, never here.

    ``database`` is the database's own part: where RDS is, or which secret holds the
    URL of an existing database, and the secret the password is read from; names of
    secrets, never their values.
    """
    return {
        **config.environment,
        "DJANGO_SETTINGS_MODULE": config.django_settings_module,
        "DEBUG": "false",
        "ALLOWED_HOSTS": allowed_hosts,
        "PORT": str(constants.PORT),
        # gunicorn trusts X-Forwarded-* only from inside the VPC (the ALB).
        "FORWARDED_ALLOW_IPS": vpc_cidr,
        **database,
        "AWS_REGION": region,
    }


def with_metrics_service(
    environment: Mapping[str, pulumi.Input[str]], service: str
) -> dict[str, pulumi.Input[str]]:
    """Return ``environment`` for one ECS service: its metrics carry its name."""
    return {**environment, METRICS_SERVICE_VARIABLE: service}


def web_environment(
    config: StackConfig, environment: dict[str, pulumi.Input[str]]
) -> dict[str, pulumi.Input[str]]:
    """Return the web role's environment: every role's, and its worker count if set."""
    if config.web.concurrency is None:
        return dict(environment)
    return {**environment, "WEB_CONCURRENCY": str(config.web.concurrency)}


def service_environment(
    config: StackConfig, environment: Mapping[str, pulumi.Input[str]]
) -> dict[str, pulumi.Input[str]]:
    """Return the environment of the roles that serve the app (web, worker): every
    role's, and the ARN of each rotated secret, which their processes read themselves."""
    return {
        **environment,
        **{
            rotated_secret_variable(name): value_from
            for name, value_from in sorted(config.rotated_secrets.items())
        },
    }
