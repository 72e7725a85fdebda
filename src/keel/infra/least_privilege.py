"""What keel refuses in the IAM statements, managed policies and egress rules it creates.

The stack's configuration (``keel.infra.access_config``) and the policy pack
(``keel.infra.policies``) apply these same predicates, so a configuration that plans is
one the pack passes, and a resource changed outside the program is still caught. Each
refusal follows AWS's own guidance (docs/adr/0006-first-deploy.md):

- no whole-service or ``*`` actions in an Allow (IAM: grant least privilege);
- ``Resource: "*"`` only for actions that have no resource-level permissions;
- ``iam:PassRole``, ``sts:AssumeRole``, KMS and Secrets Manager only on exact ARNs (IAM
  Access Analyzer's "PassRole with star in resource"; KMS's "avoid wildcards in key
  policies and IAM policies");
- no ``NotAction`` / ``NotResource`` in an Allow (they grant everything but a list);
- no AWS managed policy that grants administrator, power-user or full access;
- egress only over TCP or UDP to named ports, and to the whole internet on one port.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

WORLD = ("0.0.0.0/0", "::/0")

#: Actions the Service Authorization Reference lists with no resource type: a statement
#: granting them can only say ``Resource: "*"``.
NO_RESOURCE_LEVEL_ACTIONS = frozenset(
    action.lower()
    for action in (
        "ecr:GetAuthorizationToken",
        "ssmmessages:CreateControlChannel",
        "ssmmessages:CreateDataChannel",
        "ssmmessages:OpenControlChannel",
        "ssmmessages:OpenDataChannel",
        "cloudwatch:PutMetricData",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
        "xray:GetSamplingStatisticSummaries",
    )
)
#: Actions that hand out other credentials or data keys: only on exact ARNs.
EXACT_RESOURCE_ACTIONS = ("iam:passrole", "sts:assumerole", "kms:", "secretsmanager:")
#: AWS managed policies no keel task may carry, besides every ``...FullAccess`` one.
BROAD_MANAGED_POLICIES = ("AdministratorAccess", "PowerUserAccess", "IAMFullAccess")
STATEMENT_KEYS = frozenset({"Sid", "Effect", "Action", "Resource", "Condition"})
EGRESS_PROTOCOLS = ("tcp", "udp")

_MANAGED_POLICY_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(?P<owner>aws|\d{12}):policy/(?P<path>.+)$")
_KMS_KEY_ARN = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+$")
_PREFIX_LIST = re.compile(r"^pl-[0-9a-f]{8,17}$")


def as_list(value: Any) -> list:
    """Return an IAM ``Action`` / ``Resource`` value (a string or a list) as a list."""
    if value is None:
        return []
    if isinstance(value, Sequence) and not isinstance(value, str):
        return list(value)
    return [value]


def _exact_only(action: str) -> bool:
    return action.lower().startswith(EXACT_RESOURCE_ACTIONS)


def statement_problems(statement: Any) -> list[str]:
    """Return why an IAM policy statement grants more than its purpose needs."""
    if not isinstance(statement, Mapping):
        return ["a statement must be an object with Effect, Action and Resource"]
    problems = []
    for key in sorted(set(statement) - STATEMENT_KEYS):
        if key in ("NotAction", "NotResource"):
            problems.append(f"{key} grants everything but a list; name the actions and resources")
        else:
            problems.append(
                f"unknown statement key {key!r} (use {', '.join(sorted(STATEMENT_KEYS))})"
            )
    effect = statement.get("Effect")
    if effect not in ("Allow", "Deny"):
        problems.append(f"Effect must be Allow or Deny, not {effect!r}")
    actions = as_list(statement.get("Action"))
    resources = as_list(statement.get("Resource"))
    if not actions or not all(isinstance(action, str) and action for action in actions):
        problems.append("Action must name at least one action")
    if not resources or not all(isinstance(resource, str) and resource for resource in resources):
        problems.append("Resource must name at least one ARN")
    if problems or effect == "Deny":
        return problems
    for action in actions:
        if action == "*" or action.endswith(":*"):
            problems.append(f"Action {action!r} grants every action of a service; name the actions")
    for action in actions:
        if _exact_only(action):
            problems += [
                f"{action} on {resource!r}: name the exact ARNs, no wildcard"
                for resource in resources
                if "*" in resource
            ]
    if "*" in resources:
        broad = [action for action in actions if action.lower() not in NO_RESOURCE_LEVEL_ACTIONS]
        if broad:
            problems.append(
                f"Resource '*' for {', '.join(broad)}: name the ARNs (only actions without "
                "resource-level permissions may use '*')"
            )
    return problems


def statements_problems(statements: Iterable[Any]) -> list[str]:
    """Return the problems of every statement, each prefixed by its position."""
    return [
        f"statement {index}: {problem}"
        for index, statement in enumerate(statements)
        for problem in statement_problems(statement)
    ]


def managed_policy_problems(arn: Any) -> list[str]:
    """Return why a managed policy ARN may not be attached to a keel task role."""
    match = _MANAGED_POLICY_ARN.match(str(arn))
    if match is None:
        return [f"{arn!r} is not an IAM managed policy ARN (arn:aws:iam::<account|aws>:policy/...)"]
    name = match["path"].rsplit("/", 1)[-1]
    if match["owner"] == "aws" and (name in BROAD_MANAGED_POLICIES or name.endswith("FullAccess")):
        return [f"{arn} grants administrator or full access; attach a policy for the task's needs"]
    return []


def kms_key_problems(arn: Any) -> list[str]:
    """Return why a value is not a KMS key ARN that IAM can scope kms:Decrypt to."""
    if _KMS_KEY_ARN.match(str(arn)) is None:
        return [
            f"{arn!r} is not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>); "
            "IAM does not honour alias ARNs or wildcards in kms:Decrypt's Resource"
        ]
    return []


def egress_problems(
    *, protocol: Any, from_port: Any, to_port: Any, destinations: Sequence[Any]
) -> list[str]:
    """Return why an egress rule opens more than one service's ports."""
    problems = []
    if str(protocol) not in EGRESS_PROTOCOLS:
        problems.append(
            f"protocol {protocol!r}: egress is tcp or udp to named ports (-1 opens every protocol)"
        )
        return problems
    if not (
        isinstance(from_port, int | float)
        and isinstance(to_port, int | float)
        and 1 <= from_port <= to_port <= 65535
    ):
        return [f"ports {from_port!r}-{to_port!r} must be 1 to 65535, lowest first"]
    if from_port <= 1 and to_port >= 65535:
        problems.append("every port is open; name the service's port or range")
    for destination in destinations:
        if destination in WORLD and from_port != to_port:
            problems.append(
                f"{destination} on ports {from_port:g}-{to_port:g}: the whole internet only on one port"
            )
    return problems


def destination_problems(destination: str) -> list[str]:
    """Return why an egress destination is neither a network (CIDR) nor a prefix list."""
    if destination.startswith("pl-"):
        if _PREFIX_LIST.match(destination) is None:
            return [f"{destination!r} is not a managed prefix list id (pl-...)"]
        return []
    try:
        network = ipaddress.ip_network(destination, strict=False)
    except ValueError:
        return [f"{destination!r} is not a CIDR block or a prefix list id"]
    if str(network) != destination:
        return [f"{destination!r} has host bits set; write {network}"]
    return []
