"""keel's worker role on Fargate: DBOS durable workflows, no inbound traffic."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from keel.infra import autoscaling
from keel.infra.containers import ContainerSpec, TaskSize, ecs_service, task_definition


@dataclass(frozen=True, kw_only=True)
class WorkerServiceArgs:
    prefix: str
    cluster_arn: pulumi.Input[str]
    cluster_name: pulumi.Input[str]
    container: ContainerSpec
    size: TaskSize
    execution_role_arn: pulumi.Input[str]
    task_role_arn: pulumi.Input[str]
    private_subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    security_group_id: pulumi.Input[str]
    #: The floor: always this many tasks, on on-demand Fargate.
    min_count: int
    max_count: int
    cpu_target_percent: float
    #: Share (0-100) of the tasks above the floor that run on Fargate Spot.
    spot_percent: int
    tags: Mapping[str, str]
    enable_exec: bool = False
    #: Resources the service waits for: the migration, so new code meets a migrated schema.
    depends_on: Sequence[pulumi.Resource] = ()


def capacity_provider_strategies(
    min_count: int, spot_percent: int
) -> list[aws.ecs.ServiceCapacityProviderStrategyArgsDict]:
    """Return the strategy: the floor on FARGATE, the rest split by ``spot_percent``."""
    strategies: list[aws.ecs.ServiceCapacityProviderStrategyArgsDict] = [
        {"capacity_provider": "FARGATE", "base": min_count, "weight": 100 - spot_percent}
    ]
    if spot_percent:
        strategies.append({"capacity_provider": "FARGATE_SPOT", "weight": spot_percent})
    return strategies


class WorkerService(pulumi.ComponentResource):
    """The ``keel worker`` service, autoscaled on CPU above a floor, optionally on Spot.

    A worker's runs survive a stop: DBOS resumes them on another worker from the last
    completed step. stopTimeout (keel's STOP_TIMEOUT, 120 s) gives in-flight steps the
    worker's graceful timeout to finish first.
    """

    task_definition: aws.ecs.TaskDefinition
    service: aws.ecs.Service
    name: pulumi.Output[str]

    def __init__(
        self, name: str, args: WorkerServiceArgs, opts: pulumi.ResourceOptions | None = None
    ):
        if args.container.role != "worker" or args.container.port is not None:
            raise ValueError("worker service: the container must be role 'worker' with no port")
        if not 1 <= args.min_count <= args.max_count:
            raise ValueError("worker service: need 1 <= min_count <= max_count")
        if not 0 <= args.spot_percent <= 100:
            raise ValueError("worker service: spot_percent must be 0 to 100")
        super().__init__("keel:aws:WorkerService", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        service_name = f"{args.prefix}-worker"

        self.task_definition = task_definition(
            "worker",
            family=service_name,
            spec=args.container,
            size=args.size,
            execution_role_arn=args.execution_role_arn,
            task_role_arn=args.task_role_arn,
            tags=tags,
            opts=child,
        )
        self.service = ecs_service(
            "worker",
            name=service_name,
            args=args,
            task_definition_arn=self.task_definition.arn,
            parent=self,
            capacity_provider_strategies=capacity_provider_strategies(
                args.min_count, args.spot_percent
            ),
            # Stopped runs resume on another worker; no traffic to shift gradually.
            deployment_configuration={"strategy": "ROLLING"},
        )
        target = autoscaling.scalable_target(
            "worker",
            cluster_name=args.cluster_name,
            service_name=self.service.name,
            min_count=args.min_count,
            max_count=args.max_count,
            tags=tags,
            opts=child,
        )
        autoscaling.cpu_policy(
            "worker-cpu", target=target, target_percent=args.cpu_target_percent, opts=child
        )
        self.name = self.service.name
        self.register_outputs({"name": self.name, "task_definition": self.task_definition.arn})
