"""The web ACL on the ALB: attached in prod with AWS's managed groups and a rate limit,
letting through what keel serves, logging to a retained ``aws-waf-logs-`` group."""

from __future__ import annotations

import pytest
from keel_infra_mocks import Deployment, deploy, dev_config, stack_file_config

from keel import constants
from keel.infra import policies
from keel.infra.operations_config import WafConfig

WEB_ACL = "aws:wafv2/webAcl:WebAcl"
ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation"
LOGGING = "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
MANAGED = {
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesAmazonIpReputationList",
}


def rules_by_name(deployment: Deployment) -> dict[str, dict]:
    (acl,) = deployment.of_type(WEB_ACL)
    return {rule["name"]: rule for rule in acl.inputs["rules"]}


def test_prod_attaches_a_regional_web_acl_to_its_alb(prod: Deployment):
    (acl,) = prod.of_type(WEB_ACL)
    (association,) = prod.of_type(ASSOCIATION)
    (alb,) = prod.of_type("aws:lb/loadBalancer:LoadBalancer")

    assert acl.inputs["scope"] == "REGIONAL"
    assert acl.inputs["defaultAction"] == {"allow": {}}
    assert association.inputs["resourceArn"] == alb.outputs["arn"]
    assert association.inputs["webAclArn"] == acl.outputs["arn"]
    assert prod.outputs["web_acl"] == "keel-prod"
    assert policies.stack_violations((r.type, r.outputs) for r in prod.custom()) == []


def test_the_managed_groups_and_the_rate_rule(prod: Deployment):
    rules = rules_by_name(prod)
    managed = {
        rule["statement"]["managedRuleGroupStatement"]["name"]: rule
        for rule in rules.values()
        if "managedRuleGroupStatement" in rule["statement"]
    }
    rate = rules["keel-rate-limit"]

    assert set(managed) == MANAGED
    for rule in managed.values():
        assert rule["overrideAction"] == {"none": {}}
        assert rule["statement"]["managedRuleGroupStatement"]["vendorName"] == "AWS"
    statement = rate["statement"]["rateBasedStatement"]
    assert (statement["limit"], statement["aggregateKeyType"]) == (2000, "IP")
    assert statement["evaluationWindowSec"] == 300
    assert rate["action"]["block"]["customResponse"]["responseCode"] == 429
    priorities = [rule["priority"] for rule in rules.values()]
    assert len(set(priorities)) == len(priorities)
    for rule in rules.values():
        assert rule["visibilityConfig"]["cloudwatchMetricsEnabled"] is True


def test_bodies_over_8_kb_and_the_invoke_api_are_not_blocked(prod: Deployment):
    common = rules_by_name(prod)["AWS-AWSManagedRulesCommonRuleSet"]["statement"][
        "managedRuleGroupStatement"
    ]
    rate = rules_by_name(prod)["keel-rate-limit"]["statement"]["rateBasedStatement"]

    assert common["ruleActionOverrides"] == [
        {"name": "SizeRestrictions_BODY", "actionToUse": {"count": {}}}
    ]
    for scoped in (common, rate):
        match = scoped["scopeDownStatement"]["notStatement"]["statement"]["byteMatchStatement"]
        assert match["searchString"] == constants.LAMBDA_INVOKE_PATH_PREFIX
        assert match["positionalConstraint"] == "STARTS_WITH"
        assert match["fieldToMatch"] == {"uriPath": {}}


def test_waf_logs_go_to_a_retained_group_with_the_prefix_waf_requires(prod: Deployment):
    groups = {group.inputs["name"]: group for group in prod.of_type(LOG_GROUP)}
    (logging,) = prod.of_type(LOGGING)
    (acl,) = prod.of_type(WEB_ACL)
    waf_group = groups["aws-waf-logs-keel-prod"]

    assert waf_group.inputs["retentionInDays"] == 90
    assert logging.inputs["logDestinationConfigs"] == [waf_group.outputs["arn"]]
    assert logging.inputs["resourceArn"] == acl.outputs["arn"]
    assert {field["singleHeader"]["name"] for field in logging.inputs["redactedFields"]} == {
        "authorization",
        "cookie",
    }
    assert prod.outputs["waf_log_group"] == "aws-waf-logs-keel-prod"
    for group in groups.values():
        assert policies.violations(LOG_GROUP, group.inputs) == []


def test_dev_has_no_web_acl_unless_it_asks(dev: Deployment, dev_file: Deployment):
    assert not dev.of_type(WEB_ACL)
    assert not dev_file.of_type(WEB_ACL)
    assert "web_acl" not in dev.outputs

    asked = deploy(dev_config(waf=WafConfig(enabled=True, count_rules=["CrossSiteScripting_BODY"])))
    (association,) = asked.of_type(ASSOCIATION)
    common = rules_by_name(asked)["AWS-AWSManagedRulesCommonRuleSet"]
    overrides = common["statement"]["managedRuleGroupStatement"]["ruleActionOverrides"]
    assert [override["name"] for override in overrides] == [
        "SizeRestrictions_BODY",
        "CrossSiteScripting_BODY",
    ]
    assert association.inputs["resourceArn"].endswith("loadbalancer/app/keel-dev/0123")


def test_other_stacks_get_it_by_default_and_prod_cannot_turn_it_off():
    assert dev_config(stack="staging").waf_enabled is True
    with pytest.raises(ValueError, match="keeps its web ACL"):
        stack_file_config("prod").replace(waf=WafConfig(enabled=False)).check()


@pytest.mark.parametrize(
    ("waf", "message"),
    [
        (WafConfig(rate_limit=5), "rateLimit must be"),
        (WafConfig(count_rules=["no such rule!"]), "not a rule name"),
    ],
)
def test_bad_waf_config_is_refused(waf: WafConfig, message: str):
    with pytest.raises(ValueError, match=message):
        dev_config(waf=waf)


def test_the_prod_policy_reports_the_prod_stack_without_its_web_acl(prod: Deployment):
    without = [(r.type, r.outputs) for r in prod.custom() if not r.type.startswith("aws:wafv2")]

    assert policies.stack_violations(without) == [
        ("keel-waf-on-prod", "load balancer keel-prod has no web ACL")
    ]
