"""Task definitions for keel's roles: one image, the role as the command."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from keel.constants import STOP_TIMEOUT

#: What a keel container may write: the root filesystem is read-only. The image declares
#: each one a VOLUME, so the bind mount ECS gives it starts with the image's permissions
#: (/tmp: 1777) instead of root's 0755, which the non-root user could not write.
WRITABLE_PATHS = ("/tmp",)  # noqa: S108 (a mount point, not a file keel creates)
#: The tag that marks a task definition whose root filesystem is writable because ECS
#: Exec is on (its agent writes into the container); the policy pack allows nothing else.
ECS_EXEC_TAG = "keel:ecs-exec"


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
    #: ECS Exec into this container: its agent needs a writable root filesystem.
    ecs_exec: bool = False


def volume_name(path: str) -> str:
    return path.strip("/").replace("/", "-")


def container_definitions(spec: ContainerSpec) -> pulumi.Output[str]:
    """Return the task definition's ``containerDefinitions`` JSON for one role."""
    definition: dict = {
        "name": spec.role,
        "image": spec.image,
        "command": [spec.role],
        "essential": True,
        # SIGTERM, then SIGKILL this much later: gunicorn's graceful timeout and the
        # worker's drain both fit inside it (keel.constants.timeout_relations).
        "stopTimeout": STOP_TIMEOUT,
        # An init process forwards SIGTERM to keel and reaps children (and ECS Exec needs it).
        "linuxParameters": {"initProcessEnabled": True},
        "readonlyRootFilesystem": not spec.ecs_exec,
        "mountPoints": [
            {"sourceVolume": volume_name(path), "containerPath": path, "readOnly": False}
            for path in WRITABLE_PATHS
        ],
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


@dataclass(frozen=True, kw_only=True)
class TaskSpec:
    """One role's task: its container, size, roles and CPU architecture."""

    container: ContainerSpec
    size: TaskSize
    execution_role_arn: pulumi.Input[str]
    task_role_arn: pulumi.Input[str]
    #: ``X86_64`` or ``ARM64`` (Graviton); the image must be built for it.
    cpu_architecture: str = "X86_64"


def task_definition(
    resource_name: str,
    *,
    family: str,
    spec: TaskSpec,
    tags: Mapping[str, str],
    opts: pulumi.ResourceOptions,
) -> aws.ecs.TaskDefinition:
    """Create a Fargate task definition running one keel role."""
    if spec.cpu_architecture not in ("X86_64", "ARM64"):
        raise ValueError(f"task definition: unknown CPU architecture {spec.cpu_architecture!r}")
    task_tags = dict(tags)
    if spec.container.ecs_exec:
        task_tags[ECS_EXEC_TAG] = "enabled"
    return aws.ecs.TaskDefinition(
        resource_name,
        family=family,
        requires_compatibilities=["FARGATE"],
        network_mode="awsvpc",
        cpu=str(spec.size.cpu),
        memory=str(spec.size.memory),
        runtime_platform={
            "operating_system_family": "LINUX",
            "cpu_architecture": spec.cpu_architecture,
        },
        execution_role_arn=spec.execution_role_arn,
        task_role_arn=spec.task_role_arn,
        container_definitions=container_definitions(spec.container),
        volumes=[{"name": volume_name(path)} for path in WRITABLE_PATHS],
        tags=task_tags,
        opts=opts,
    )
