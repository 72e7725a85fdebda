"""keel's web role on Fargate behind the ALB, deployed by ECS canary by default."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from keel import constants
from keel.infra import autoscaling
from keel.infra.config import DeploymentConfig
from keel.infra.containers import ContainerSpec, TaskSize, ecs_service, task_definition


@dataclass(frozen=True, kw_only=True)
class WebTraffic:
    """The load-balancer pieces the service registers with and deploys through."""

    primary_target_group_arn: pulumi.Input[str]
    alternate_target_group_arn: pulumi.Input[str]
    production_listener_rule_arn: pulumi.Input[str]
    #: The role ECS assumes to rewrite the production rule's weights.
    ecs_load_balancer_role_arn: pulumi.Input[str]
    load_balancer_arn_suffix: pulumi.Input[str]


@dataclass(frozen=True, kw_only=True)
class WebServiceArgs:
    prefix: str
    cluster_arn: pulumi.Input[str]
    cluster_name: pulumi.Input[str]
    container: ContainerSpec
    size: TaskSize
    execution_role_arn: pulumi.Input[str]
    task_role_arn: pulumi.Input[str]
    private_subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    security_group_id: pulumi.Input[str]
    traffic: WebTraffic
    deployment: DeploymentConfig
    #: CloudWatch alarms that roll a deployment back (5xx rate, unhealthy targets).
    rollback_alarm_names: pulumi.Input[Sequence[pulumi.Input[str]]]
    min_count: int
    max_count: int
    cpu_target_percent: float
    requests_per_task_target: float
    tags: Mapping[str, str]
    enable_exec: bool = False
    #: Resources the service waits for: the migration, so new code meets a migrated schema.
    depends_on: Sequence[pulumi.Resource] = ()


def deployment_configuration(
    deployment: DeploymentConfig,
) -> aws.ecs.ServiceDeploymentConfigurationArgsDict:
    """Return the ECS ``deployment_configuration`` for the configured strategy."""
    strategy = deployment.strategy
    if strategy == "ROLLING":
        return {"strategy": "ROLLING"}
    configuration: aws.ecs.ServiceDeploymentConfigurationArgsDict = {
        "strategy": strategy,
        "bake_time_in_minutes": str(deployment.bake_minutes),
    }
    if strategy == "CANARY":
        configuration["canary_configuration"] = {
            "canary_percent": float(deployment.canary_percent),
            "canary_bake_time_in_minutes": str(deployment.canary_bake_minutes),
        }
    elif strategy == "LINEAR":
        configuration["linear_configuration"] = {
            "step_percent": float(deployment.linear_step_percent),
            "step_bake_time_in_minutes": str(deployment.linear_step_bake_minutes),
        }
    return configuration


class WebService(pulumi.ComponentResource):
    """The ``keel web`` service: private subnets, no public IP, autoscaled on CPU and requests.

    Every deployment keeps the circuit breaker (failed task starts roll back) and the
    CloudWatch alarms (5xx rate, unhealthy targets roll back); canary, linear and
    blue/green move traffic through the ALB's alternate target group, so a bad revision
    sees only a share of the traffic before it is rolled back.
    """

    task_definition: aws.ecs.TaskDefinition
    service: aws.ecs.Service
    name: pulumi.Output[str]

    def __init__(self, name: str, args: WebServiceArgs, opts: pulumi.ResourceOptions | None = None):
        args.deployment.check()
        if args.container.role != "web" or args.container.port != constants.PORT:
            raise ValueError(f"web service: the container must be role 'web' on {constants.PORT}")
        if not 1 <= args.min_count <= args.max_count:
            raise ValueError("web service: need 1 <= min_count <= max_count")
        super().__init__("keel:aws:WebService", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        service_name = f"{args.prefix}-web"

        self.task_definition = task_definition(
            "web",
            family=service_name,
            spec=args.container,
            size=args.size,
            execution_role_arn=args.execution_role_arn,
            task_role_arn=args.task_role_arn,
            tags=tags,
            opts=child,
        )
        load_balancer: aws.ecs.ServiceLoadBalancerArgsDict = {
            "target_group_arn": args.traffic.primary_target_group_arn,
            "container_name": "web",
            "container_port": constants.PORT,
        }
        if args.deployment.strategy != "ROLLING":
            load_balancer["advanced_configuration"] = {
                "alternate_target_group_arn": args.traffic.alternate_target_group_arn,
                "production_listener_rule": args.traffic.production_listener_rule_arn,
                "role_arn": args.traffic.ecs_load_balancer_role_arn,
            }
        self.service = ecs_service(
            "web",
            name=service_name,
            args=args,
            task_definition_arn=self.task_definition.arn,
            parent=self,
            launch_type="FARGATE",
            load_balancers=[load_balancer],
            health_check_grace_period_seconds=constants.HEALTH_CHECK_GRACE_PERIOD,
            deployment_configuration=deployment_configuration(args.deployment),
            alarms={
                "alarm_names": args.rollback_alarm_names,
                "enable": True,
                "rollback": True,
            },
        )
        target = autoscaling.scalable_target(
            "web",
            cluster_name=args.cluster_name,
            service_name=self.service.name,
            min_count=args.min_count,
            max_count=args.max_count,
            tags=tags,
            opts=child,
        )
        autoscaling.cpu_policy(
            "web-cpu", target=target, target_percent=args.cpu_target_percent, opts=child
        )
        autoscaling.requests_per_task_policy(
            "web-requests",
            target=target,
            load_balancer_arn_suffix=args.traffic.load_balancer_arn_suffix,
            cluster_name=args.cluster_name,
            service_name=self.service.name,
            requests_per_task_per_minute=args.requests_per_task_target,
            opts=child,
        )
        self.name = self.service.name
        self.register_outputs({"name": self.name, "task_definition": self.task_definition.arn})
