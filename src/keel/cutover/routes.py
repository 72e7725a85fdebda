"""Find a stack's cutover routes in AWS, from the names and tags keel.infra.cutover gives them.

The stack's ALB is named ``<app>-<stack>``; a route's rule is a rule on one of its
listeners tagged ``keel:cutover-route``; its two target groups are the ones the rule
forwards to, told apart by ``keel:cutover-side``; its alarms are the alarms named
``<app>-<stack>-cutover-<route>-*`` (DescribeAlarms filters by name prefix, not by tag).
Nothing is read from Pulumi's state, so any operator with read access sees the same
routes, and what the rule says in AWS is the truth about the weights.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from keel import constants
from keel.cutover.aws import Aws, AwsCallError, CutoverError

#: DescribeTags takes at most 20 ARNs a call.
TAGS_PER_CALL = 20


@dataclass(frozen=True, kw_only=True)
class Weights:
    """A route's split, in percent."""

    lambda_percent: int
    keel_percent: int

    @classmethod
    def keel_at(cls, percent: int) -> Weights:
        return cls(lambda_percent=100 - percent, keel_percent=percent)

    def as_dict(self) -> dict[str, int]:
        return {"lambda": self.lambda_percent, "keel": self.keel_percent}

    def __str__(self) -> str:
        return f"keel {self.keel_percent} % / lambda {self.lambda_percent} %"


@dataclass(frozen=True, kw_only=True)
class TargetGroup:
    arn: str
    #: ``targetgroup/<name>/<id>``: the TargetGroup dimension of ALB metrics.
    arn_suffix: str


@dataclass(frozen=True, kw_only=True)
class Route:
    """One route as AWS has it now."""

    name: str
    rule_arn: str
    conditions: tuple[str, ...]
    lambda_group: TargetGroup
    keel_group: TargetGroup
    weights: Weights
    alarm_names: tuple[str, ...]
    log_group: str
    retire_after_seconds: float
    permission_statement: str
    #: ``app/<name>/<id>``: the LoadBalancer dimension of ALB metrics.
    load_balancer_arn_suffix: str


@dataclass(frozen=True)
class Stack:
    """Which keel stack: its physical names start with ``<app>-<stack>``."""

    app: str
    stack: str

    @property
    def prefix(self) -> str:
        return f"{self.app}-{self.stack}"


def route_list(*, aws: Aws, stack: Stack) -> list[Route]:
    """Return every cutover route of the stack, in rule priority order."""
    try:
        balancers = aws.call("elbv2", "DescribeLoadBalancers", Names=[stack.prefix])
    except AwsCallError as error:
        if error.code != "LoadBalancerNotFound":
            raise
        raise CutoverError(
            f"no load balancer named {stack.prefix} in this account and region: check "
            "--app, --stack and --region (the stack's ALB is named <app>-<stack>)"
        ) from None
    (balancer,) = balancers["LoadBalancers"]
    balancer_suffix = balancer["LoadBalancerArn"].split(":loadbalancer/", 1)[1]
    listeners = aws.call("elbv2", "DescribeListeners", LoadBalancerArn=balancer["LoadBalancerArn"])
    rules = [
        rule
        for listener in listeners["Listeners"]
        for rule in aws.call("elbv2", "DescribeRules", ListenerArn=listener["ListenerArn"])["Rules"]
        if not rule.get("IsDefault")
    ]
    tags = _tags(aws, [rule["RuleArn"] for rule in rules])
    routes = []
    for rule in sorted(rules, key=lambda rule: int(rule["Priority"])):
        rule_tags = tags[rule["RuleArn"]]
        name = rule_tags.get(constants.CUTOVER_ROUTE_TAG)
        if name is not None:
            routes.append(_route(aws, stack, name, rule, rule_tags, balancer_suffix))
    return routes


def route_get(*, aws: Aws, stack: Stack, name: str) -> Route:
    """Return one route, or raise CutoverError listing the ones there are."""
    routes = route_list(aws=aws, stack=stack)
    for route in routes:
        if route.name == name:
            return route
    known = ", ".join(route.name for route in routes) or "none"
    raise CutoverError(
        f"stack {stack.prefix} has no cutover route {name!r} (routes: {known}); routes are "
        "listed under keel:cutover in the stack's configuration"
    )


