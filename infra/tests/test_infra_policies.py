"""keel's policy pack: each policy passes one resource and reports a violating one.

The policies are called as ``pulumi preview --policy-pack`` would call them, through
their ``validate`` with pulumi_policy's own argument types. The program's own resources
must pass them all.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from keel_infra_mocks import ACCOUNT, Deployment, deploy, dev_config, web_config
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from keel import constants
from keel.infra import policies
from keel.infra.config import DeploymentConfig
from keel.infra.policies import rules

SECRET = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:keel-dev/key-AbCdEf"


def options(*, protect: bool = False) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=protect,
        ignore_changes=[],
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
    )


POLICIES = {policy.name: policy for policy in policies.policies()}


def run_policy(name: str, resource_type: str, props: dict, *, protect: bool = False) -> list[str]:
    policy = POLICIES[name]
    assert isinstance(policy, ResourceValidationPolicy)
    reported: list[str] = []
    args = ResourceValidationArgs(
        resource_type=resource_type,
        props=props,
        urn=f"urn:pulumi:dev::keel::{resource_type}::example",
        name="example",
        opts=options(protect=protect),
        provider=None,
    )
    policy.validate(args, lambda message, urn=None: reported.append(message))
    return reported


def container(**changes: Any) -> dict:
    definition = {
        "name": "web",
        "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/keel-dev:1",
        "command": ["web"],
        "stopTimeout": constants.STOP_TIMEOUT,
        "environment": [{"name": "DEBUG", "value": "false"}],
        "secrets": [{"name": "SECRET_KEY", "valueFrom": SECRET}],
    }
    definition.update(changes)
    return {"family": "keel-dev-web", "containerDefinitions": json.dumps([definition])}


def good_service() -> dict:
    return {
        "networkConfiguration": {"subnets": ["subnet-1"], "assignPublicIp": False},
        "deploymentCircuitBreaker": {"enable": True, "rollback": True},
        "loadBalancers": [
            {
                "targetGroupArn": "tg-a",
                "containerPort": constants.PORT,
                "advancedConfiguration": {
                    "alternateTargetGroupArn": "tg-b",
                    "productionListenerRule": "rule",
                    "roleArn": "role",
                },
            }
        ],
        "deploymentConfiguration": {"strategy": "CANARY"},
        "alarms": {"alarmNames": ["keel-dev-web-5xx-rate"], "enable": True, "rollback": True},
    }


def good_target_group() -> dict:
    return {
        "port": constants.PORT,
        "deregistrationDelay": constants.DEREGISTRATION_DELAY,
        "healthCheck": {
            "path": constants.HEALTH_PATH,
            "port": str(constants.PORT),
            "interval": constants.HEALTH_CHECK_INTERVAL,
            "timeout": constants.HEALTH_CHECK_TIMEOUT,
            "healthyThreshold": constants.HEALTH_CHECK_HEALTHY_THRESHOLD,
            "unhealthyThreshold": constants.HEALTH_CHECK_UNHEALTHY_THRESHOLD,
            "matcher": constants.HEALTH_CHECK_MATCHER,
        },
    }


def good_database() -> dict:
    return {
        "storageEncrypted": True,
        "publiclyAccessible": False,
        "deletionProtection": True,
        "backupRetentionPeriod": 7,
        "manageMasterUserPassword": True,
    }


def with_change(props: dict, path: tuple, value: Any) -> dict:
    changed = copy.deepcopy(props)
    target = changed
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return changed


def task_with_tmp(**changes: Any) -> dict:
    """A task definition whose container mounts /tmp from the task's volume."""
    mounts = [{"sourceVolume": "tmp", "containerPath": "/tmp", "readOnly": False}]  # noqa: S108
    return {**container(mountPoints=mounts, **changes), "volumes": [{"name": "tmp"}]}


def policy_document(*statements: dict) -> dict:
    return {"name": "keel-task", "policy": json.dumps({"Statement": list(statements)})}


def egress_rule(**props: Any) -> dict:
    return {"securityGroupId": "sg-worker", **props}


