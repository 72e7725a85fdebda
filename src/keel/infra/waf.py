"""The WAFv2 web ACL in front of keel's ALB, and its logs.

What it lets through, and why (docs/adr/0009-operations.md):

- The ALB's health checks go from the load balancer straight to the targets, not
  through the web ACL, which inspects the requests clients send the ALB; ``/healthz``
  needs nothing here.
- ALB forwards at most the first 8 KB of a body to WAF ("Managing body inspection size
  limits", fixed for Application Load Balancer), and the core rule set's
  ``SizeRestrictions_BODY`` blocks every body over 8 KB. keel's API takes bodies up to
  1 MiB (MAX_REQUEST_BODY_BYTES) and the Invoke API Lambda's 6 MB, so that rule counts
  instead (a rule action override; the rest of the group still blocks). keel itself
  refuses an oversized body with 413 before reading it.
- The Invoke API (``/2015-03-31/functions/``) carries Lambda payloads, arbitrary JSON
  from services that used to call ``lambda.invoke``, signed with SigV4: the common rule
  set's body rules (cross-site scripting, file inclusion) would block payloads that
  merely contain such text. A scope-down statement keeps the common rule set and the
  rate limit off that path; the IP reputation list and the known-bad-inputs group
  still apply.
- Event streams are long-lived GETs: the web ACL inspects the request once, before the
  ALB forwards it, and never the response, so a stream open for an hour is one request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from keel import constants
from keel.infra.operations_config import WafConfig

#: WAF delivers only to destinations named so.
LOG_GROUP_PREFIX = "aws-waf-logs-"
#: AWS managed rule groups, in evaluation order after the IP reputation list.
IP_REPUTATION = "AWSManagedRulesAmazonIpReputationList"
COMMON_RULE_SET = "AWSManagedRulesCommonRuleSet"
KNOWN_BAD_INPUTS = "AWSManagedRulesKnownBadInputsRuleSet"
MANAGED_GROUPS = (IP_REPUTATION, COMMON_RULE_SET, KNOWN_BAD_INPUTS)
RATE_RULE = "keel-rate-limit"
#: The rate limit's window: WAF counts each address's requests over 5 minutes.
RATE_WINDOW_SECONDS = 300
#: Headers WAF's logs never show: API tokens and session cookies.
REDACTED_HEADERS = ("authorization", "cookie")
_RATE_LIMITED_BODY = "rate-limited"
#: What the web ACL does with a request no rule blocked.
ALLOW: Any = {"allow": {}}
#: The rate limit's answer: 429 with keel's error shape, not WAF's bare 403.
RATE_LIMITED_BODIES: Any = [
    {
        "key": _RATE_LIMITED_BODY,
        "content_type": "APPLICATION_JSON",
        "content": '{"error": "too_many_requests", "detail": "Too many requests from this '
        f'address; retry after {RATE_WINDOW_SECONDS} seconds."}}',
    }
]


@dataclass(frozen=True, kw_only=True)
class WebFirewallArgs:
    prefix: str
    load_balancer_arn: pulumi.Input[str]
    config: WafConfig
    log_retention_days: int
    tags: Mapping[str, str]


def _not_invoke_api() -> dict[str, Any]:
    """Return a scope-down statement matching every request but the Invoke API's."""
    return {
        "not_statement": {
            "statement": {
                "byte_match_statement": {
                    "positional_constraint": "STARTS_WITH",
                    "search_string": constants.LAMBDA_INVOKE_PATH_PREFIX,
                    "field_to_match": {"uri_path": {}},
                    "text_transformations": [{"priority": 0, "type": "NONE"}],
                }
            }
        }
    }


def _visibility(metric_name: str) -> Any:
    return {
        "cloudwatch_metrics_enabled": True,
        "metric_name": metric_name,
        "sampled_requests_enabled": True,
    }


