"""Policies for the routes being cut over from Lambda: their weights, alarms and rules.

A route's rule splits its requests between two target groups by percentages, has at
least one alarm that ``keel cutover step`` watches, and stays apart from what ECS
rewrites: it is not a service's production or test rule and forwards to none of the
target groups ECS swaps (docs/adr/0007-cutover.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from keel import constants
from keel.infra.load_balancer import PRODUCTION_RULE_TAG
from keel.infra.policies.rules import (
    LISTENER_RULE,
    METRIC_ALARM,
    SERVICE,
    TARGET_GROUP,
    Options,
)

Resources = Iterable[tuple[str, Mapping[str, Any]]]


def route_of(props: Mapping[str, Any]) -> str | None:
    """Return the cutover route a resource belongs to, from its tags."""
    return (props.get("tags") or {}).get(constants.CUTOVER_ROUTE_TAG)


def forwarded(props: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Return a listener rule's weighted target groups (``{arn, weight}``)."""
    return [
        group
        for action in props.get("actions") or []
        if action.get("type") == "forward"
        for group in (action.get("forward") or {}).get("targetGroups") or []
    ]


def weights_are_percentages(props: Mapping[str, Any], options: Options) -> Iterator[str]:
    """A cutover rule weighs two target groups in whole percentages that add up to 100."""
    if route_of(props) is None:
        return
    groups = forwarded(props)
    if len(groups) != 2:
        yield f"a cutover rule forwards to two target groups (Lambda, keel), not {len(groups)}"
    weights: list[Any] = [group.get("weight") for group in groups]
    numbers = [weight for weight in weights if isinstance(weight, int | float)]
    for weight in weights:
        if weight not in numbers or weight != int(weight) or not 0 <= weight <= 100:
            yield f"weight {weight!r} is not a whole percentage from 0 to 100"
    if len(numbers) == len(weights) and sum(numbers) != 100:
        yield f"the weights add up to {sum(numbers):g}, not 100 %"


def every_route_has_an_alarm(resources: Resources) -> list[str]:
    """Every cutover rule has at least one alarm of its route for ``step`` to watch."""
    resources = list(resources)
    alarmed = {route_of(props) for kind, props in resources if kind == METRIC_ALARM}
    return [
        f"cutover route {route} has no alarm tagged {constants.CUTOVER_ROUTE_TAG}={route}"
        for kind, props in resources
        if kind == LISTENER_RULE and (route := route_of(props)) is not None
        if route not in alarmed
    ]


def _ecs_owned(resources: list[tuple[str, Mapping[str, Any]]]) -> tuple[set[str], set[str]]:
    """Return the rules ECS rewrites and the target groups whose roles it swaps."""
    rules: set[str] = set()
    groups: set[str] = set()
    for kind, props in resources:
        if (
            kind == LISTENER_RULE
            and (props.get("tags") or {}).get(PRODUCTION_RULE_TAG[0]) == (PRODUCTION_RULE_TAG[1])
        ):
            rules.add(str(props.get("arn")))
        if kind != SERVICE:
            continue
        for balancer in props.get("loadBalancers") or []:
            advanced = balancer.get("advancedConfiguration")
            if not advanced:
                continue
            groups |= {
                str(balancer.get("targetGroupArn")),
                str(advanced.get("alternateTargetGroupArn")),
            }
            rules |= {
                str(rule)
                for rule in (
                    advanced.get("productionListenerRule"),
                    advanced.get("testListenerRule"),
                )
                if rule
            }
    return rules, groups


def cutover_rules_apart_from_production(resources: Resources) -> list[str]:
    """No cutover rule is a rule ECS rewrites, or forwards to a target group ECS swaps;
    the production rule forwards to no Lambda target group."""
    resources = list(resources)
    ecs_rules, ecs_groups = _ecs_owned(resources)
    lambda_groups = {
        str(props.get("arn"))
        for kind, props in resources
        if kind == TARGET_GROUP and props.get("targetType") == "lambda"
    }
    messages = []
    for kind, props in resources:
        if kind != LISTENER_RULE:
            continue
        route = route_of(props)
        targets = {str(group.get("arn")) for group in forwarded(props)}
        if route is None:
            if str(props.get("arn")) in ecs_rules and targets & lambda_groups:
                messages.append("the production rule forwards to a Lambda target group")
            continue
        if str(props.get("arn")) in ecs_rules:
            messages.append(f"cutover route {route} is on a rule ECS rewrites during deployments")
        for arn in sorted(targets & ecs_groups):
            messages.append(
                f"cutover route {route} forwards to {arn}, a target group ECS swaps on deploys"
            )
    return messages
