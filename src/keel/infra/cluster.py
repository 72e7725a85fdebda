"""The ECS cluster and the log group of each keel role."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

ROLES = ("web", "worker", "migrate")


@dataclass(frozen=True, kw_only=True)
class ClusterArgs:
    prefix: str
    log_retention_days: int
    tags: Mapping[str, str]
    roles: Sequence[str] = ROLES


class Cluster(pulumi.ComponentResource):
    """A Fargate cluster with Container Insights, ECS Exec sessions never logged, and one
    retained-for-N-days log group a role."""

    cluster: aws.ecs.Cluster
    name: pulumi.Output[str]
    arn: pulumi.Output[str]
    log_groups: dict[str, aws.cloudwatch.LogGroup]

    def __init__(self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None):
        if not 1 <= args.log_retention_days <= 3653:
            raise ValueError("cluster: log_retention_days must be 1 to 3653")
        super().__init__("keel:aws:Cluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        # ECS would create Container Insights' log group without retention; own it instead.
        insights_logs = aws.cloudwatch.LogGroup(
            "logs-container-insights",
            name=f"/aws/ecs/containerinsights/{args.prefix}/performance",
            retention_in_days=args.log_retention_days,
            tags=tags,
            opts=child,
        )
        self.cluster = aws.ecs.Cluster(
            "cluster",
            name=args.prefix,
            settings=[{"name": "containerInsights", "value": "enhanced"}],
            # ECS Exec's DEFAULT logging copies every session's output into the task's log
            # group, and a session shows what an operator asked for (an API token, a
            # database URL). CloudTrail still records who ran ExecuteCommand, where.
            configuration={"execute_command_configuration": {"logging": "NONE"}},
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[insights_logs]),
        )
        aws.ecs.ClusterCapacityProviders(
            "capacity-providers",
            cluster_name=self.cluster.name,
            capacity_providers=["FARGATE", "FARGATE_SPOT"],
            default_capacity_provider_strategies=[{"capacity_provider": "FARGATE", "weight": 1}],
            opts=child,
        )
        self.log_groups = {
            role: aws.cloudwatch.LogGroup(
                f"logs-{role}",
                name=f"/keel/{args.prefix}/{role}",
                retention_in_days=args.log_retention_days,
                tags=tags,
                opts=child,
            )
            for role in args.roles
        }
        self.name = self.cluster.name
        self.arn = self.cluster.arn
        self.register_outputs(
            {
                "name": self.name,
                "arn": self.arn,
                "log_groups": {role: group.name for role, group in self.log_groups.items()},
            }
        )