def _managed(name: str, priority: int, **statement: Any) -> dict[str, Any]:
    return {
        "name": f"AWS-{name}",
        "priority": priority,
        "override_action": {"none": {}},
        "statement": {
            "managed_rule_group_statement": {"vendor_name": "AWS", "name": name, **statement}
        },
        "visibility_config": _visibility(f"AWS-{name}"),
    }


def rules(config: WafConfig) -> list[Any]:
    """Return the web ACL's rules: reputation, rate limit, common rule set, bad inputs."""
    return [
        _managed(IP_REPUTATION, 10),
        {
            "name": RATE_RULE,
            "priority": 20,
            "action": {
                "block": {
                    "custom_response": {
                        "response_code": 429,
                        "custom_response_body_key": _RATE_LIMITED_BODY,
                        "response_headers": [
                            {"name": "Retry-After", "value": str(RATE_WINDOW_SECONDS)}
                        ],
                    }
                }
            },
            "statement": {
                "rate_based_statement": {
                    "limit": config.rate_limit,
                    "aggregate_key_type": "IP",
                    "evaluation_window_sec": RATE_WINDOW_SECONDS,
                    "scope_down_statement": _not_invoke_api(),
                }
            },
            "visibility_config": _visibility(RATE_RULE),
        },
        _managed(
            COMMON_RULE_SET,
            30,
            rule_action_overrides=[
                {"name": rule, "action_to_use": {"count": {}}} for rule in config.counted_rules
            ],
            scope_down_statement=_not_invoke_api(),
        ),
        _managed(KNOWN_BAD_INPUTS, 40),
    ]


class WebFirewall(pulumi.ComponentResource):
    """A regional web ACL on the ALB, its association, and a log group with retention.

    WAF creates the log group's resource policy for ``delivery.logs.amazonaws.com``
    itself when logging is turned on (PutLoggingConfiguration), so whoever runs
    ``pulumi up`` needs ``logs:PutResourcePolicy`` and ``logs:DescribeResourcePolicies``.
    Only requests a rule blocked or counted are logged: those are what tuning needs.
    """

    web_acl: aws.wafv2.WebAcl
    log_group: aws.cloudwatch.LogGroup
    name: pulumi.Output[str]

    def __init__(
        self, name: str, args: WebFirewallArgs, opts: pulumi.ResourceOptions | None = None
    ):
        if not 1 <= args.log_retention_days <= 3653:
            raise ValueError("web firewall: log_retention_days must be 1 to 3653")
        args.config.check("")
        super().__init__("keel:aws:WebFirewall", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        self.web_acl = aws.wafv2.WebAcl(
            "web-acl",
            name=args.prefix,
            description=f"keel {args.prefix}: AWS managed rules and a rate limit on the ALB",
            scope="REGIONAL",
            default_action=ALLOW,
            rules=rules(args.config),
            custom_response_bodies=RATE_LIMITED_BODIES,
            visibility_config=_visibility(args.prefix),
            tags=tags,
            opts=child,
        )
        aws.wafv2.WebAclAssociation(
            "alb",
            resource_arn=args.load_balancer_arn,
            web_acl_arn=self.web_acl.arn,
            opts=child,
        )
        self.log_group = aws.cloudwatch.LogGroup(
            "waf-logs",
            name=f"{LOG_GROUP_PREFIX}{args.prefix}",
            retention_in_days=args.log_retention_days,
            tags=tags,
            opts=child,
        )
        aws.wafv2.WebAclLoggingConfiguration(
            "logging",
            resource_arn=self.web_acl.arn,
            log_destination_configs=[self.log_group.arn],
            redacted_fields=[{"single_header": {"name": header}} for header in REDACTED_HEADERS],
            logging_filter={
                "default_behavior": "DROP",
                "filters": [
                    {
                        "behavior": "KEEP",
                        "requirement": "MEETS_ANY",
                        "conditions": [
                            {"action_condition": {"action": action}}
                            for action in ("BLOCK", "COUNT")
                        ],
                    }
                ],
            },
            opts=child,
        )
        self.name = self.web_acl.name
        self.register_outputs({"name": self.name, "log_group": self.log_group.name})
