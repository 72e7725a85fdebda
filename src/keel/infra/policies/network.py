"""Policies for what reaches what: target groups, and the security groups' rules."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from keel import constants
from keel.infra.least_privilege import WORLD, egress_problems
from keel.infra.policies.rules import Options

PUBLIC_PORTS = (80, 443)

_HEALTH_CHECK = {
    "path": constants.HEALTH_PATH,
    "port": str(constants.PORT),
    "interval": constants.HEALTH_CHECK_INTERVAL,
    "timeout": constants.HEALTH_CHECK_TIMEOUT,
    "healthyThreshold": constants.HEALTH_CHECK_HEALTHY_THRESHOLD,
    "unhealthyThreshold": constants.HEALTH_CHECK_UNHEALTHY_THRESHOLD,
    "matcher": constants.HEALTH_CHECK_MATCHER,
}


def _same(actual: Any, expected: Any) -> bool:
    # The engine carries every number as a float: 10 arrives as 10.0.
    if isinstance(expected, int) and isinstance(actual, int | float):
        return actual == expected
    return str(actual) == str(expected)


def target_group_matches_runtime(props: Mapping[str, Any], options: Options) -> Iterator[str]:
    if props.get("targetType") == "lambda":
        # A cutover route's Lambda side: no port, no keel health path (the function is
        # the old stack's, invoked as it is).
        return
    if props.get("port") != constants.PORT:
        yield f"the target group forwards to {props.get('port')}, keel listens on {constants.PORT}"
    health_check = props.get("healthCheck") or {}
    for key, expected in _HEALTH_CHECK.items():
        actual = health_check.get(key)
        if not _same(actual, expected):
            yield f"health check {key} is {actual!r}; keel's runtime constant is {expected!r}"
    delay = props.get("deregistrationDelay")
    if delay is None or int(delay) != constants.DEREGISTRATION_DELAY:
        yield f"deregistration delay {delay!r} must be {constants.DEREGISTRATION_DELAY}"
    elif int(delay) >= constants.STOP_TIMEOUT:
        yield "the deregistration delay must be below stopTimeout"


def _destinations(rule: Mapping[str, Any]) -> list[Any]:
    return [
        *(rule.get("cidrBlocks") or []),
        *(rule.get("ipv6CidrBlocks") or []),
        rule.get("cidrIpv4"),
        rule.get("cidrIpv6"),
    ]


def _protocol(rule: Mapping[str, Any]) -> Any:
    return rule.get("ipProtocol") or rule.get("protocol")


def world_ingress_only_to_web_ports(props: Mapping[str, Any], options: Options) -> Iterator[str]:
    rules = [props]
    if "ingress" in props:
        rules = list(props.get("ingress") or [])
    elif props.get("type") == "egress":
        return
    for rule in rules:
        if not any(destination in WORLD for destination in _destinations(rule)):
            continue
        protocol, from_port, to_port = _protocol(rule), rule.get("fromPort"), rule.get("toPort")
        if str(protocol) != "tcp" or from_port != to_port or from_port not in PUBLIC_PORTS:
            yield (
                f"ingress from anywhere on {protocol} {from_port}-{to_port}; only the load "
                "balancer's 80 and 443 may be open to the internet"
            )


def egress_is_scoped(props: Mapping[str, Any], options: Options) -> Iterator[str]:
    """Egress goes over TCP or UDP to named ports, and to the internet on one port only."""
    if "securityGroupId" in props:
        # One rule: a vpc SecurityGroupEgressRule, or an ec2 SecurityGroupRule of either type.
        if props.get("type", "egress") != "egress":
            return
        rules = [props]
    else:
        # A security group's inline rules.
        rules = list(props.get("egress") or [])
    for rule in rules:
        yield from egress_problems(
            protocol=_protocol(rule),
            from_port=rule.get("fromPort"),
            to_port=rule.get("toPort"),
            destinations=[destination for destination in _destinations(rule) if destination],
        )
