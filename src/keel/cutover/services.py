"""Step a route's weight and bake it under its alarms; roll a route back to Lambda."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from keel.cutover.aws import Aws, CutoverError
from keel.cutover.changes import Change, caller_identity, weights_set
from keel.cutover.routes import Route, Stack, Weights, route_get, rule_weights

Progress = Callable[[str], None]


@dataclass(frozen=True, kw_only=True)
class StepResult:
    route: str
    #: The move, or None when the route already had the weight asked for.
    change: Change | None
    #: The move back, when an alarm fired during the bake.
    rolled_back: Change | None = None
    #: The alarm that fired.
    alarm: str = ""


def alarms_in_alarm(aws: Aws, route: Route) -> list[str]:
    """Return the route's alarms that are in ALARM now."""
    if not route.alarm_names:
        return []
    response = aws.call("cloudwatch", "DescribeAlarms", AlarmNames=list(route.alarm_names))
    return sorted(
        alarm["AlarmName"]
        for alarm in [*response.get("MetricAlarms", []), *response.get("CompositeAlarms", [])]
        if alarm["StateValue"] == "ALARM"
    )


def route_step(
    *,
    aws: Aws,
    stack: Stack,
    name: str,
    to_percent: int,
    bake_seconds: float,
    poll_seconds: float,
    progress: Progress,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> StepResult:
    """Give keel ``to_percent`` of the route, then watch its alarms for ``bake_seconds``.

    If one goes into ALARM during the bake, the route goes back to the weights it had
    before, unless someone else changed them meanwhile (then they are left alone and
    the error says so).
    """
    if not 0 <= to_percent <= 100:
        raise CutoverError(f"--to must be a whole percentage from 0 to 100, not {to_percent}")
    route = route_get(aws=aws, stack=stack, name=name)
    if not route.alarm_names:
        raise CutoverError(
            f"route {name} has no alarms (named {stack.prefix}-cutover-{name}-*): a bake would "
            "watch nothing; the stack's policy pack requires them"
        )
    firing = alarms_in_alarm(aws, route)
    if firing:
        raise CutoverError(
            f"route {name}: {', '.join(firing)} in ALARM already; nothing changed. Look at it "
            f"first, or `keel cutover rollback {name}`"
        )
    target = Weights.keel_at(to_percent)
    before = route.weights
    if before == target:
        progress(f"{name} is already at {target}; nothing to change")
        return StepResult(route=name, change=None)
    who = caller_identity(aws)
    change = weights_set(aws=aws, route=route, before=before, to=target, who=who, reason="step")
    deadline = clock() + bake_seconds
    progress(
        f"{name}: {before} -> {target}; baking {bake_seconds:g} s under {', '.join(route.alarm_names)}"
    )
    while True:
        firing = alarms_in_alarm(aws, route)
        if firing:
            return _roll_back(aws, route, change, firing[0], who, progress)
        remaining = deadline - clock()
        if remaining <= 0:
            progress(f"{name}: baked {bake_seconds:g} s at {target}, alarms quiet")
            return StepResult(route=name, change=change)
        sleep(min(poll_seconds, remaining))


def _roll_back(
    aws: Aws, route: Route, change: Change, alarm: str, who: str, progress: Progress
) -> StepResult:
    now = rule_weights(aws, route)
    if now != change.after:
        raise CutoverError(
            f"{alarm} went into ALARM during the bake of {route.name}, but the route is now at "
            f"{now}, not the {change.after} this step set: someone else changed it, so it is "
            "left as it is"
        )
    back = weights_set(
        aws=aws,
        route=route,
        before=change.after,
        to=change.before,
        who=who,
        reason=f"bake: {alarm} went into ALARM",
    )
    progress(f"{route.name}: {alarm} in ALARM; back to {change.before}")
    return StepResult(route=route.name, change=change, rolled_back=back, alarm=alarm)


def route_rollback(*, aws: Aws, stack: Stack, name: str, progress: Progress) -> Change | None:
    """Put 100 % of the route on Lambda, in one ModifyRule, whatever its alarms say."""
    route = route_get(aws=aws, stack=stack, name=name)
    target = Weights.keel_at(0)
    if route.weights == target:
        progress(f"{name} is already at {target}; nothing to change")
        return None
    return weights_set(
        aws=aws,
        route=route,
        before=route.weights,
        to=target,
        who=caller_identity(aws),
        reason="rollback",
    )
