"""What a keel policy rule is, and how rules read a resource as the engine sees it.

A rule is a function from a resource's properties (camelCase, as the engine carries
them: ``deletionProtection``, ``containerDefinitions``) to the messages of what it
breaks. The same functions run in ``pulumi preview --policy-pack infra/policy`` and in
the mock tests, over every resource the program registers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_policy import EnforcementLevel

from keel.infra.least_privilege import as_list

SERVICE = "aws:ecs/service:Service"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
RDS_INSTANCE = "aws:rds/instance:Instance"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
SECURITY_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS_RULE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
POLICY = "aws:iam/policy:Policy"
POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
LISTENER_RULE = "aws:lb/listenerRule:ListenerRule"
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
LOAD_BALANCER = "aws:lb/loadBalancer:LoadBalancer"
WEB_ACL = "aws:wafv2/webAcl:WebAcl"
WEB_ACL_ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation"


@dataclass(frozen=True, kw_only=True)
class Options:
    """The resource options a rule may look at."""

    protect: bool = False


Check = Callable[[Mapping[str, Any], Options], Iterable[str]]
#: A stack-wide check: (type, properties) of every resource -> messages.
StackCheck = Callable[[Iterable[tuple[str, Mapping[str, Any]]]], list[str]]


@dataclass(frozen=True, kw_only=True)
class Rule:
    """One policy over resources of some types."""

    name: str
    description: str
    resource_types: tuple[str, ...]
    check: Check
    enforcement: EnforcementLevel = EnforcementLevel.MANDATORY

    def violations(self, resource_type: str, props: Mapping[str, Any], options: Options) -> list:
        if resource_type not in self.resource_types:
            return []
        return list(self.check(props, options))


@dataclass(frozen=True, kw_only=True)
class StackRule:
    """One policy over the whole stack (relations between resources)."""

    name: str
    description: str
    check: StackCheck
    enforcement: EnforcementLevel = EnforcementLevel.MANDATORY


def get(props: Mapping[str, Any], *path: str) -> Any:
    """Return a nested property, or None where any step of the path is missing."""
    value: Any = props
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def containers(props: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Return a task definition's containers (the engine carries them as a JSON string)."""
    definitions = props.get("containerDefinitions")
    if isinstance(definitions, str):
        return json.loads(definitions)
    return list(definitions or [])


def statements(props: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Return an IAM policy resource's statements (a document as a string or a mapping)."""
    document = props.get("policy")
    if isinstance(document, str):
        document = json.loads(document)
    found = (document or {}).get("Statement") or []
    return [found] if isinstance(found, Mapping) else list(found)


def reads_secrets(statement: Mapping[str, Any]) -> bool:
    """Return whether a statement lets its role read secret values."""
    actions = as_list(statement.get("Action"))
    return statement.get("Effect") == "Allow" and any(
        action in ("*", "secretsmanager:*", "secretsmanager:GetSecretValue") for action in actions
    )
