"""Each side of a route from CloudWatch: requests, 5xx share and latency p95 over a window.

Both sides are target groups of keel's ALB, so the same ALB metrics describe them
(``AWS/ApplicationELB``, dimensions LoadBalancer and TargetGroup): ``RequestCount``,
``HTTPCode_Target_5XX_Count`` and ``TargetResponseTime``. A Lambda target's own
failures are not target 5xx: the ALB answers 502 for them and counts
``LambdaInternalError`` and ``LambdaUserError``, which are added to Lambda's errors.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from keel import constants
from keel.cutover.aws import Aws
from keel.cutover.routes import Route, TargetGroup

NAMESPACE = "AWS/ApplicationELB"
#: CloudWatch periods are multiples of 60 s.
MINIMUM_PERIOD = 60
ERROR_METRICS = {
    constants.CUTOVER_SIDE_KEEL: ("HTTPCode_Target_5XX_Count",),
    constants.CUTOVER_SIDE_LAMBDA: (
        "HTTPCode_Target_5XX_Count",
        "LambdaInternalError",
        "LambdaUserError",
    ),
}


@dataclass(frozen=True, kw_only=True)
class SideHealth:
    requests: float
    errors: float
    #: None when CloudWatch has no datapoint for the window.
    p95_seconds: float | None

    @property
    def error_rate_percent(self) -> float | None:
        return 100 * self.errors / self.requests if self.requests else None


@dataclass(frozen=True, kw_only=True)
class RouteHealth:
    window_seconds: int
    sides: dict[str, SideHealth]
    alarms: dict[str, str]


def route_health(*, aws: Aws, route: Route, window_seconds: int) -> RouteHealth:
    """Read both sides' metrics for the last ``window_seconds`` and the alarms' states."""
    period = max(MINIMUM_PERIOD, window_seconds // MINIMUM_PERIOD * MINIMUM_PERIOD)
    end = datetime.datetime.now(datetime.UTC)
    start = end - datetime.timedelta(seconds=period)
    groups = {
        constants.CUTOVER_SIDE_LAMBDA: route.lambda_group,
        constants.CUTOVER_SIDE_KEEL: route.keel_group,
    }
    queries = [
        _query(f"{side}_{index}", metric, route, group, period)
        for side, group in groups.items()
        for index, metric in enumerate(("RequestCount", *ERROR_METRICS[side]))
    ]
    response = aws.call(
        "cloudwatch", "GetMetricData", MetricDataQueries=queries, StartTime=start, EndTime=end
    )
    sums = {result["Id"]: sum(result.get("Values", [])) for result in response["MetricDataResults"]}
    sides = {
        side: SideHealth(
            requests=sums.get(f"{side}_0", 0.0),
            errors=sum(
                sums.get(f"{side}_{index}", 0.0) for index in range(1, len(ERROR_METRICS[side]) + 1)
            ),
            p95_seconds=_p95(aws, route, group, start, end, period),
        )
        for side, group in groups.items()
    }
    alarms: dict[str, str] = {}
    if route.alarm_names:
        described = aws.call("cloudwatch", "DescribeAlarms", AlarmNames=list(route.alarm_names))
        found = [*described.get("MetricAlarms", []), *described.get("CompositeAlarms", [])]
        alarms = {alarm["AlarmName"]: alarm["StateValue"] for alarm in sorted(found, key=_name)}
    return RouteHealth(window_seconds=period, sides=sides, alarms=alarms)


def _name(alarm: dict[str, Any]) -> str:
    return str(alarm["AlarmName"])


def _dimensions(route: Route, group: TargetGroup) -> list[dict[str, str]]:
    return [
        {"Name": "LoadBalancer", "Value": route.load_balancer_arn_suffix},
        {"Name": "TargetGroup", "Value": group.arn_suffix},
    ]


def _query(
    query_id: str, metric: str, route: Route, group: TargetGroup, period: int
) -> dict[str, Any]:
    return {
        "Id": query_id,
        "MetricStat": {
            "Metric": {
                "Namespace": NAMESPACE,
                "MetricName": metric,
                "Dimensions": _dimensions(route, group),
            },
            "Period": period,
            "Stat": "Sum",
        },
        "ReturnData": True,
    }


def _p95(
    aws: Aws,
    route: Route,
    group: TargetGroup,
    start: datetime.datetime,
    end: datetime.datetime,
    period: int,
) -> float | None:
    response = aws.call(
        "cloudwatch",
        "GetMetricStatistics",
        Namespace=NAMESPACE,
        MetricName="TargetResponseTime",
        Dimensions=_dimensions(route, group),
        StartTime=start,
        EndTime=end,
        Period=period,
        ExtendedStatistics=["p95"],
    )
    return p95_of(response.get("Datapoints", []))


def p95_of(datapoints: list[dict[str, Any]]) -> float | None:
    """Return the highest p95 of GetMetricStatistics' datapoints, None if they hold none."""
    values = [
        float(point["ExtendedStatistics"]["p95"])
        for point in datapoints
        if "p95" in (point.get("ExtendedStatistics") or {})
    ]
    return max(values) if values else None