def cutover_rule(*weights: Any, **tags: str) -> dict:
    """A cutover route's rule forwarding to a Lambda and a keel target group."""
    arns = ["arn:tg/keel-dev-orders-fn", "arn:tg/keel-dev-orders-keel", "arn:tg/third"]
    return {
        "arn": "arn:rule/orders",
        "actions": [
            {
                "type": "forward",
                "forward": {
                    "targetGroups": [
                        {"arn": arn, "weight": weight}
                        for arn, weight in zip(arns, weights, strict=False)
                    ]
                },
            }
        ],
        "tags": {"keel:cutover-route": "orders", **tags},
    }


def metric_alarm(**changes: Any) -> dict:
    props = {
        "name": "keel-dev-backlog",
        "alarmActions": ["arn:aws:sns:eu-west-1:123456789012:keel-dev-alarms"],
        "alarmDescription": "keel: work is piling up. Runbook: "
        "https://docs.example.com/keel/operations.md#alarm-work-is-piling-up",
    }
    return {**props, **changes}


INVOKE_API_SPARED = {
    "notStatement": {
        "statement": {
            "byteMatchStatement": {
                "positionalConstraint": "STARTS_WITH",
                "searchString": constants.LAMBDA_INVOKE_PATH_PREFIX,
                "fieldToMatch": {"uriPath": {}},
                "textTransformations": [{"priority": 0, "type": "NONE"}],
            }
        }
    }
}


def web_acl(*, counted: tuple[str, ...] = ("SizeRestrictions_BODY",), **changes: Any) -> dict:
    """A web ACL as the engine carries it: the three managed groups and the rate rule."""

    def managed(name: str, **statement: Any) -> dict:
        return {
            "name": f"AWS-{name}",
            "overrideAction": {"none": {}},
            "statement": {
                "managedRuleGroupStatement": {"vendorName": "AWS", "name": name, **statement}
            },
        }

    props = {
        "arn": "arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/keel-prod/1",
        "rules": [
            managed("AWSManagedRulesAmazonIpReputationList"),
            {
                "name": "keel-rate-limit",
                "statement": {
                    "rateBasedStatement": {
                        "limit": 2000,
                        "aggregateKeyType": "IP",
                        "scopeDownStatement": INVOKE_API_SPARED,
                    }
                },
            },
            managed(
                "AWSManagedRulesCommonRuleSet",
                ruleActionOverrides=[
                    {"name": rule, "actionToUse": {"count": {}}} for rule in counted
                ],
                scopeDownStatement=INVOKE_API_SPARED,
            ),
            managed("AWSManagedRulesKnownBadInputsRuleSet"),
        ],
    }
    return {**props, **changes}


