"""keel's web role on Fargate behind the ALB, deployed by ECS canary by default."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from keel import constants
from keel.infra import autoscaling
from keel.infra.config import DeploymentConfig
from keel.infra.preflight import Preflight, PreflightArgs
from keel.infra.service import ServiceArgs, cpu_scaling, ecs_service, service_task_definition


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
    service: ServiceArgs
    traffic: WebTraffic
    deployment: DeploymentConfig
    #: CloudWatch alarms that roll a deployment back (5xx rate, unhealthy targets).
    rollback_alarm_names: pulumi.Input[Sequence[pulumi.Input[str]]]
    #: ALB requests a minute per running task that autoscaling aims for.
    requests_per_task_target: float


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
    sees only a share of the traffic before it is rolled back. Before the service takes
    a new task definition, ``keel preflight`` runs once with it (``Preflight``), after
    what the service waits for (the migration); other services wait for it too.
    """

    task_definition: aws.ecs.TaskDefinition
    preflight: Preflight
    service: aws.ecs.Service
    name: pulumi.Output[str]

    def __init__(self, name: str, args: WebServiceArgs, opts: pulumi.ResourceOptions | None = None):
        args.deployment.check()
        args.service.check("web service")
        container = args.service.task.container
        if container.role != "web" or container.port != constants.PORT:
            raise ValueError(f"web service: the container must be role 'web' on {constants.PORT}")
        if args.requests_per_task_target <= 0:
            raise ValueError("web service: requests_per_task_target must be positive")
        super().__init__("keel:aws:WebService", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        self.task_definition = service_task_definition(args.service, parent=self)
        self.preflight = Preflight(
            "preflight",
            PreflightArgs(
                container=container,
                cluster_name=args.service.cluster_name,
                task_definition_arn=self.task_definition.arn,
                private_subnet_ids=args.service.private_subnet_ids,
                security_group_id=args.service.security_group_id,
                depends_on=args.service.depends_on,
            ),
            opts=child,
        )
        service = dataclasses.replace(
            args.service, depends_on=[*args.service.depends_on, self.preflight.run]
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
            service,
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
        target = cpu_scaling(args.service, self.service, parent=self)
        autoscaling.requests_per_task_policy(
            "web-requests",
            target=target,
            load_balancer_arn_suffix=args.traffic.load_balancer_arn_suffix,
            cluster_name=args.service.cluster_name,
            service_name=self.service.name,
            requests_per_task_per_minute=args.requests_per_task_target,
            opts=child,
        )
        self.name = self.service.name
        self.register_outputs({"name": self.name, "task_definition": self.task_definition.arn})
