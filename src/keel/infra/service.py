"""What every keel ECS service shares, whichever role it runs (web, worker)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from keel.infra import autoscaling
from keel.infra.containers import TaskSpec, task_definition


@dataclass(frozen=True, kw_only=True)
class ServiceArgs:
    """One role's service: its task, where it runs and how far it scales."""

    prefix: str
    cluster_arn: pulumi.Input[str]
    cluster_name: pulumi.Input[str]
    task: TaskSpec
    private_subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    security_group_id: pulumi.Input[str]
    #: The floor autoscaling keeps, and the count of the first deployment.
    min_count: int
    max_count: int
    cpu_target_percent: float
    tags: Mapping[str, str]
    #: Resources the service waits for: the migration, so new code meets a migrated schema.
    depends_on: Sequence[pulumi.Resource] = ()
    #: After "<prefix>-<role>" in the service's name: a second service of one role
    #: (the cutover service, "-cutover") needs a name of its own.
    name_suffix: str = ""

    @property
    def role(self) -> str:
        return self.task.container.role

    @property
    def name(self) -> str:
        """Return the service's (and its task family's) physical name."""
        return f"{self.prefix}-{self.role}{self.name_suffix}"

    def check(self, component: str) -> None:
        """Raise ValueError unless the counts and targets make sense."""
        if not 1 <= self.min_count <= self.max_count:
            raise ValueError(f"{component}: need 1 <= min_count <= max_count")
        if not 10 <= self.cpu_target_percent <= 90:
            raise ValueError(f"{component}: cpu_target_percent must be 10 to 90")


def service_task_definition(args: ServiceArgs, parent: pulumi.Resource) -> aws.ecs.TaskDefinition:
    """Create the service's task definition, family named like the service."""
    return task_definition(
        args.role,
        family=args.name,
        spec=args.task,
        tags=args.tags,
        opts=pulumi.ResourceOptions(parent=parent),
    )


def ecs_service(
    args: ServiceArgs,
    *,
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
        args.role,
        name=args.name,
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
        enable_execute_command=args.task.container.ecs_exec,
        enable_ecs_managed_tags=True,
        propagate_tags="SERVICE",
        tags=dict(args.tags),
        # Autoscaling owns the running count after the first deployment.
        opts=pulumi.ResourceOptions(
            parent=parent, depends_on=list(args.depends_on), ignore_changes=["desiredCount"]
        ),
        **role_specific,
    )


def cpu_scaling(
    args: ServiceArgs, service: aws.ecs.Service, parent: pulumi.Resource
) -> aws.appautoscaling.Target:
    """Scale the service between its counts on CPU; return the scalable target."""
    child = pulumi.ResourceOptions(parent=parent)
    target = autoscaling.scalable_target(
        args.role,
        cluster_name=args.cluster_name,
        service_name=service.name,
        min_count=args.min_count,
        max_count=args.max_count,
        tags=dict(args.tags),
        opts=child,
    )
    autoscaling.cpu_policy(
        f"{args.role}-cpu", target=target, target_percent=args.cpu_target_percent, opts=child
    )
    return target
