"""The CloudWatch alarms that roll a web deployment back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from keel.infra.alerting import Alerting

NAMESPACE = "AWS/ApplicationELB"
PERIOD = 60


@dataclass(frozen=True, kw_only=True)
class DeploymentAlarmsArgs:
    prefix: str
    load_balancer_arn_suffix: pulumi.Input[str]
    #: Both target groups: during a canary the new revision serves from either.
    target_group_arn_suffixes: tuple[pulumi.Input[str], pulumi.Input[str]]
    error_rate_percent: float
    error_rate_min_requests: int
    tags: Mapping[str, str]
    #: The alarm topic and the runbook every alarm links.
    alerting: Alerting


class DeploymentAlarms(pulumi.ComponentResource):
    """Two alarms ECS watches during every web deployment: the 5xx rate and unhealthy targets.

    The 5xx rate is taken per target group, so a canary serving 10 % of the traffic trips
    it at the same error rate as a full rollout would; the ALB's own 5xx (no healthy
    target, timeouts) count too. A target group's rate only counts once it serves
    ``error_rate_min_requests`` a minute, so one failed request on a quiet canary is not
    a 100 % error rate.
    """

    error_rate: aws.cloudwatch.MetricAlarm
    unhealthy_targets: aws.cloudwatch.MetricAlarm
    alarm_names: pulumi.Output[list[str]]

    def __init__(
        self, name: str, args: DeploymentAlarmsArgs, opts: pulumi.ResourceOptions | None = None
    ):
        if not 0 < args.error_rate_percent < 100:
            raise ValueError("deployment alarms: error_rate_percent must be between 0 and 100")
        if args.error_rate_min_requests < 1:
            raise ValueError("deployment alarms: error_rate_min_requests must be at least 1")
        super().__init__("keel:aws:DeploymentAlarms", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        lb = args.load_balancer_arn_suffix
        minimum = args.error_rate_min_requests

        def metric(
            query_id: str, metric_name: str, stat: str, dimensions: dict
        ) -> aws.cloudwatch.MetricAlarmMetricQueryArgsDict:
            return {
                "id": query_id,
                "return_data": False,
                "metric": {
                    "namespace": NAMESPACE,
                    "metric_name": metric_name,
                    "period": PERIOD,
                    "stat": stat,
                    "dimensions": dimensions,
                },
            }

        queries: list[aws.cloudwatch.MetricAlarmMetricQueryArgsDict]
        queries = [metric("lbrequests", "RequestCount", "Sum", {"LoadBalancer": lb})]
        queries.append(metric("lberrors", "HTTPCode_ELB_5XX_Count", "Sum", {"LoadBalancer": lb}))
        rates = [f"IF(FILL(lbrequests, 0) >= {minimum}, 100 * FILL(lberrors, 0) / lbrequests, 0)"]
        for index, target_group in enumerate(args.target_group_arn_suffixes):
            dimensions = {"LoadBalancer": lb, "TargetGroup": target_group}
            queries.append(metric(f"requests{index}", "RequestCount", "Sum", dimensions))
            queries.append(metric(f"errors{index}", "HTTPCode_Target_5XX_Count", "Sum", dimensions))
            rates.append(
                f"IF(FILL(requests{index}, 0) >= {minimum}, "
                f"100 * FILL(errors{index}, 0) / requests{index}, 0)"
            )
        queries.append(
            {
                "id": "rate",
                "expression": f"MAX([{', '.join(rates)}])",
                "label": "highest 5xx share (%) of any target group or the ALB",
                "return_data": True,
            }
        )
        self.error_rate = aws.cloudwatch.MetricAlarm(
            "error-rate",
            name=f"{args.prefix}-web-5xx-rate",
            **args.alerting.alarm(
                "deployment", "keel web: 5xx share of requests too high; ECS rolls back."
            ),
            comparison_operator="GreaterThanThreshold",
            threshold=args.error_rate_percent,
            evaluation_periods=2,
            datapoints_to_alarm=2,
            treat_missing_data="notBreaching",
            metric_queries=queries,
            tags=tags,
            opts=child,
        )

        unhealthy_queries: list[aws.cloudwatch.MetricAlarmMetricQueryArgsDict] = [
            metric(
                f"unhealthy{index}",
                "UnHealthyHostCount",
                "Maximum",
                {"LoadBalancer": lb, "TargetGroup": target_group},
            )
            for index, target_group in enumerate(args.target_group_arn_suffixes)
        ]
        unhealthy_queries.append(
            {
                "id": "unhealthy",
                "expression": "MAX([FILL(unhealthy0, 0), FILL(unhealthy1, 0)])",
                "label": "unhealthy targets in either target group",
                "return_data": True,
            }
        )
        self.unhealthy_targets = aws.cloudwatch.MetricAlarm(
            "unhealthy-targets",
            name=f"{args.prefix}-web-unhealthy-targets",
            **args.alerting.alarm(
                "deployment", "keel web: targets failing the health check; ECS rolls back."
            ),
            comparison_operator="GreaterThanOrEqualToThreshold",
            threshold=1,
            evaluation_periods=2,
            datapoints_to_alarm=2,
            treat_missing_data="notBreaching",
            metric_queries=unhealthy_queries,
            tags=tags,
            opts=child,
        )
        self.alarm_names = pulumi.Output.all(
            self.error_rate.name, self.unhealthy_targets.name
        ).apply(list)
        self.register_outputs({"alarm_names": self.alarm_names})