def rule_weights(aws: Aws, route: Route) -> Weights:
    """Read the route's weights as its rule has them now."""
    (rule,) = aws.call("elbv2", "DescribeRules", RuleArns=[route.rule_arn])["Rules"]
    forward = _forward(rule)
    return Weights(
        lambda_percent=forward[route.lambda_group.arn], keel_percent=forward[route.keel_group.arn]
    )


def _route(
    aws: Aws, stack: Stack, name: str, rule: dict, tags: dict[str, str], balancer_suffix: str
) -> Route:
    forward = _forward(rule)
    groups = _tags(aws, list(forward))
    sides = {group_tags.get(constants.CUTOVER_SIDE_TAG): arn for arn, group_tags in groups.items()}
    if set(sides) != {constants.CUTOVER_SIDE_LAMBDA, constants.CUTOVER_SIDE_KEEL}:
        raise CutoverError(
            f"route {name}: its rule must forward to one target group tagged "
            f"{constants.CUTOVER_SIDE_TAG}=lambda and one tagged =keel, not {sorted(groups)}"
        )
    lambda_arn = sides[constants.CUTOVER_SIDE_LAMBDA]
    keel_arn = sides[constants.CUTOVER_SIDE_KEEL]
    alarms = aws.call(
        "cloudwatch",
        "DescribeAlarms",
        AlarmNamePrefix=constants.cutover_alarm_prefix(stack.prefix, name),
    )
    return Route(
        name=name,
        rule_arn=rule["RuleArn"],
        conditions=tuple(_conditions(rule)),
        lambda_group=_group(lambda_arn),
        keel_group=_group(keel_arn),
        weights=Weights(lambda_percent=forward[lambda_arn], keel_percent=forward[keel_arn]),
        alarm_names=tuple(
            alarm["AlarmName"]
            for alarm in [*alarms.get("MetricAlarms", []), *alarms.get("CompositeAlarms", [])]
        ),
        log_group=tags.get(
            constants.CUTOVER_LOG_GROUP_TAG, constants.cutover_log_group(stack.prefix)
        ),
        retire_after_seconds=float(tags.get(constants.CUTOVER_RETIRE_AFTER_TAG, 7 * 86400)),
        permission_statement=tags.get(constants.CUTOVER_PERMISSION_TAG, ""),
        load_balancer_arn_suffix=balancer_suffix,
    )


def _group(arn: str) -> TargetGroup:
    return TargetGroup(arn=arn, arn_suffix="targetgroup/" + arn.split(":targetgroup/", 1)[1])


def _forward(rule: dict) -> dict[str, int]:
    """Return target group ARN -> weight of a rule's forward action."""
    for action in rule.get("Actions", []):
        if action.get("Type") == "forward":
            groups = (action.get("ForwardConfig") or {}).get("TargetGroups")
            if groups:
                return {group["TargetGroupArn"]: int(group.get("Weight", 1)) for group in groups}
            return {action["TargetGroupArn"]: 100}
    raise CutoverError(f"rule {rule['RuleArn']} has no forward action")


def _conditions(rule: dict) -> Iterator[str]:
    for condition in rule.get("Conditions", []):
        field = condition.get("Field")
        values = condition.get("Values") or []
        if field == "path-pattern":
            values = values or (condition.get("PathPatternConfig") or {}).get("Values", [])
        elif field == "host-header":
            values = values or (condition.get("HostHeaderConfig") or {}).get("Values", [])
        yield f"{field} {','.join(values)}"


def _tags(aws: Aws, arns: Sequence[str]) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {arn: {} for arn in arns}
    for start in range(0, len(arns), TAGS_PER_CALL):
        response = aws.call(
            "elbv2", "DescribeTags", ResourceArns=list(arns[start : start + TAGS_PER_CALL])
        )
        for description in response["TagDescriptions"]:
            found[description["ResourceArn"]] = {
                tag["Key"]: tag["Value"] for tag in description.get("Tags", [])
            }
    return found
