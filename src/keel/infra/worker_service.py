"""keel's worker role on Fargate: DBOS durable workflows, no inbound traffic."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from keel.infra import autoscaling
from keel.infra.service import ServiceArgs, cpu_scaling, ecs_service, service_task_definition


@dataclass(frozen=True, kw_only=True)
class WorkerServiceArgs:
    #: ``min_count`` is the floor: always this many tasks, on on-demand Fargate.
    service: ServiceArgs
    #: Share (0-100) of the tasks above the floor that run on Fargate Spot.
    spot_percent: int
    #: QueuedWork per running task the backlog policy keeps the service near.
    backlog_per_task: float = 10.0


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
    """The ``keel worker`` service, autoscaled on its backlog and CPU above a floor.

    Two target-tracking policies: queued work per running task (the QueuedWork gauge
    every worker publishes) and average CPU. Application Auto Scaling scales out when
    either asks and in only when both allow. A task scaled in gets SIGTERM like a
    deploy: it drains its steps in flight and its runs resume on the tasks that stay.

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
        args.service.check("worker service")
        container = args.service.task.container
        if container.role != "worker" or container.port is not None:
            raise ValueError("worker service: the container must be role 'worker' with no port")
        if not args.backlog_per_task > 0:
            raise ValueError("worker service: backlog_per_task must be above 0")
        if not 0 <= args.spot_percent <= 100:
            raise ValueError("worker service: spot_percent must be 0 to 100")
        if args.spot_percent and args.service.task.cpu_architecture != "X86_64":
            raise ValueError("worker service: Fargate Spot runs X86_64 tasks only")
        super().__init__("keel:aws:WorkerService", name, None, opts)

        self.task_definition = service_task_definition(args.service, parent=self)
        self.service = ecs_service(
            args.service,
            task_definition_arn=self.task_definition.arn,
            parent=self,
            capacity_provider_strategies=capacity_provider_strategies(
                args.service.min_count, args.spot_percent
            ),
            # Stopped runs resume on another worker; no traffic to shift gradually.
            deployment_configuration={"strategy": "ROLLING"},
        )
        target = cpu_scaling(args.service, self.service, parent=self)
        autoscaling.backlog_per_task_policy(
            "worker-backlog",
            target=target,
            cluster_name=args.service.cluster_name,
            service_name=self.service.name,
            backlog_per_task=args.backlog_per_task,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.name = self.service.name
        self.register_outputs({"name": self.name, "task_definition": self.task_definition.arn})
