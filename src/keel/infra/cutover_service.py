"""keel's side of the routes being cut over: the web image, registered in their target groups.

ECS requires every load balancer of a service that deploys by canary, linear or
blue/green to name an alternate target group and a production rule
("advancedConfiguration field is required for all loadBalancers"), and swaps which of
the two is live on every deployment. A route's keel target group must stay the same
one while ``keel cutover`` weighs it, so the web service cannot register it; this
second service runs the web service's task definition with rolling deployments, which
register every task in every target group and never modify a listener rule
(docs/adr/0007-cutover.md). Its task definition is the web role's, built from the same
task spec in the same update, but for one variable: its metrics' ``Service``
(KEEL_METRICS_SERVICE) is its own name, so the dashboard tells its traffic apart.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from keel import constants
from keel.infra.service import ServiceArgs, cpu_scaling, ecs_service, service_task_definition

#: On the cutover service: tells the policy pack why it deploys by rolling update.
CUTOVER_SERVICE_TAG = ("keel:service", "web-cutover")
#: ECS attaches at most five target groups to a service.
MAX_TARGET_GROUPS = 5


@dataclass(frozen=True, kw_only=True)
class CutoverServiceArgs:
    #: The web role's task, named apart by ``name_suffix`` (its family and service).
    service: ServiceArgs
    #: One keel target group per route.
    target_group_arns: Sequence[pulumi.Input[str]]
    #: The routes' alarms: a deployment that trips one is rolled back.
    rollback_alarm_names: pulumi.Input[Sequence[pulumi.Input[str]]]


class CutoverService(pulumi.ComponentResource):
    """The ``keel web`` tasks behind the cutover rules: private, rolling, autoscaled on CPU."""

    task_definition: aws.ecs.TaskDefinition
    service: aws.ecs.Service
    name: pulumi.Output[str]

    def __init__(
        self, name: str, args: CutoverServiceArgs, opts: pulumi.ResourceOptions | None = None
    ):
        args.service.check("cutover service")
        container = args.service.task.container
        if container.role != "web" or container.port != constants.PORT:
            raise ValueError(
                f"cutover service: the container must be role 'web' on {constants.PORT}"
            )
        if not args.service.name_suffix:
            raise ValueError("cutover service: name_suffix must set it apart from the web service")
        if not 1 <= len(args.target_group_arns) <= MAX_TARGET_GROUPS:
            raise ValueError(
                f"cutover service: 1 to {MAX_TARGET_GROUPS} target groups (ECS's limit)"
            )
        super().__init__("keel:aws:CutoverService", name, None, opts)
        key, value = CUTOVER_SERVICE_TAG
        service = dataclasses.replace(args.service, tags={**args.service.tags, key: value})
        self.task_definition = service_task_definition(service, parent=self)
        self.service = ecs_service(
            service,
            task_definition_arn=self.task_definition.arn,
            parent=self,
            launch_type="FARGATE",
            load_balancers=[
                {"target_group_arn": arn, "container_name": "web", "container_port": constants.PORT}
                for arn in args.target_group_arns
            ],
            health_check_grace_period_seconds=constants.HEALTH_CHECK_GRACE_PERIOD,
            # No alternate target groups and no production rule: ECS registers every task
            # in every route's group and never rewrites a rule (see the module's docstring).
            deployment_configuration={"strategy": "ROLLING"},
            alarms={"alarm_names": args.rollback_alarm_names, "enable": True, "rollback": True},
        )
        cpu_scaling(service, self.service, parent=self)
        self.name = self.service.name
        self.register_outputs({"name": self.name})
