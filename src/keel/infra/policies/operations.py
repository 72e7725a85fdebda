"""Policies for what watches and shields the stack: its alarms and its web ACL.

Every alarm notifies someone and says where its runbook is; the ``prod`` stack's ALB
has a web ACL with AWS's managed rule groups and a rate limit, and no web ACL of the
stack blocks what keel serves (bodies over 8 KB, the Invoke API; docs/adr/0009).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from keel import constants
from keel.infra.operations_config import BODY_SIZE_RULE, WAF_REQUIRED_STACKS
from keel.infra.policies.rules import LOAD_BALANCER, WEB_ACL, WEB_ACL_ASSOCIATION, Options, get
from keel.infra.waf import COMMON_RULE_SET, MANAGED_GROUPS

Resources = Iterable[tuple[str, Mapping[str, Any]]]
RUNBOOK_MARK = "Runbook: https://"


def alarm_is_actionable(props: Mapping[str, Any], options: Options) -> Iterator[str]:
    """An alarm notifies a topic when it fires and links the runbook entry to follow."""
    if not props.get("alarmActions") or props.get("actionsEnabled") is False:
        yield "the alarm notifies no one: give it alarm actions (the stack's alarm topic)"
    description = str(props.get("alarmDescription") or "")
    if RUNBOOK_MARK not in description or ".md#" not in description:
        yield (
            "the alarm's description links no runbook entry "
            "('Runbook: https://.../operations.md#<entry>')"
        )


def _managed_groups(props: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {
        statement["name"]: statement
        for rule in props.get("rules") or []
        if (statement := get(rule, "statement", "managedRuleGroupStatement"))
    }


def _rate_rules(props: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [
        rule
        for rule in props.get("rules") or []
        if get(rule, "statement", "rateBasedStatement") is not None
    ]


def _spares_the_invoke_api(scope_down: Any) -> bool:
    match = get(scope_down or {}, "notStatement", "statement", "byteMatchStatement") or {}
    return (
        match.get("positionalConstraint") == "STARTS_WITH"
        and match.get("searchString") == constants.LAMBDA_INVOKE_PATH_PREFIX
        and "uriPath" in (match.get("fieldToMatch") or {})
    )


def web_acl_lets_keel_through(props: Mapping[str, Any], options: Options) -> Iterator[str]:
    """The common rule set counts bodies over 8 KB and leaves the Invoke API alone."""
    common = _managed_groups(props).get(COMMON_RULE_SET)
    if common is not None:
        counted = {
            override.get("name")
            for override in common.get("ruleActionOverrides") or []
            if "count" in (override.get("actionToUse") or {})
        }
        if BODY_SIZE_RULE not in counted:
            yield (
                f"{COMMON_RULE_SET} blocks every body over 8 KB; keel's API takes 1 MiB: "
                f"override {BODY_SIZE_RULE} to Count"
            )
        if not _spares_the_invoke_api(common.get("scopeDownStatement")):
            yield (
                f"{COMMON_RULE_SET} inspects the Invoke API's Lambda payloads; scope it down "
                f"to requests outside {constants.LAMBDA_INVOKE_PATH_PREFIX}"
            )
    for rule in _rate_rules(props):
        scope_down = get(rule, "statement", "rateBasedStatement", "scopeDownStatement")
        if not _spares_the_invoke_api(scope_down):
            yield (
                f"rate rule {rule.get('name')} counts the Invoke API's callers, who arrive "
                "from a few addresses at Lambda's volume; scope it down"
            )


def waf_guards_prod(resources: Resources) -> list[str]:
    """Every load balancer of a ``prod`` stack has a web ACL with the managed groups and a
    rate-based rule."""
    resources = list(resources)
    acls = {str(props.get("arn")): props for kind, props in resources if kind == WEB_ACL}
    guarded = {
        str(props.get("resourceArn")): acls.get(str(props.get("webAclArn")))
        for kind, props in resources
        if kind == WEB_ACL_ASSOCIATION
    }
    messages = []
    for kind, props in resources:
        if kind != LOAD_BALANCER or (props.get("tags") or {}).get("keel:stack") not in (
            WAF_REQUIRED_STACKS
        ):
            continue
        name = props.get("name")
        acl = guarded.get(str(props.get("arn")))
        if acl is None:
            messages.append(f"load balancer {name} has no web ACL")
            continue
        missing = sorted(set(MANAGED_GROUPS) - set(_managed_groups(acl)))
        if missing:
            messages.append(f"load balancer {name}'s web ACL lacks {', '.join(missing)}")
        if not _rate_rules(acl):
            messages.append(f"load balancer {name}'s web ACL has no rate-based rule")
    return messages
