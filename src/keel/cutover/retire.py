"""Which old functions keel's ALB no longer reaches, and what else still can; removes nothing.

A route is ready to retire once its rule sends 100 % to keel, has done so for the
route's configured time (``keel:cutover-retire-after-seconds``, from ``retireAfterHours``)
since the change log's record of the move, and every alarm of the route has been OK
for that whole time. Without DescribeAlarmHistory (which keel does not need), "OK the
whole time" is read conservatively: an alarm that changed state since the move restarts
the clock from that change. For a ready route the report names its function and what
keel added to reach it, then lists what can still invoke the function outside keel
(its resource policy's other statements, event source mappings, a function URL) and
how often it was invoked meanwhile: those are what the old stack's deletion affects.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass, field
from typing import Any

from keel.cutover.aws import Aws, AwsCallError
from keel.cutover.changes import change_history
from keel.cutover.routes import Route, Stack, route_list


@dataclass(frozen=True, kw_only=True)
class Retirement:
    route: str
    ready: bool
    #: Why not, or since when it has been quiet.
    reason: str
    function_arn: str = ""
    lambda_target_group: str = ""
    permission_statement: str = ""
    #: What can still invoke the function without keel's ALB.
    other_invokers: list[str] = field(default_factory=list)
    invocations: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))


def retire_report(
    *, aws: Aws, stack: Stack, now: datetime.datetime | None = None
) -> list[Retirement]:
    """Return, per route, whether it is ready to retire and what that retires."""
    now = now or datetime.datetime.now(datetime.UTC)
    return [_route(aws, route, now) for route in route_list(aws=aws, stack=stack)]


def _route(aws: Aws, route: Route, now: datetime.datetime) -> Retirement:
    if route.weights.keel_percent != 100:
        return Retirement(
            route=route.name, ready=False, reason=f"keel serves {route.weights.keel_percent} %"
        )
    records = change_history(aws=aws, route=route)
    if not records or records[-1]["to"]["keel"] != 100:
        return Retirement(
            route=route.name,
            ready=False,
            reason=f"no record in {route.log_group} of the move to 100 % keel",
        )
    quiet_since = datetime.datetime.fromisoformat(records[-1]["when"])
    alarms = aws.call("cloudwatch", "DescribeAlarms", AlarmNames=list(route.alarm_names))
    for alarm in [*alarms.get("MetricAlarms", []), *alarms.get("CompositeAlarms", [])]:
        if alarm["StateValue"] != "OK":
            return Retirement(
                route=route.name,
                ready=False,
                reason=f"{alarm['AlarmName']} is {alarm['StateValue']}",
            )
        quiet_since = max(quiet_since, alarm["StateUpdatedTimestamp"])
    quiet = (now - quiet_since).total_seconds()
    if quiet < route.retire_after_seconds:
        return Retirement(
            route=route.name,
            ready=False,
            reason=f"100 % keel with quiet alarms for {_hours(quiet)} of the "
            f"{_hours(route.retire_after_seconds)} required (since {quiet_since.isoformat()})",
        )
    function_arn = _function(aws, route)
    return Retirement(
        route=route.name,
        ready=True,
        reason=f"100 % keel with quiet alarms since {quiet_since.isoformat()} ({_hours(quiet)})",
        function_arn=function_arn,
        lambda_target_group=route.lambda_group.arn,
        permission_statement=route.permission_statement,
        other_invokers=_other_invokers(aws, function_arn, route.permission_statement),
        invocations=_invocations(aws, function_arn, quiet_since, now),
    )


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 360 else f"{seconds:.0f} s"


def _function(aws: Aws, route: Route) -> str:
    health = aws.call("elbv2", "DescribeTargetHealth", TargetGroupArn=route.lambda_group.arn)
    targets = [description["Target"]["Id"] for description in health["TargetHealthDescriptions"]]
    return targets[0] if targets else ""


def _unqualified(function_arn: str) -> tuple[str, str | None]:
    """Split ``arn:...:function:name[:qualifier]`` into the function and its qualifier."""
    parts = function_arn.split(":")
    if len(parts) == 8:
        return ":".join(parts[:7]), parts[7]
    return function_arn, None


def _other_invokers(aws: Aws, function_arn: str, keels_statement: str) -> list[str]:
    if not function_arn:
        return []
    function, qualifier = _unqualified(function_arn)
    found = []
    # The function's own policy, and its alias's or version's (where keel's statement is).
    scopes: list[dict[str, Any]] = [{"FunctionName": function}]
    if qualifier:
        scopes.append({"FunctionName": function, "Qualifier": qualifier})
    for parameters in scopes:
        try:
            policy = json.loads(aws.call("lambda", "GetPolicy", **parameters)["Policy"])
        except AwsCallError as error:
            if error.code != "ResourceNotFoundException":
                raise
            continue
        for statement in policy.get("Statement", []):
            if statement.get("Sid") == keels_statement:
                continue
            principal = statement.get("Principal")
            if isinstance(principal, dict):
                principal = principal.get("Service") or principal.get("AWS")
            source = (statement.get("Condition") or {}).get("ArnLike", {}).get("AWS:SourceArn")
            found.append(
                f"resource policy {statement.get('Sid')}: {principal}"
                + (f" from {source}" if source else "")
            )
    # By name: the ALB reaches functions of its own account and region only.
    name = function.rsplit(":", 1)[-1]
    mappings = aws.call("lambda", "ListEventSourceMappings", FunctionName=name)
    found += [
        f"event source mapping {mapping['UUID']}: {mapping.get('EventSourceArn')} ({mapping.get('State')})"
        for mapping in mappings.get("EventSourceMappings", [])
    ]
    try:
        url = aws.call("lambda", "GetFunctionUrlConfig", FunctionName=name)
        found.append(f"function URL {url['FunctionUrl']} (auth {url.get('AuthType')})")
    except AwsCallError as error:
        if error.code != "ResourceNotFoundException":
            raise
    return sorted(set(found))


def _invocations(
    aws: Aws, function_arn: str, start: datetime.datetime, end: datetime.datetime
) -> float | None:
    if not function_arn:
        return None
    function, _ = _unqualified(function_arn)
    seconds = max(60, int((end - start).total_seconds()) // 60 * 60)
    response = aws.call(
        "cloudwatch",
        "GetMetricData",
        MetricDataQueries=[
            {
                "Id": "invocations",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/Lambda",
                        "MetricName": "Invocations",
                        "Dimensions": [
                            {"Name": "FunctionName", "Value": function.rsplit(":", 1)[-1]}
                        ],
                    },
                    "Period": seconds,
                    "Stat": "Sum",
                },
            }
        ],
        StartTime=end - datetime.timedelta(seconds=seconds),
        EndTime=end,
    )
    return sum(
        value for result in response["MetricDataResults"] for value in result.get("Values", [])
    )
