"""keel's deployment invariants as pure checks, and the Pulumi policies built from them.

Each rule is a function from a resource's properties (as the engine sees them:
camelCase, e.g. ``deletionProtection``) to the messages of what it breaks. The policy
pack in ``infra/policy`` runs them on ``pulumi preview --policy-pack``; the mock tests run
them on every resource the program registers, and on one passing and one violating
resource each.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from keel import constants
from keel.infra.config import SECRET_NAME_PATTERN
from keel.infra.roles import secret_arn_of

SERVICE = "aws:ecs/service:Service"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
RDS_INSTANCE = "aws:rds/instance:Instance"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
SECURITY_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
POLICY = "aws:iam/policy:Policy"

WORLD = ("0.0.0.0/0", "::/0")
PUBLIC_PORTS = (80, 443)
GRADUAL_STRATEGIES = ("CANARY", "LINEAR", "BLUE_GREEN")
#: A URL with a password in it: ``scheme://user:password@host``.
_CREDENTIALS_IN_URL = "://"


@dataclass(frozen=True, kw_only=True)
class Options:
    """The resource options a rule may look at."""

    protect: bool = False


Check = Callable[[Mapping[str, Any], Options], Iterable[str]]


@dataclass(frozen=True, kw_only=True)
class Rule:
    name: str
    description: str
    resource_types: tuple[str, ...]
    check: Check
    enforcement: EnforcementLevel = EnforcementLevel.MANDATORY

    def violations(self, resource_type: str, props: Mapping[str, Any], options: Options) -> list:
        if resource_type not in self.resource_types:
            return []
        return list(self.check(props, options))


def _get(props: Mapping[str, Any], *path: str) -> Any:
    value: Any = props
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _containers(props: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    definitions = props.get("containerDefinitions")
    if isinstance(definitions, str):
        return json.loads(definitions)
    return list(definitions or [])


# ---- ECS services ---------------------------------------------------------------------


def service_is_private(props: Mapping[str, Any], options: Options) -> Iterator[str]:
    network = props.get("networkConfiguration")
    if not network:
        yield "the service has no awsvpc network configuration (tasks need private subnets)"
    elif network.get("assignPublicIp"):
        yield "the service assigns public IPs; tasks run in private subnets only"


def service_has_circuit_breaker(props: Mapping[str, Any], options: Options) -> Iterator[str]:
    breaker = props.get("deploymentCircuitBreaker") or {}
    if not (breaker.get("enable") and breaker.get("rollback")):
        yield "the deployment circuit breaker must be enabled with rollback"


def service_rolls_back_on_alarms(props: Mapping[str, Any], options: Options) -> Iterator[str]:
    if not props.get("loadBalancers"):
        return
    alarms = props.get("alarms") or {}
    if not (alarms.get("enable") and alarms.get("rollback") and alarms.get("alarmNames")):
        yield "a load-balanced service must roll back on CloudWatch alarms (enable, rollback)"


def service_shifts_traffic_gradually(props: Mapping[str, Any], options: Options) -> Iterator[str]:
    if not props.get("loadBalancers"):
        return
    strategy = _get(props, "deploymentConfiguration", "strategy") or "ROLLING"
    if strategy not in GRADUAL_STRATEGIES:
        yield f"the web service deploys with {strategy}; canary, linear or blue/green is safer"
        return
    for balancer in props.get("loadBalancers") or []:
        advanced = balancer.get("advancedConfiguration") or {}
        if not (
            advanced.get("alternateTargetGroupArn")
            and advanced.get("productionListenerRule")
            and advanced.get("roleArn")
        ):
            yield f"{strategy} needs an alternate target group, production rule and role"


# ---- Task definitions -----------------------------------------------------------------


def secrets_only_through_secrets(props: Mapping[str, Any], options: Options) -> Iterator[str]:
    for container in _containers(props):
        name = container.get("name", "?")
        for variable in container.get("environment") or []:
            key, value = variable.get("name", ""), str(variable.get("value", ""))
            if SECRET_NAME_PATTERN.search(key):
                yield f"container {name}: {key} is a secret; inject it through 'secrets'"
            elif _CREDENTIALS_IN_URL in value and "@" in value.split(_CREDENTIALS_IN_URL, 1)[1]:
                yield f"container {name}: {key} holds a URL with credentials"
        for secret in container.get("secrets") or []:
            value_from = str(secret.get("valueFrom", ""))
            if not value_from.startswith(("arn:aws:secretsmanager:", "arn:aws:ssm:")):
                yield f"container {name}: secret {secret.get('name')} must name a secret ARN"


def stop_timeout_fits(props: Mapping[str, Any], options: Options) -> Iterator[str]:
    for container in _containers(props):
        name = container.get("name", "?")
        stop_timeout = container.get("stopTimeout")
        if stop_timeout is None:
            yield f"container {name}: set stopTimeout (the default 30 s cuts runs short)"
            continue
        # The relations keel's runtime, preflight and the program share, with this
        # container's own stopTimeout (keel.constants.timeout_relations).
        for relation in constants.timeout_relations(stop_timeout=stop_timeout):
            if relation.involves_stop_timeout and not relation.holds:
                yield f"container {name}: {relation.problem}"


# ---- Load balancing -------------------------------------------------------------------

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


def _world_ingress_ports(rule: Mapping[str, Any]) -> Iterator[tuple[Any, Any, Any]]:
    cidrs = [
        *(rule.get("cidrBlocks") or []),
        *(rule.get("ipv6CidrBlocks") or []),
        rule.get("cidrIpv4"),
        rule.get("cidrIpv6"),
    ]
    if any(cidr in WORLD for cidr in cidrs):
        yield (
            rule.get("ipProtocol") or rule.get("protocol"),
            rule.get("fromPort"),
            rule.get("toPort"),
        )


def world_ingress_only_to_web_ports(props: Mapping[str, Any], options: Options) -> Iterator[str]:
    rules = [props]
    if "ingress" in props:
        rules = list(props.get("ingress") or [])
    elif props.get("type") == "egress":
        return
    for protocol, from_port, to_port in (p for rule in rules for p in _world_ingress_ports(rule)):
        if str(protocol) != "tcp" or from_port != to_port or from_port not in PUBLIC_PORTS:
            yield (
                f"ingress from anywhere on {protocol} {from_port}-{to_port}; only the load "
                "balancer's 80 and 443 may be open to the internet"
            )


# ---- Data -----------------------------------------------------------------------------


def database_is_protected(props: Mapping[str, Any], options: Options) -> Iterator[str]:
    if not props.get("storageEncrypted"):
        yield "storage must be encrypted"
    if props.get("publiclyAccessible"):
        yield "the database must not be publicly accessible"
    if not props.get("deletionProtection"):
        yield "deletion protection must be on"
    if not props.get("backupRetentionPeriod"):
        yield "automated backups must be on (backupRetentionPeriod >= 1)"
    if not props.get("manageMasterUserPassword"):
        yield "the master password must be managed by RDS in Secrets Manager"
    if props.get("password"):
        yield "the master password must not be set in the program"
    if not options.protect:
        yield "the database resource must be protected (protect=True)"


def log_group_has_retention(props: Mapping[str, Any], options: Options) -> Iterator[str]:
    if not props.get("retentionInDays"):
        yield "the log group keeps logs forever; set retentionInDays"


# ---- IAM ------------------------------------------------------------------------------


def _statements(props: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    document = props.get("policy")
    if isinstance(document, str):
        document = json.loads(document)
    statements = (document or {}).get("Statement") or []
    return [statements] if isinstance(statements, Mapping) else list(statements)


def _as_list(value: Any) -> list:
    if value is None:
        return []
    if isinstance(value, Sequence) and not isinstance(value, str):
        return list(value)
    return [value]


def _reads_secrets(statement: Mapping[str, Any]) -> bool:
    actions = _as_list(statement.get("Action"))
    return statement.get("Effect") == "Allow" and any(
        action in ("*", "secretsmanager:*", "secretsmanager:GetSecretValue") for action in actions
    )


def secret_reads_name_arns(props: Mapping[str, Any], options: Options) -> Iterator[str]:
    for statement in _statements(props):
        if not _reads_secrets(statement):
            continue
        for resource in _as_list(statement.get("Resource")):
            if "*" in str(resource):
                yield f"secrets may be read only by exact ARN, not {resource!r}"


RULES: tuple[Rule, ...] = (
    Rule(
        name="keel-ecs-service-private",
        description="ECS services assign no public IP; tasks run in private subnets.",
        resource_types=(SERVICE,),
        check=service_is_private,
    ),
    Rule(
        name="keel-ecs-circuit-breaker",
        description="Every ECS service has the deployment circuit breaker on, with rollback.",
        resource_types=(SERVICE,),
        check=service_has_circuit_breaker,
    ),
    Rule(
        name="keel-ecs-alarm-rollback",
        description="Load-balanced services roll back on CloudWatch alarms.",
        resource_types=(SERVICE,),
        check=service_rolls_back_on_alarms,
    ),
    Rule(
        name="keel-ecs-gradual-deployment",
        description="Load-balanced services shift traffic by canary, linear or blue/green.",
        resource_types=(SERVICE,),
        check=service_shifts_traffic_gradually,
        enforcement=EnforcementLevel.ADVISORY,
    ),
    Rule(
        name="keel-secrets-through-secrets",
        description="No password, key or DATABASE_URL in a container's plain environment.",
        resource_types=(TASK_DEFINITION,),
        check=secrets_only_through_secrets,
    ),
    Rule(
        name="keel-stop-timeout",
        description="stopTimeout <= 120 s and above keel's graceful timeouts and the "
        "deregistration delay.",
        resource_types=(TASK_DEFINITION,),
        check=stop_timeout_fits,
    ),
    Rule(
        name="keel-target-group-health-check",
        description="Target groups use keel's port, health path, timings and deregistration delay.",
        resource_types=(TARGET_GROUP,),
        check=target_group_matches_runtime,
    ),
    Rule(
        name="keel-no-world-ingress",
        description="Only 80 and 443 (the load balancer) are open to 0.0.0.0/0 or ::/0.",
        resource_types=(SECURITY_GROUP, SECURITY_GROUP_RULE, INGRESS_RULE),
        check=world_ingress_only_to_web_ports,
    ),
    Rule(
        name="keel-database-protected",
        description="RDS: encrypted, private, deletion protection, backups, managed password, "
        "protect.",
        resource_types=(RDS_INSTANCE,),
        check=database_is_protected,
    ),
    Rule(
        name="keel-log-retention",
        description="Every log group has a retention period.",
        resource_types=(LOG_GROUP,),
        check=log_group_has_retention,
    ),
    Rule(
        name="keel-secret-access-by-arn",
        description="IAM policies read secrets only by exact ARN.",
        resource_types=(ROLE_POLICY, POLICY),
        check=secret_reads_name_arns,
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


# ---- Stack-wide -----------------------------------------------------------------------


def injected_secret_arns(task_definitions: Iterable[Mapping[str, Any]]) -> set[str]:
    """Return the ARN of every secret the task definitions inject (JSON keys removed)."""
    return {
        secret_arn_of(str(secret["valueFrom"]))
        for props in task_definitions
        for container in _containers(props)
        for secret in container.get("secrets") or []
    }


def readable_secret_arns(policies: Iterable[Mapping[str, Any]]) -> set[str]:
    """Return every secret ARN the IAM policies allow reading."""
    return {
        str(resource)
        for props in policies
        for statement in _statements(props)
        if _reads_secrets(statement)
        for resource in _as_list(statement.get("Resource"))
    }


def secrets_match(resources: Iterable[tuple[str, Mapping[str, Any]]]) -> list[str]:
    """Compare what the task definitions inject with what the roles may read."""
    resources = list(resources)
    injected = injected_secret_arns(p for t, p in resources if t == TASK_DEFINITION)
    readable = readable_secret_arns(p for t, p in resources if t in (ROLE_POLICY, POLICY))
    messages = [f"{arn} is injected but no role may read it" for arn in sorted(injected - readable)]
    messages += [f"{arn} may be read but is never injected" for arn in sorted(readable - injected)]
    return messages


def _validate_resource(rule: Rule) -> Callable[[ResourceValidationArgs, ReportViolation], None]:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        options = Options(protect=bool(getattr(args.opts, "protect", False)))
        for message in rule.violations(args.resource_type, args.props, options):
            report_violation(message, None)

    return validate


def _validate_secrets_match(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    for message in secrets_match((r.resource_type, r.props) for r in args.resources):
        report_violation(message, None)


def policies() -> list[ResourceValidationPolicy | StackValidationPolicy]:
    """Return the policy pack's policies, one per rule plus the stack-wide secrets match."""
    built: list[ResourceValidationPolicy | StackValidationPolicy] = [
        ResourceValidationPolicy(
            name=rule.name,
            description=rule.description,
            validate=_validate_resource(rule),
            enforcement_level=rule.enforcement,
        )
        for rule in RULES
    ]
    built.append(
        StackValidationPolicy(
            name="keel-execution-role-reads-injected-secrets",
            description="IAM roles may read exactly the secrets the task definitions inject.",
            validate=_validate_secrets_match,
            enforcement_level=EnforcementLevel.MANDATORY,
        )
    )
    return built
