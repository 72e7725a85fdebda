"""Move a route's weights, and log every move: who, when, from, to and why.

Each change is one ``ModifyRule`` on the route's own rule, then one record, written
twice: a JSON line on stdout (keel's log format, for the operator's terminal and a CI
job's log) and an event in the stack's cutover log group in CloudWatch Logs (one
stream per route), which every operator shares, which outlives the terminal, and which
``retire`` reads to know since when a route has served keel only. CloudTrail records
the ``ModifyRule`` call itself as well.
"""

from __future__ import annotations

import datetime
import json
import logging
from dataclasses import dataclass
from typing import Any

from keel.cutover.aws import Aws, AwsCallError, CutoverError
from keel.cutover.routes import Route, Weights

logger = logging.getLogger("keel.cutover.changes")

#: The ``event`` of a weight change in the log.
WEIGHT_EVENT = "cutover.weight"


@dataclass(frozen=True, kw_only=True)
class Change:
    route: str
    rule_arn: str
    before: Weights
    after: Weights
    who: str
    when: datetime.datetime
    reason: str

    def as_record(self) -> dict[str, Any]:
        return {
            "event": WEIGHT_EVENT,
            "route": self.route,
            "rule": self.rule_arn,
            "from": self.before.as_dict(),
            "to": self.after.as_dict(),
            "who": self.who,
            "when": self.when.isoformat(timespec="milliseconds"),
            "reason": self.reason,
        }


def caller_identity(aws: Aws) -> str:
    """Return the ARN of whoever the credentials belong to: the "who" of every change."""
    return str(aws.call("sts", "GetCallerIdentity")["Arn"])


def weights_set(
    *, aws: Aws, route: Route, before: Weights, to: Weights, who: str, reason: str
) -> Change:
    """Point the route's rule at ``to`` in one call, then log the change."""
    aws.call(
        "elbv2",
        "ModifyRule",
        RuleArn=route.rule_arn,
        Actions=[
            {
                "Type": "forward",
                "ForwardConfig": {
                    "TargetGroups": [
                        {"TargetGroupArn": route.lambda_group.arn, "Weight": to.lambda_percent},
                        {"TargetGroupArn": route.keel_group.arn, "Weight": to.keel_percent},
                    ]
                },
            }
        ],
    )
    change = Change(
        route=route.name,
        rule_arn=route.rule_arn,
        before=before,
        after=to,
        who=who,
        when=datetime.datetime.now(datetime.UTC),
        reason=reason,
    )
    change_log(aws=aws, route=route, change=change)
    return change


def change_log(*, aws: Aws, route: Route, change: Change) -> None:
    """Write the change to stdout, then to the route's stream in the cutover log group."""
    record = change.as_record()
    logger.info(
        "%s: %s -> %s (%s)", change.route, change.before, change.after, change.reason, extra=record
    )
    try:
        _put(aws, route, record, change.when)
    except AwsCallError as error:
        raise CutoverError(
            f"route {route.name} is now at {change.after}, but the change could not be added "
            f"to {route.log_group}: {error}. The line above is the record of it"
        ) from None


def _put(aws: Aws, route: Route, record: dict[str, Any], when: datetime.datetime) -> None:
    try:
        aws.call("logs", "CreateLogStream", logGroupName=route.log_group, logStreamName=route.name)
    except AwsCallError as error:
        if error.code != "ResourceAlreadyExistsException":
            raise
    aws.call(
        "logs",
        "PutLogEvents",
        logGroupName=route.log_group,
        logStreamName=route.name,
        logEvents=[{"timestamp": int(when.timestamp() * 1000), "message": json.dumps(record)}],
    )


def change_history(*, aws: Aws, route: Route) -> list[dict[str, Any]]:
    """Return the route's weight changes from the cutover log group, oldest first."""
    events: list[dict[str, Any]] = []
    parameters: dict[str, Any] = {"logGroupName": route.log_group, "logStreamNames": [route.name]}
    while True:
        try:
            page = aws.call("logs", "FilterLogEvents", **parameters)
        except AwsCallError as error:
            if error.code == "ResourceNotFoundException":
                return []
            raise
        events += page.get("events", [])
        if not page.get("nextToken"):
            break
        parameters["nextToken"] = page["nextToken"]
    records = []
    for event in sorted(events, key=lambda event: event["timestamp"]):
        try:
            record = json.loads(event["message"])
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("event") == WEIGHT_EVENT:
            records.append(record)
    return records
