"""keel's policy pack: every rule, and the Pulumi policies built from them."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from keel.infra.policies import access, compute, cutover, data, network, operations, stack
from keel.infra.policies.rules import (
    EGRESS_RULE,
    INGRESS_RULE,
    LISTENER_RULE,
    LOG_GROUP,
    METRIC_ALARM,
    POLICY,
    POLICY_ATTACHMENT,
    RDS_INSTANCE,
    ROLE_POLICY,
    SECURITY_GROUP,
    SECURITY_GROUP_RULE,
    SERVICE,
    TARGET_GROUP,
    TASK_DEFINITION,
    WEB_ACL,
    Options,
    Rule,
    StackRule,
)

RULES: tuple[Rule, ...] = (
    Rule(
        name="keel-ecs-service-private",
        description="ECS services assign no public IP; tasks run in private subnets.",
        resource_types=(SERVICE,),
        check=compute.service_is_private,
    ),
    Rule(
        name="keel-ecs-circuit-breaker",
        description="Every ECS service has the deployment circuit breaker on, with rollback.",
        resource_types=(SERVICE,),
        check=compute.service_has_circuit_breaker,
    ),
    Rule(
        name="keel-ecs-alarm-rollback",
        description="Load-balanced services roll back on CloudWatch alarms.",
        resource_types=(SERVICE,),
        check=compute.service_rolls_back_on_alarms,
    ),
    Rule(
        name="keel-ecs-gradual-deployment",
        description="Load-balanced services shift traffic by canary, linear or blue/green.",
        resource_types=(SERVICE,),
        check=compute.service_shifts_traffic_gradually,
        enforcement=EnforcementLevel.ADVISORY,
    ),
    Rule(
        name="keel-secrets-through-secrets",
        description="No password, key or DATABASE_URL in a container's plain environment.",
        resource_types=(TASK_DEFINITION,),
        check=compute.secrets_only_through_secrets,
    ),
    Rule(
        name="keel-stop-timeout",
        description="stopTimeout <= 120 s and above keel's graceful timeouts and the "
        "deregistration delay.",
        resource_types=(TASK_DEFINITION,),
        check=compute.stop_timeout_fits,
    ),
    Rule(
        name="keel-read-only-root-filesystem",
        description="Containers write only to mounted volumes (ECS Exec tasks excepted, tagged).",
        resource_types=(TASK_DEFINITION,),
        check=compute.root_filesystem_is_read_only,
    ),
    Rule(
        name="keel-target-group-health-check",
        description="Target groups use keel's port, health path, timings and deregistration delay.",
        resource_types=(TARGET_GROUP,),
        check=network.target_group_matches_runtime,
    ),
    Rule(
        name="keel-no-world-ingress",
        description="Only 80 and 443 (the load balancer) are open to 0.0.0.0/0 or ::/0.",
        resource_types=(SECURITY_GROUP, SECURITY_GROUP_RULE, INGRESS_RULE),
        check=network.world_ingress_only_to_web_ports,
    ),
    Rule(
        name="keel-egress-scoped",
        description="Egress is TCP or UDP to named ports, to the internet on one port only.",
        resource_types=(SECURITY_GROUP, SECURITY_GROUP_RULE, EGRESS_RULE),
        check=network.egress_is_scoped,
    ),
    Rule(
        name="keel-database-protected",
        description="RDS: encrypted, private, deletion protection, backups, managed password, "
        "protect.",
        resource_types=(RDS_INSTANCE,),
        check=data.database_is_protected,
    ),
    Rule(
        name="keel-log-retention",
        description="Every log group has a retention period.",
        resource_types=(LOG_GROUP,),
        check=data.log_group_has_retention,
    ),
    Rule(
        name="keel-secret-access-by-arn",
        description="IAM policies read secrets only by exact ARN.",
        resource_types=(ROLE_POLICY, POLICY),
        check=access.secret_reads_name_arns,
    ),
    Rule(
        name="keel-iam-least-privilege",
        description="No whole-service actions; '*' resources only for actions without "
        "resource-level permissions; PassRole, AssumeRole, KMS and secrets by exact ARN.",
        resource_types=(ROLE_POLICY, POLICY),
        check=access.statements_are_least_privilege,
    ),
    Rule(
        name="keel-no-broad-managed-policies",
        description="No administrator, power-user or full-access AWS managed policy on a role.",
        resource_types=(POLICY_ATTACHMENT,),
        check=access.managed_policy_is_not_broad,
    ),
    Rule(
        name="keel-alarm-actionable",
        description="Every alarm notifies a topic and links its runbook entry.",
        resource_types=(METRIC_ALARM,),
        check=operations.alarm_is_actionable,
    ),
    Rule(
        name="keel-waf-lets-keel-through",
        description="A web ACL counts bodies over 8 KB and leaves the Invoke API to keel.",
        resource_types=(WEB_ACL,),
        check=operations.web_acl_lets_keel_through,
    ),
    Rule(
        name="keel-cutover-weights",
        description="A cutover rule weighs its Lambda and keel target groups in whole "
        "percentages (0-100) that add up to 100.",
        resource_types=(LISTENER_RULE,),
        check=cutover.weights_are_percentages,
    ),
)

STACK_RULES: tuple[StackRule, ...] = (
    StackRule(
        name="keel-execution-role-reads-injected-secrets",
        description="The execution role may read exactly the secrets the task definitions inject.",
        check=stack.secrets_match,
    ),
    StackRule(
        name="keel-spot-runs-x86",
        description="Services on Fargate Spot run X86_64 task definitions (Spot has no ARM64).",
        check=stack.spot_runs_x86_only,
    ),
    StackRule(
        name="keel-waf-on-prod",
        description="The prod stack's load balancer has a web ACL with AWS's common, known "
        "bad inputs and IP reputation rule groups and a rate-based rule.",
        check=operations.waf_guards_prod,
    ),
    StackRule(
        name="keel-cutover-route-alarmed",
        description="Every cutover route has an alarm (tagged with the route) that "
        "`keel cutover step` watches during a bake.",
        check=cutover.every_route_has_an_alarm,
    ),
    StackRule(
        name="keel-cutover-apart-from-production",
        description="No cutover rule is a rule ECS rewrites or forwards to a target group "
        "ECS swaps; the production rule forwards to no Lambda target group.",
        check=cutover.cutover_rules_apart_from_production,
    ),
)


def violations(
    resource_type: str, props: Mapping[str, Any], options: Options | None = None
) -> list[tuple[str, str]]:
    """Return (rule name, message) for every rule the resource breaks."""
    options = options or Options()
    return [
        (rule.name, message)
        for rule in RULES
        for message in rule.violations(resource_type, props, options)
    ]


def stack_violations(resources: Iterable[tuple[str, Mapping[str, Any]]]) -> list[tuple[str, str]]:
    """Return (rule name, message) for every stack-wide rule the resources break."""
    resources = list(resources)
    return [(rule.name, message) for rule in STACK_RULES for message in rule.check(resources)]


def _validate_resource(rule: Rule) -> Callable[[ResourceValidationArgs, ReportViolation], None]:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        options = Options(protect=bool(getattr(args.opts, "protect", False)))
        for message in rule.violations(args.resource_type, args.props, options):
            report_violation(message, None)

    return validate


def _validate_stack(rule: StackRule) -> Callable[[StackValidationArgs, ReportViolation], None]:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        for message in rule.check((r.resource_type, r.props) for r in args.resources):
            report_violation(message, None)

    return validate


def policies() -> list[ResourceValidationPolicy | StackValidationPolicy]:
    """Return the policy pack's policies: one per rule, then the stack-wide ones."""
    built: list[ResourceValidationPolicy | StackValidationPolicy] = [
        ResourceValidationPolicy(
            name=rule.name,
            description=rule.description,
            validate=_validate_resource(rule),
            enforcement_level=rule.enforcement,
        )
        for rule in RULES
    ]
    built += [
        StackValidationPolicy(
            name=rule.name,
            description=rule.description,
            validate=_validate_stack(rule),
            enforcement_level=rule.enforcement,
        )
        for rule in STACK_RULES
    ]
    return built