SERVICE = rules.SERVICE
CASES = [
    # (policy, type, passing props, violating props)
    (
        "keel-ecs-service-private",
        SERVICE,
        good_service(),
        with_change(good_service(), ("networkConfiguration", "assignPublicIp"), True),
    ),
    (
        "keel-ecs-circuit-breaker",
        SERVICE,
        good_service(),
        with_change(good_service(), ("deploymentCircuitBreaker", "rollback"), False),
    ),
    (
        "keel-ecs-alarm-rollback",
        SERVICE,
        good_service(),
        with_change(good_service(), ("alarms", "rollback"), False),
    ),
    (
        "keel-ecs-gradual-deployment",
        SERVICE,
        good_service(),
        with_change(good_service(), ("deploymentConfiguration", "strategy"), "ROLLING"),
    ),
    (
        "keel-secrets-through-secrets",
        rules.TASK_DEFINITION,
        container(),
        container(environment=[{"name": "DATABASE_PASSWORD", "value": "hunter2"}]),
    ),
    (
        "keel-stop-timeout",
        rules.TASK_DEFINITION,
        container(),
        container(stopTimeout=constants.WEB_GRACEFUL_TIMEOUT),
    ),
    (
        "keel-target-group-health-check",
        rules.TARGET_GROUP,
        good_target_group(),
        with_change(good_target_group(), ("healthCheck", "path"), "/"),
    ),
    (
        "keel-no-world-ingress",
        rules.INGRESS_RULE,
        {"ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "cidrIpv4": "0.0.0.0/0"},
        {"ipProtocol": "tcp", "fromPort": 8000, "toPort": 8000, "cidrIpv4": "0.0.0.0/0"},
    ),
    (
        "keel-database-protected",
        rules.RDS_INSTANCE,
        good_database(),
        with_change(good_database(), ("storageEncrypted",), False),
    ),
    (
        "keel-log-retention",
        rules.LOG_GROUP,
        {"name": "/keel/keel-dev/web", "retentionInDays": 30},
        {"name": "/keel/keel-dev/web"},
    ),
    (
        "keel-secret-access-by-arn",
        rules.ROLE_POLICY,
        {
            "policy": json.dumps(
                {
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": "secretsmanager:GetSecretValue",
                            "Resource": [SECRET],
                        }
                    ]
                }
            )
        },
        {
            "policy": json.dumps(
                {"Statement": [{"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"}]}
            )
        },
    ),
    (
        "keel-read-only-root-filesystem",
        rules.TASK_DEFINITION,
        task_with_tmp(readonlyRootFilesystem=True),
        task_with_tmp(readonlyRootFilesystem=False),
    ),
    (
        "keel-iam-least-privilege",
        rules.ROLE_POLICY,
        policy_document(
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::uploads/*"}
        ),
        policy_document({"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::uploads"}),
    ),
    (
        "keel-egress-scoped",
        rules.EGRESS_RULE,
        egress_rule(ipProtocol="tcp", fromPort=6379, toPort=6379, cidrIpv4="10.1.0.0/24"),
        egress_rule(ipProtocol="-1", fromPort=0, toPort=0, cidrIpv4="0.0.0.0/0"),
    ),
    (
        "keel-no-broad-managed-policies",
        rules.POLICY_ATTACHMENT,
        {"role": "keel-dev-worker-task", "policyArn": f"arn:aws:iam::{ACCOUNT}:policy/orders"},
        {
            "role": "keel-dev-worker-task",
            "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess",
        },
    ),
    (
        "keel-cutover-weights",
        rules.LISTENER_RULE,
        cutover_rule(95, 5),
        cutover_rule(-5, 105),
    ),
    (
        "keel-alarm-actionable",
        rules.METRIC_ALARM,
        metric_alarm(),
        metric_alarm(alarmActions=[]),
    ),
    (
        "keel-waf-lets-keel-through",
        rules.WEB_ACL,
        web_acl(),
        web_acl(counted=()),
    ),
]


def test_every_policy_has_a_case():
    resource_policies = {
        name for name, policy in POLICIES.items() if isinstance(policy, ResourceValidationPolicy)
    }

    assert {case[0] for case in CASES} == resource_policies


@pytest.mark.parametrize(("name", "resource_type", "passing", "violating"), CASES)
def test_policy_passes_a_good_resource_and_reports_a_bad_one(
    name: str, resource_type: str, passing: dict, violating: dict
):
    protect = resource_type == rules.RDS_INSTANCE

    assert run_policy(name, resource_type, passing, protect=protect) == []
    assert run_policy(name, resource_type, violating, protect=protect) != []


def test_policies_ignore_other_resource_types():
    assert run_policy("keel-log-retention", rules.TARGET_GROUP, {}) == []


def test_database_policy_requires_protect():
    assert run_policy("keel-database-protected", rules.RDS_INSTANCE, good_database()) == [
        "the database resource must be protected (protect=True)"
    ]


@pytest.mark.parametrize(
    "rule",
    [
        {"cidrBlocks": ["0.0.0.0/0"], "protocol": "tcp", "fromPort": 0, "toPort": 65535},
        {"ipv6CidrBlocks": ["::/0"], "protocol": "-1", "fromPort": 0, "toPort": 0},
    ],
)
def test_world_ingress_policy_reads_inline_security_group_rules(rule: dict):
    props = {"ingress": [rule]}

    assert run_policy("keel-no-world-ingress", rules.SECURITY_GROUP, props) != []
    assert run_policy("keel-no-world-ingress", rules.SECURITY_GROUP, {"ingress": []}) == []


def test_secrets_policy_reports_a_database_url_with_credentials():
    bad = container(environment=[{"name": "DB", "value": "postgres://keel:pw@db:5432/keel"}])

    assert run_policy("keel-secrets-through-secrets", rules.TASK_DEFINITION, bad) != []


def policy_resource(resource_type: str, props: dict) -> PolicyResource:
    return PolicyResource(
        resource_type=resource_type,
        props=props,
        urn=f"urn:pulumi:dev::keel::{resource_type}::example",
        name="example",
        opts=options(),
        provider=None,
        parent=None,
        dependencies=[],
        property_dependencies={},
    )


def run_stack_policy(resources: list[PolicyResource]) -> list[str]:
    policy = POLICIES["keel-execution-role-reads-injected-secrets"]
    assert isinstance(policy, StackValidationPolicy)
    reported: list[str] = []
    policy.validate(
        StackValidationArgs(resources), lambda message, urn=None: reported.append(message)
    )
    return reported


def role_policy(*arns: str) -> dict:
    statement = {
        "Effect": "Allow",
        "Action": "secretsmanager:GetSecretValue",
        "Resource": list(arns),
    }
    return {"name": "keel-execution", "policy": json.dumps({"Statement": [statement]})}


def test_stack_policy_passes_when_roles_read_exactly_the_injected_secrets():
    task = container(secrets=[{"name": "OPENAI_API_KEY", "valueFrom": f"{SECRET}:openai::"}])

    assert (
        run_stack_policy(
            [
                policy_resource(rules.TASK_DEFINITION, task),
                policy_resource(rules.ROLE_POLICY, role_policy(SECRET)),
            ]
        )
        == []
    )


def test_stack_policy_reports_a_secret_readable_but_never_injected():
    other = SECRET.replace("key-AbCdEf", "other-AbCdEf")

    assert run_stack_policy(
        [
            policy_resource(rules.TASK_DEFINITION, container()),
            policy_resource(rules.ROLE_POLICY, role_policy(SECRET, other)),
        ]
    ) == [f"{other} may be read but is never injected"]


@pytest.mark.parametrize("name", ["dev", "prod", "dev_file", "cutover"])
def test_every_resource_the_program_registers_passes_every_policy(name: str, request):
    deployment: Deployment = request.getfixturevalue(name)

    found = [
        (resource.type, resource.name, violation)
        for resource in deployment.custom()
        for violation in policies.violations(
            resource.type, resource.inputs, policies.Options(protect=resource.protect)
        )
    ]
    assert found == []


@pytest.mark.parametrize("strategy", ["LINEAR", "BLUE_GREEN"])
def test_other_gradual_strategies_pass_every_policy(strategy: str):
    deployment = deploy(dev_config(web=web_config(deployment=DeploymentConfig(strategy=strategy))))

    assert [
        violation
        for resource in deployment.custom()
        for violation in policies.violations(
            resource.type, resource.inputs, policies.Options(protect=resource.protect)
        )
    ] == []


def test_rolling_is_reported_only_as_advisory():
    deployment = deploy(dev_config(web=web_config(deployment=DeploymentConfig(strategy="ROLLING"))))

    found = {
        rule
        for resource in deployment.custom()
        for rule, _ in policies.violations(
            resource.type, resource.inputs, policies.Options(protect=resource.protect)
        )
    }
    assert found == {"keel-ecs-gradual-deployment"}
    assert POLICIES["keel-ecs-gradual-deployment"].enforcement_level.value == "advisory"


@pytest.mark.parametrize("name", ["dev", "prod", "dev_file", "cutover"])
def test_the_program_passes_every_stack_wide_policy(name: str, request):
    deployment: Deployment = request.getfixturevalue(name)

    # As `pulumi preview --policy-pack` gives a stack policy: each resource's outputs.
    assert policies.stack_violations((r.type, r.outputs) for r in deployment.custom()) == []


@pytest.mark.parametrize(
    "statement",
    [
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
        {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"},
        {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"},
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "arn:aws:kms:eu-west-1:1:key/*"},
        {"Effect": "Allow", "NotAction": "s3:DeleteObject", "Resource": "arn:aws:s3:::b/*"},
    ],
)
def test_least_privilege_policy_reports_wildcards(statement: dict):
    assert run_policy("keel-iam-least-privilege", rules.ROLE_POLICY, policy_document(statement))


def test_least_privilege_policy_allows_star_only_without_resource_level_permissions():
    exec_and_token = policy_document(
        {"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        {"Effect": "Allow", "Action": ["ssmmessages:OpenDataChannel"], "Resource": "*"},
    )

    assert run_policy("keel-iam-least-privilege", rules.ROLE_POLICY, exec_and_token) == []


@pytest.mark.parametrize(
    ("props", "reported"),
    [
        (egress_rule(ipProtocol="tcp", fromPort=587, toPort=587, cidrIpv4="0.0.0.0/0"), False),
        (egress_rule(ipProtocol="tcp", fromPort=1, toPort=65535, cidrIpv4="10.0.0.0/8"), True),
        (egress_rule(ipProtocol="udp", fromPort=500, toPort=4500, cidrIpv6="::/0"), True),
        (egress_rule(ipProtocol="tcp", fromPort=5432, toPort=5432), False),
        ({"egress": [{"protocol": "-1", "fromPort": 0, "toPort": 0}]}, True),
        ({"securityGroupId": "sg-1", "type": "ingress", "protocol": "-1"}, False),
    ],
)
def test_egress_policy_reads_every_rule_shape(props: dict, reported: bool):
    resource_type = rules.SECURITY_GROUP if "egress" in props else rules.EGRESS_RULE
    if props.get("type"):
        resource_type = rules.SECURITY_GROUP_RULE

    assert bool(run_policy("keel-egress-scoped", resource_type, props)) is reported


def test_read_only_policy_allows_a_writable_root_only_when_tagged_for_ecs_exec():
    writable = task_with_tmp(readonlyRootFilesystem=False)
    tagged = {**writable, "tags": {"keel:ecs-exec": "enabled"}}
    unmounted = {**task_with_tmp(readonlyRootFilesystem=True), "volumes": []}

    assert run_policy("keel-read-only-root-filesystem", rules.TASK_DEFINITION, tagged) == []
    assert run_policy("keel-read-only-root-filesystem", rules.TASK_DEFINITION, unmounted) == [
        "container web: mount /tmp has no volume"
    ]


def run_stack_rule(name: str, resources: list[PolicyResource]) -> list[str]:
    policy = POLICIES[name]
    assert isinstance(policy, StackValidationPolicy)
    reported: list[str] = []
    policy.validate(
        StackValidationArgs(resources), lambda message, urn=None: reported.append(message)
    )
    return reported


def test_every_stack_policy_has_a_case():
    stack_policies = {
        name for name, policy in POLICIES.items() if isinstance(policy, StackValidationPolicy)
    }

    assert stack_policies == {
        "keel-execution-role-reads-injected-secrets",
        "keel-spot-runs-x86",
        "keel-waf-on-prod",
        "keel-cutover-route-alarmed",
        "keel-cutover-apart-from-production",
    }


@pytest.mark.parametrize(("architecture", "reported"), [("X86_64", False), ("ARM64", True)])
def test_spot_policy_refuses_arm64_task_definitions_beside_spot_services(
    architecture: str, reported: bool
):
    task = {"family": "keel-dev-worker", "runtimePlatform": {"cpuArchitecture": architecture}}
    worker = {
        "name": "keel-dev-worker",
        "capacityProviderStrategies": [
            {"capacityProvider": "FARGATE", "base": 1, "weight": 50},
            {"capacityProvider": "FARGATE_SPOT", "weight": 50},
        ],
    }
    found = run_stack_rule(
        "keel-spot-runs-x86",
        [policy_resource(rules.TASK_DEFINITION, task), policy_resource(rules.SERVICE, worker)],
    )

    assert bool(found) is reported


# ---- Cutover routes -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("weights", "reported"),
    [
        ((100, 0), []),
        ((0, 100), []),
        ((50.0, 50.0), []),
        (
            (101, -1),
            [
                "weight 101 is not a whole percentage from 0 to 100",
                "weight -1 is not a whole percentage from 0 to 100",
            ],
        ),
        ((90, 5), ["the weights add up to 95, not 100 %"]),
        ((50, 50, 0), ["a cutover rule forwards to two target groups (Lambda, keel), not 3"]),
        (
            (99.5, 0.5),
            [
                "weight 99.5 is not a whole percentage from 0 to 100",
                "weight 0.5 is not a whole percentage from 0 to 100",
            ],
        ),
    ],
)
def test_cutover_weights_are_whole_percentages_adding_up_to_100(weights: tuple, reported: list):
    assert (
        run_policy("keel-cutover-weights", rules.LISTENER_RULE, cutover_rule(*weights)) == reported
    )


def test_the_weights_policy_leaves_other_rules_alone():
    production = {**cutover_rule(300, 700), "tags": {"keel:listener-rule": "production"}}

    assert run_policy("keel-cutover-weights", rules.LISTENER_RULE, production) == []


def alarm(route: str) -> dict:
    return {"name": f"keel-dev-cutover-{route}-5xx-rate", "tags": {"keel:cutover-route": route}}


def test_the_alarm_policy_passes_a_route_with_an_alarm_and_reports_one_without():
    passing = [
        policy_resource(rules.LISTENER_RULE, cutover_rule(100, 0)),
        policy_resource(rules.METRIC_ALARM, alarm("orders")),
    ]
    violating = [
        policy_resource(rules.LISTENER_RULE, cutover_rule(100, 0)),
        policy_resource(rules.METRIC_ALARM, alarm("reports")),
    ]

    assert run_stack_rule("keel-cutover-route-alarmed", passing) == []
    assert run_stack_rule("keel-cutover-route-alarmed", violating) == [
        "cutover route orders has no alarm tagged keel:cutover-route=orders"
    ]


def web_service(production_rule: str) -> dict:
    return {
        **good_service(),
        "loadBalancers": [
            {
                "targetGroupArn": "arn:tg/web-a",
                "advancedConfiguration": {
                    "alternateTargetGroupArn": "arn:tg/web-b",
                    "productionListenerRule": production_rule,
                    "roleArn": "role",
                },
            }
        ],
    }


def production_rule(*target_groups: str) -> dict:
    return {
        "arn": "arn:rule/production",
        "actions": [
            {
                "type": "forward",
                "forward": {"targetGroups": [{"arn": arn, "weight": 50} for arn in target_groups]},
            }
        ],
        "tags": {"keel:listener-rule": "production"},
    }


def apart(*resources: tuple[str, dict]) -> list[str]:
    return run_stack_rule(
        "keel-cutover-apart-from-production",
        [policy_resource(kind, props) for kind, props in resources],
    )


def test_the_apart_policy_passes_a_cutover_rule_of_its_own():
    assert (
        apart(
            (rules.SERVICE, web_service("arn:rule/production")),
            (rules.LISTENER_RULE, production_rule("arn:tg/web-a", "arn:tg/web-b")),
            (rules.LISTENER_RULE, cutover_rule(95, 5)),
        )
        == []
    )


def test_the_apart_policy_reports_a_cutover_on_the_production_rule():
    """The cutover split written onto the rule ECS rewrites: ECS's next deploy erases it."""
    assert apart(
        (rules.SERVICE, web_service("arn:rule/orders")),
        (rules.LISTENER_RULE, cutover_rule(95, 5)),
    ) == ["cutover route orders is on a rule ECS rewrites during deployments"]


def test_the_apart_policy_reports_a_cutover_rule_forwarding_to_a_target_group_ecs_swaps():
    swapped = cutover_rule(95, 5)
    swapped["actions"][0]["forward"]["targetGroups"][1]["arn"] = "arn:tg/web-b"

    assert apart(
        (rules.SERVICE, web_service("arn:rule/production")), (rules.LISTENER_RULE, swapped)
    ) == ["cutover route orders forwards to arn:tg/web-b, a target group ECS swaps on deploys"]


def test_the_apart_policy_reports_a_lambda_target_on_the_production_rule():
    lambda_group = {"arn": "arn:tg/keel-dev-orders-fn", "targetType": "lambda"}

    assert apart(
        (rules.SERVICE, web_service("arn:rule/production")),
        (rules.TARGET_GROUP, lambda_group),
        (rules.LISTENER_RULE, production_rule("arn:tg/web-a", "arn:tg/keel-dev-orders-fn")),
    ) == ["the production rule forwards to a Lambda target group"]


def test_lambda_target_groups_need_no_keel_health_check():
    assert (
        run_policy("keel-target-group-health-check", rules.TARGET_GROUP, {"targetType": "lambda"})
        == []
    )


# ---- Alarms and the web ACL --------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "reported"),
    [
        ({"alarmDescription": "keel: work is piling up."}, ["links no runbook entry"]),
        ({"actionsEnabled": False}, ["notifies no one"]),
        ({"alarmActions": None, "alarmDescription": None}, ["notifies no one", "no runbook"]),
    ],
)
def test_an_alarm_without_a_runbook_or_an_action_is_reported(changes: dict, reported: list):
    found = run_policy("keel-alarm-actionable", rules.METRIC_ALARM, metric_alarm(**changes))

    assert len(found) == len(reported)
    for message, expected in zip(found, reported, strict=True):
        assert expected in message


def test_a_web_acl_inspecting_the_invoke_api_is_reported():
    common = web_acl()["rules"][2]["statement"]["managedRuleGroupStatement"]
    unscoped = web_acl()
    unscoped["rules"][2]["statement"]["managedRuleGroupStatement"] = {
        key: value for key, value in common.items() if key != "scopeDownStatement"
    }
    rate = web_acl()
    del rate["rules"][1]["statement"]["rateBasedStatement"]["scopeDownStatement"]

    assert run_policy("keel-waf-lets-keel-through", rules.WEB_ACL, unscoped) == [
        "AWSManagedRulesCommonRuleSet inspects the Invoke API's Lambda payloads; scope it "
        "down to requests outside /2015-03-31/functions/"
    ]
    assert "counts the Invoke API's callers" in "".join(
        run_policy("keel-waf-lets-keel-through", rules.WEB_ACL, rate)
    )


def load_balancer(stack: str) -> dict:
    return {
        "name": f"keel-{stack}",
        "arn": f"arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/keel-{stack}/1",
        "tags": {"keel:stack": stack},
    }


def association(alb: dict, acl: dict) -> dict:
    return {"resourceArn": alb["arn"], "webAclArn": acl["arn"]}


def test_the_waf_policy_passes_prod_with_its_web_acl_and_reports_one_without():
    alb, acl = load_balancer("prod"), web_acl()
    bare = web_acl(rules=web_acl()["rules"][2:3])

    def guarded(*resources: tuple[str, dict]) -> list[str]:
        return run_stack_rule(
            "keel-waf-on-prod", [policy_resource(kind, props) for kind, props in resources]
        )

    assert (
        guarded(
            (rules.LOAD_BALANCER, alb),
            (rules.WEB_ACL, acl),
            (rules.WEB_ACL_ASSOCIATION, association(alb, acl)),
        )
        == []
    )
    assert guarded((rules.LOAD_BALANCER, alb)) == ["load balancer keel-prod has no web ACL"]
    assert guarded(
        (rules.LOAD_BALANCER, alb),
        (rules.WEB_ACL, bare),
        (rules.WEB_ACL_ASSOCIATION, association(alb, bare)),
    ) == [
        "load balancer keel-prod's web ACL lacks AWSManagedRulesAmazonIpReputationList, "
        "AWSManagedRulesKnownBadInputsRuleSet",
        "load balancer keel-prod's web ACL has no rate-based rule",
    ]
    assert guarded((rules.LOAD_BALANCER, load_balancer("dev"))) == []
