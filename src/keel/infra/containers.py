"""Task definitions for keel's roles: one image, the role as the command."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from keel.runtime.constants import STOP_TIMEOUT


@dataclass(frozen=True, kw_only=True)
class ContainerSpec:
    """What differs between keel's roles; everything else is shared."""

    #: ``web``, ``worker`` or ``migrate``: the ``keel`` entrypoint's argument.
    role: str
    image: pulumi.Input[str]
    #: Plain environment. Never a secret: those go in ``secrets``.
    environment: Mapping[str, pulumi.Input[str]]
    #: Environment variable name -> ``valueFrom`` (a secret ARN, optionally with a JSON key).
    secrets: Mapping[str, pulumi.Input[str]]
    log_group: pulumi.Input[str]
    region: pulumi.Input[str]
    #: The container port, for the role the load balancer sends traffic to.
    port: int | None = None


def container_definitions(spec: ContainerSpec) -> pulumi.Output[str]:
    """Return the task definition's ``containerDefinitions`` JSON for one role."""
    definition: dict = {
        "name": spec.role,
        "image": spec.image,
        "command": [spec.role],
        "essential": True,
        # SIGTERM, then SIGKILL this much later: gunicorn's graceful timeout and the
        # worker's drain both fit inside it (keel.runtime.constants.check_timeouts).
        "stopTimeout": STOP_TIMEOUT,
        # An init process forwards SIGTERM to keel and reaps children (and ECS Exec needs it).
        "linuxParameters": {"initProcessEnabled": True},
        "environment": [
            {"name": name, "value": value} for name, value in sorted(spec.environment.items())
        ],
        "secrets": [
            {"name": name, "valueFrom": value_from}
            for name, value_from in sorted(spec.secrets.items())
        ],
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": spec.log_group,
                "awslogs-region": spec.region,
                "awslogs-stream-prefix": spec.role,
                # Never block the app on a slow log pipe.
                "mode": "non-blocking",
                "max-buffer-size": "25m",
            },
        },
    }
    if spec.port is not None:
        definition["portMappings"] = [
            {"containerPort": spec.port, "hostPort": spec.port, "protocol": "tcp"}
        ]
    return pulumi.Output.json_dumps([definition])


@dataclass(frozen=True, kw_only=True)
class TaskSize:
    cpu: int
    memory: int


def task_definition(
    resource_name: str,
    *,
    family: str,
    spec: ContainerSpec,
    size: TaskSize,
    execution_role_arn: pulumi.Input[str],
    task_role_arn: pulumi.Input[str],
    tags: Mapping[str, str],
    opts: pulumi.ResourceOptions,
) -> aws.ecs.TaskDefinition:
    """Create a Fargate task definition running one keel role."""
    return aws.ecs.TaskDefinition(
        resource_name,
        family=family,
        requires_compatibilities=["FARGATE"],
        network_mode="awsvpc",
        cpu=str(size.cpu),
        memory=str(size.memory),
        runtime_platform={"operating_system_family": "LINUX", "cpu_architecture": "X86_64"},
        execution_role_arn=execution_role_arn,
        task_role_arn=task_role_arn,
        container_definitions=container_definitions(spec),
        tags=dict(tags),
        opts=opts,
    )
