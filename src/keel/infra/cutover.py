"""Routes moved from an existing Lambda function to keel by weight, each on a rule of its own.

A route's listener rule forwards to two target groups: a Lambda target group over the
existing function, which is only looked up (``aws.lambda_.get_function_output``; the
one change on the old side is the ``lambda:InvokeFunction`` permission for that target
group, a statement of its own in the function's resource policy), and a keel target
group of the route's own, which only the cutover service registers. Neither is one of
the web service's two target groups, whose roles ECS swaps on every canary or
blue/green deployment, and the rule is not the production rule whose weights ECS
rewrites, so ECS and ``keel cutover`` never write the same thing
(docs/adr/0007-cutover.md).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from keel import constants
from keel.infra.alerting import Alerting
from keel.infra.cutover_config import LAMBDA_ONLY_PRIORITY_OFFSET, CutoverRoute
from keel.infra.load_balancer import web_target_group
from keel.infra.outputs import when_created

NAMESPACE = "AWS/ApplicationELB"
PERIOD = 60
#: ALB's principal for Lambda targets (ALB user guide, "Lambda functions as targets").
LOAD_BALANCER_PRINCIPAL = "elasticloadbalancing.amazonaws.com"
#: What the ECS load-balancer role may never do to a cutover rule.
RULE_WRITES = (
    "elasticloadbalancing:ModifyRule",
    "elasticloadbalancing:DeleteRule",
    "elasticloadbalancing:SetRulePriorities",
)


@dataclass(frozen=True, kw_only=True)
class CutoverArgs:
    prefix: str
    routes: Sequence[CutoverRoute]
    vpc_id: pulumi.Input[str]
    #: The HTTPS listener the production rule lives on.
    listener_arn: pulumi.Input[str]
    load_balancer_arn_suffix: pulumi.Input[str]
    #: The role ECS rewrites the production rule with; it is denied the cutover rules.
    ecs_load_balancer_role_name: pulumi.Input[str]
    log_retention_days: int
    tags: Mapping[str, str]
    #: The alarm topic and the runbook every alarm links.
    alerting: Alerting


@dataclass
class RouteResources:
    """What one route is made of; a Lambda-only route has no keel side and no alarms."""

    function: pulumi.Output[aws.lambda_.GetFunctionResult]
    lambda_target_group: aws.lb.TargetGroup
    permission: aws.lambda_.Permission
    attachment: aws.lb.TargetGroupAttachment
    rule: aws.lb.ListenerRule
    keel_target_group: aws.lb.TargetGroup | None = None
    alarms: list[aws.cloudwatch.MetricAlarm] = field(default_factory=list)


class Cutover(pulumi.ComponentResource):
    """One weighted listener rule per route, its two target groups, alarms and change log.

    The rule is created with the configured weights and Pulumi ignores its actions from
    then on: ``keel cutover`` is the only writer of a route's weights, and a ``pulumi
    up`` neither reverts nor sees them (docs/adr/0007-cutover.md). A Lambda-only route
    (``weighted: false``) has its Lambda side and a rule to it alone, behind the place its
    weighted rule takes later.
    """

    routes: dict[str, RouteResources]
    log_group: aws.cloudwatch.LogGroup
    keel_target_group_arns: list[pulumi.Output[str]]
    alarm_names: pulumi.Output[list[str]]

    def __init__(self, name: str, args: CutoverArgs, opts: pulumi.ResourceOptions | None = None):
        if not args.routes:
            raise ValueError("cutover: no routes; leave the component out instead")
        for route in args.routes:
            route.check(args.prefix)
        names = [route.name for route in args.routes]
        if len(set(names)) != len(names):
            raise ValueError(f"cutover: route names repeat in {names}")
        if not 1 <= args.log_retention_days <= 3653:
            raise ValueError("cutover: log_retention_days must be 1 to 3653")
        super().__init__("keel:aws:Cutover", name, None, opts)
        self._args = args
        child = pulumi.ResourceOptions(parent=self)
        self.log_group = aws.cloudwatch.LogGroup(
            "changes",
            name=constants.cutover_log_group(args.prefix),
            retention_in_days=args.log_retention_days,
            tags=dict(args.tags),
            opts=child,
        )
        self.routes = {route.name: self._route(route) for route in args.routes}
        self._deny_ecs_the_rules()
        self.keel_target_group_arns = [
            r.keel_target_group.arn for r in self.routes.values() if r.keel_target_group
        ]
        self.alarm_names = pulumi.Output.all(
            *(alarm.name for r in self.routes.values() for alarm in r.alarms)
        ).apply(list)
        self.register_outputs(
            {
                "rules": {name: r.rule.arn for name, r in self.routes.items()},
                "alarm_names": self.alarm_names,
                "log_group": self.log_group.name,
            }
        )

    def _route(self, route: CutoverRoute) -> RouteResources:
        args = self._args
        child = pulumi.ResourceOptions(parent=self)
        route_tags = {**args.tags, constants.CUTOVER_ROUTE_TAG: route.name}
        function = aws.lambda_.get_function_output(
            function_name=route.function_name,
            qualifier=route.qualifier,
            opts=pulumi.InvokeOptions(parent=self),
        )
        lambda_group = aws.lb.TargetGroup(
            f"{route.name}-lambda",
            name=f"{args.prefix}-{route.name}-fn",
            target_type="lambda",
            tags={**route_tags, constants.CUTOVER_SIDE_TAG: constants.CUTOVER_SIDE_LAMBDA},
            opts=child,
        )
        statement_id = f"{args.prefix}-cutover-{route.name}"
        permission = aws.lambda_.Permission(
            f"{route.name}-invoke",
            statement_id=statement_id,
            action="lambda:InvokeFunction",
            function=function.function_name,
            qualifier=route.qualifier,
            principal=LOAD_BALANCER_PRINCIPAL,
            # This target group only: no other ALB, rule or account may invoke through it.
            source_arn=lambda_group.arn,
            opts=child,
        )
        attachment = aws.lb.TargetGroupAttachment(
            f"{route.name}-function",
            target_group_arn=lambda_group.arn,
            target_id=function.qualified_arn if route.qualifier else function.arn,
            # The ALB checks it may invoke the function when the target is registered.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[permission]),
        )
        conditions: list[aws.lb.ListenerRuleConditionArgsDict] = []
        if route.paths:
            conditions.append({"path_pattern": {"values": list(route.paths)}})
        if route.hosts:
            conditions.append({"host_header": {"values": list(route.hosts)}})

        def resources(rule: aws.lb.ListenerRule, **keel_side: Any) -> RouteResources:
            return RouteResources(
                function=function,
                lambda_target_group=lambda_group,
                permission=permission,
                attachment=attachment,
                rule=rule,
                **keel_side,
            )

        if not route.weighted:
            lambda_only = aws.lb.ListenerRule(
                f"{route.name}-lambda-only",
                listener_arn=args.listener_arn,
                # Behind the weighted rule that replaces it, which Pulumi creates first.
                priority=route.priority + LAMBDA_ONLY_PRIORITY_OFFSET,
                conditions=conditions,
                actions=[{"type": "forward", "target_group_arn": lambda_group.arn}],
                tags={**args.tags, constants.CUTOVER_LAMBDA_ONLY_TAG: route.name},
                opts=pulumi.ResourceOptions(parent=self, depends_on=[attachment]),
            )
            return resources(lambda_only)
        keel_group = web_target_group(
            f"{route.name}-keel",
            name=f"{args.prefix}-{route.name}-keel",
            vpc_id=args.vpc_id,
            tags={**route_tags, constants.CUTOVER_SIDE_TAG: constants.CUTOVER_SIDE_KEEL},
            opts=child,
        )
        rule = aws.lb.ListenerRule(
            route.name,
            listener_arn=args.listener_arn,
            priority=route.priority,
            conditions=conditions,
            actions=[
                {
                    "type": "forward",
                    "forward": {
                        "target_groups": [
                            {"arn": lambda_group.arn, "weight": 100 - route.keel_percent},
                            {"arn": keel_group.arn, "weight": route.keel_percent},
                        ]
                    },
                }
            ],
            tags={
                **route_tags,
                constants.CUTOVER_LOG_GROUP_TAG: constants.cutover_log_group(args.prefix),
                constants.CUTOVER_RETIRE_AFTER_TAG: str(round(route.retire_after_hours * 3600)),
                constants.CUTOVER_PERMISSION_TAG: statement_id,
            },
            # keel cutover owns the weights once the rule exists: config gives the first.
            opts=pulumi.ResourceOptions(
                parent=self, ignore_changes=["actions"], depends_on=[attachment]
            ),
        )
        return resources(
            rule, keel_target_group=keel_group, alarms=self._alarms(route, keel_group, route_tags)
        )

    def _alarms(
        self, route: CutoverRoute, group: aws.lb.TargetGroup, tags: Mapping[str, str]
    ) -> list[aws.cloudwatch.MetricAlarm]:
        """Watch keel's side of a route: its 5xx share and its latency p95."""
        args = self._args
        child = pulumi.ResourceOptions(parent=self)
        prefix = constants.cutover_alarm_prefix(args.prefix, route.name)
        dimensions = {
            "LoadBalancer": args.load_balancer_arn_suffix,
            "TargetGroup": group.arn_suffix,
        }

        def metric(
            query_id: str, metric_name: str
        ) -> aws.cloudwatch.MetricAlarmMetricQueryArgsDict:
            return {
                "id": query_id,
                "return_data": False,
                "metric": {
                    "namespace": NAMESPACE,
                    "metric_name": metric_name,
                    "period": PERIOD,
                    "stat": "Sum",
                    "dimensions": dimensions,
                },
            }

        minimum = route.error_rate_min_requests
        error_rate = aws.cloudwatch.MetricAlarm(
            f"{route.name}-5xx-rate",
            name=f"{prefix}5xx-rate",
            **args.alerting.alarm(
                "cutover", f"keel cutover {route.name}: 5xx share of keel's requests too high."
            ),
            comparison_operator="GreaterThanThreshold",
            threshold=route.error_rate_percent,
            evaluation_periods=2,
            datapoints_to_alarm=2,
            treat_missing_data="notBreaching",
            metric_queries=[
                metric("requests", "RequestCount"),
                metric("errors", "HTTPCode_Target_5XX_Count"),
                {
                    "id": "rate",
                    "expression": f"IF(FILL(requests, 0) >= {minimum}, "
                    "100 * FILL(errors, 0) / requests, 0)",
                    "label": "5xx share (%) of keel's requests on the route",
                    "return_data": True,
                },
            ],
            tags=dict(tags),
            opts=child,
        )
        latency = aws.cloudwatch.MetricAlarm(
            f"{route.name}-latency-p95",
            name=f"{prefix}latency-p95",
            **args.alerting.alarm(
                "cutover", f"keel cutover {route.name}: keel's p95 latency too high."
            ),
            namespace=NAMESPACE,
            metric_name="TargetResponseTime",
            extended_statistic="p95",
            dimensions=dimensions,
            period=PERIOD,
            comparison_operator="GreaterThanThreshold",
            threshold=route.latency_p95_seconds,
            evaluation_periods=3,
            datapoints_to_alarm=2,
            treat_missing_data="notBreaching",
            tags=dict(tags),
            opts=child,
        )
        return [error_rate, latency]

    def _deny_ecs_the_rules(self) -> None:
        """Deny ECS's load-balancer role every write to a cutover rule.

        ECS only rewrites the rule a service names as its production (or test) rule; this
        makes a misconfiguration that named a cutover rule fail in ECS, loudly, instead of
        letting a deployment overwrite an operator's weights.
        """
        rule_arns = [route.rule.arn for route in self.routes.values()]
        aws.iam.RolePolicy(
            "ecs-keeps-off-cutover-rules",
            name="keel-ecs-keeps-off-cutover-rules",
            role=self._args.ecs_load_balancer_role_name,
            policy=pulumi.Output.all(*rule_arns).apply(
                when_created(_deny_rule_writes, otherwise="")
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )


def _deny_rule_writes(rule_arns: list[str]) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "CutoverRulesAreKeelCutovers",
                    "Effect": "Deny",
                    "Action": list(RULE_WRITES),
                    "Resource": sorted(rule_arns),
                }
            ],
        }
    )
