"""Task definitions and ECS services for keel's roles: one image, the role as the command."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import pulumi
import pulumi_aws as aws

from keel.constants import STOP_TIMEOUT


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
        # worker's drain both fit inside it (keel.constants.check_timeouts).
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


class ServicePlacement(Protocol):
    """What every role's service arguments carry (``WebServiceArgs``, ``WorkerServiceArgs``)."""

    @property
    def cluster_arn(self) -> pulumi.Input[str]: ...
    @property
    def min_count(self) -> int: ...
    @property
    def private_subnet_ids(self) -> pulumi.Input[Sequence[pulumi.Input[str]]]: ...
    @property
    def security_group_id(self) -> pulumi.Input[str]: ...
    @property
    def tags(self) -> Mapping[str, str]: ...
    @property
    def enable_exec(self) -> bool: ...
    @property
    def depends_on(self) -> Sequence[pulumi.Resource]: ...


def ecs_service(
    resource_name: str,
    *,
    name: str,
    args: ServicePlacement,
    task_definition_arn: pulumi.Input[str],
    parent: pulumi.Resource,
    **role_specific: Any,
) -> aws.ecs.Service:
    """Create an ECS service for one keel role with the settings every role shares.

    What keel's policies require of every service lives here, once: private subnets and
    no public IP, the deployment circuit breaker with rollback, new tasks started before
    old ones stop (100 % / 200 %), and the running count left to autoscaling after the
    first deployment. ``role_specific`` carries the rest (load balancers, capacity
    providers, the deployment strategy, alarms).
    """
    return aws.ecs.Service(
        resource_name,
        name=name,
        cluster=args.cluster_arn,
        task_definition=task_definition_arn,
        desired_count=args.min_count,
        platform_version="LATEST",
        network_configuration={
            "subnets": args.private_subnet_ids,
            "security_groups": [args.security_group_id],
            "assign_public_ip": False,
        },
        deployment_controller={"type": "ECS"},
        deployment_circuit_breaker={"enable": True, "rollback": True},
        # Start the new tasks before stopping old ones: the web's health checks and the
        # worker's resumed runs both need somewhere to go.
        deployment_minimum_healthy_percent=100,
        deployment_maximum_percent=200,
        availability_zone_rebalancing="ENABLED",
        enable_execute_command=args.enable_exec,
        enable_ecs_managed_tags=True,
        propagate_tags="SERVICE",
        tags=dict(args.tags),
        # Autoscaling owns the running count after the first deployment.
        opts=pulumi.ResourceOptions(
            parent=parent, depends_on=list(args.depends_on), ignore_changes=["desiredCount"]
        ),
        **role_specific,
    )
