"""The typed configuration of one keel stack, read from Pulumi config and checked up front.

Every number and switch a stack can change lives here, with the checks that stop a bad
value before any resource is planned. ``infra/__main__.py`` reads it with
``StackConfig.from_pulumi``; the tests build it directly.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from keel import constants
from keel.infra.access_config import AccessConfig
from keel.infra.config_values import build, camel, check
from keel.infra.cutover_config import CutoverConfig
from keel.infra.operations_config import AlarmsConfig, WafConfig

#: ECS deployment strategies keel supports for the web service.
STRATEGIES = ("CANARY", "LINEAR", "BLUE_GREEN", "ROLLING")
#: How a new VPC's private subnets reach AWS APIs and the internet.
NAT_MODES = ("none", "single", "per-az")
#: Fargate CPU architectures -> the ``docker build --platform`` of the image they run.
IMAGE_PLATFORMS = {"X86_64": "linux/amd64", "ARM64": "linux/arm64"}
#: PostgreSQL's port: the RDS instance keel creates listens on it.
POSTGRES_PORT = 5432

#: Environment variable names that must never carry a plain value: they come only
#: through the task definition's ``secrets``.
SECRET_NAME_PATTERN = re.compile(
    r"(PASSWORD|PASSWD|SECRET|TOKEN|CREDENTIAL|PRIVATE|API_KEY|ACCESS_KEY|(^|_)KEY$|DATABASE_URL)",
    re.IGNORECASE,
)

#: A plain variable naming a secret by its ARN (``DATABASE_PASSWORD_SECRET_ARN``): the
#: process reads the secret itself, so the name says "secret" but the value is not one.
SECRET_REFERENCE_SUFFIX = "_SECRET_ARN"  # noqa: S105 (a name suffix)


def is_secret_reference(name: str, value: object) -> bool:
    """Return whether a plain variable only names a secret: ``*_SECRET_ARN`` = its ARN."""
    return name.endswith(SECRET_REFERENCE_SUFFIX) and _SECRET_ARN.match(str(value)) is not None


def rotated_secret_variable(name: str) -> str:
    """Return the variable keel.credentials reads a rotated secret's ARN from."""
    return f"{name}{SECRET_REFERENCE_SUFFIX}"


def looks_secret(name: str, value: object) -> bool:
    """Return whether a plain environment variable would carry a secret's value."""
    return SECRET_NAME_PATTERN.search(name) is not None and not is_secret_reference(name, value)


_STACK_NAME = re.compile(r"^[a-z][a-z0-9-]*$")
#: ALB and target-group names are limited to 32 characters; the longest suffix keel adds
#: is "-web-b" (6), so the prefix "<app>-<stack>" may use 26.
_MAX_PREFIX = 26
_SECRET_ARN = re.compile(r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$")
_ROTATED_SECRET_REFERENCE = re.compile(constants.ROTATED_ARN_PATTERN)
_VARIABLE_NAME = re.compile(constants.ROTATED_NAME_PATTERN)
#: Names whose ``*_SECRET_ARN`` the database already uses.
DATABASE_SECRETS = ("DATABASE_PASSWORD", "DATABASE_URL")
_SECURITY_GROUP = re.compile(r"^sg-[0-9a-f]{8,17}$")
_CERTIFICATE_ARN = re.compile(
    r"^arn:aws[a-z-]*:acm:(?P<region>[a-z0-9-]+):\d{12}:certificate/[A-Za-z0-9-]+$"
)
_HOST_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


@dataclass(frozen=True, kw_only=True)
class NetworkConfig:
    """A new VPC, or an existing one looked up read-only by id."""

    #: Existing VPC id; when set, no VPC, subnet, route table or gateway is created.
    vpc_id: str | None = None
    public_subnet_ids: Sequence[str] = ()
    private_subnet_ids: Sequence[str] = ()
    #: New VPC only.
    cidr: str = "10.0.0.0/16"
    availability_zones: int = 2
    nat: str = "single"
    #: Interface endpoints (ECR, CloudWatch Logs, Secrets Manager) and an S3 gateway
    #: endpoint, so image pulls and secrets never leave the VPC. Off by default for an
    #: existing VPC, which may already have them (private DNS names would clash).
    vpc_endpoints: bool | None = None

    @property
    def existing(self) -> bool:
        return self.vpc_id is not None

    @property
    def endpoints_enabled(self) -> bool:
        return self.vpc_endpoints if self.vpc_endpoints is not None else not self.existing

    def check(self) -> None:
        if self.existing:
            check(
                len(self.private_subnet_ids) >= 2 and len(self.public_subnet_ids) >= 2,
                "network: an existing VPC needs at least two public and two private subnet ids "
                "(one per availability zone)",
            )
            check(
                not set(self.public_subnet_ids) & set(self.private_subnet_ids),
                "network: a subnet cannot be both public and private",
            )
            return
        check(
            not self.public_subnet_ids and not self.private_subnet_ids,
            "network: subnet ids are only for an existing VPC; set vpcId too",
        )
        try:
            network = ipaddress.ip_network(self.cidr)
        except ValueError as error:
            raise ValueError(f"network: cidr {self.cidr!r} is not a network: {error}") from None
        check(
            network.version == 4 and 16 <= network.prefixlen <= 20,
            f"network: cidr {self.cidr} must be an IPv4 network between /16 and /20",
        )
        check(
            2 <= self.availability_zones <= 6,
            f"network: availabilityZones must be 2 to 6, not {self.availability_zones}",
        )
        check(self.nat in NAT_MODES, f"network: nat must be one of {NAT_MODES}, not {self.nat!r}")
        check(
            self.nat != "none" or self.endpoints_enabled,
            "network: with nat 'none' the VPC endpoints must be on, or tasks cannot pull images",
        )


@dataclass(frozen=True, kw_only=True)
class ExistingDatabaseConfig:
    """A PostgreSQL database the stack uses but does not own: looked up, never changed."""

    #: A Secrets Manager secret whose value is the database URL
    #: (``postgres://user:password@host:5432/name``); the processes read it themselves.
    url_secret_arn: str
    #: The database's security group, in the stack's VPC. keel adds egress to it from
    #: its own task groups; the ingress it needs is printed, never applied.
    security_group_id: str
    port: int = POSTGRES_PORT

    def check(self) -> None:
        check(
            _SECRET_ARN.match(str(self.url_secret_arn)) is not None
            and str(self.url_secret_arn).count(":") == 6,
            f"database.existing: urlSecretArn {self.url_secret_arn!r} must be a Secrets "
            "Manager secret ARN (the whole secret is the URL, no JSON key)",
        )
        check(
            _SECURITY_GROUP.fullmatch(str(self.security_group_id)) is not None,
            f"database.existing: securityGroupId {self.security_group_id!r} is not a "
            "security group id (sg-...)",
        )
        check(
            isinstance(self.port, int) and 1 <= self.port <= 65535,
            "database.existing: port must be 1 to 65535",
        )


@dataclass(frozen=True, kw_only=True)
class DatabaseConfig:
    """RDS PostgreSQL with its master password managed in Secrets Manager, or an
    existing database (``existing``), for which no RDS is created."""

    engine_version: str = "17"
    instance_class: str = "db.t4g.small"
    allocated_storage: int = 20
    max_allocated_storage: int = 100
    multi_az: bool = False
    backup_retention_days: int = 7
    name: str = "keel"
    username: str = "keel"
    performance_insights: bool = False
    #: Use this database instead of creating one.
    existing: ExistingDatabaseConfig | None = None

    def check(self) -> None:
        if self.existing is not None:
            self.existing.check()
            created = {
                camel(item.name)
                for item in dataclasses.fields(self)
                if item.name != "existing" and getattr(self, item.name) != item.default
            }
            check(
                not created,
                f"database: {', '.join(sorted(created))} describe the RDS instance keel "
                "creates; with existing set, keel creates none",
            )
            return
        check(
            1 <= self.backup_retention_days <= 35,
            "database: backupRetentionDays must be 1 to 35 (automated backups stay on)",
        )
        check(
            20 <= self.allocated_storage <= self.max_allocated_storage,
            "database: allocatedStorage must be at least 20 GiB and at most maxAllocatedStorage",
        )
        check(
            re.fullmatch(r"[a-z][a-z0-9_]{0,62}", self.name) is not None,
            f"database: name {self.name!r} must be a lowercase PostgreSQL identifier",
        )
        check(
            re.fullmatch(r"[a-z][a-z0-9_]{0,15}", self.username) is not None,
            f"database: username {self.username!r} must be a lowercase identifier",
        )


@dataclass(frozen=True, kw_only=True)
class DeploymentConfig:
    """How ECS replaces web tasks, and the alarms that roll a deployment back."""

    strategy: str = "CANARY"
    canary_percent: float = 10.0
    canary_bake_minutes: int = 5
    linear_step_percent: float = 25.0
    linear_step_bake_minutes: int = 3
    #: After all traffic has moved: how long the old revision stays ready to take it back.
    bake_minutes: int = 10
    #: Rollback when the 5xx share of requests on either target group (or the ALB's own
    #: 5xx share) exceeds this percentage.
    error_rate_percent: float = 5.0
    #: A target group needs this many requests a minute before its error rate counts,
    #: so one failed request on a quiet canary does not roll back a deploy.
    error_rate_min_requests: int = 20

    def check(self) -> None:
        check(
            self.strategy in STRATEGIES,
            f"deployment: strategy must be one of {STRATEGIES}, not {self.strategy!r}",
        )
        check(
            0.1 <= self.canary_percent <= 100,
            "deployment: canaryPercent must be 0.1 to 100",
        )
        check(
            3 <= self.linear_step_percent <= 100,
            "deployment: linearStepPercent must be 3 to 100",
        )
        for label, minutes in (
            ("canaryBakeMinutes", self.canary_bake_minutes),
            ("linearStepBakeMinutes", self.linear_step_bake_minutes),
            ("bakeMinutes", self.bake_minutes),
        ):
            check(0 <= minutes <= 1440, f"deployment: {label} must be 0 to 1440")
        check(
            0 < self.error_rate_percent < 100,
            "deployment: errorRatePercent must be between 0 and 100",
        )
        check(self.error_rate_min_requests >= 1, "deployment: errorRateMinRequests must be >= 1")


@dataclass(frozen=True, kw_only=True)
class WebConfig:
    """The web role: gunicorn behind the ALB, serving the API and the SSE streams."""

    cpu: int = 512
    memory: int = 1024
    min_count: int = 2
    max_count: int = 6
    #: Gunicorn workers; empty lets keel derive them from the task's CPU limit.
    concurrency: int | None = None
    cpu_target_percent: float = 60.0
    requests_per_task_target: float = 1000.0
    #: ACM certificate for ``domain_names``: the ALB serves HTTPS with it and redirects
    #: HTTP to HTTPS. Required (see ``check``).
    certificate_arn: str | None = None
    #: Host names users reach the service by, covered by the certificate (they and the
    #: ALB's own DNS name make ALLOWED_HOSTS); the first is the stack's ``url``.
    domain_names: Sequence[str] = ()
    alb_deletion_protection: bool = False
    deployment: DeploymentConfig = field(default_factory=DeploymentConfig)

    def check(self) -> None:
        check(1 <= self.min_count <= self.max_count, "web: need 1 <= minCount <= maxCount")
        check(
            self.concurrency is None or self.concurrency >= 1,
            "web: concurrency must be at least 1",
        )
        check(10 <= self.cpu_target_percent <= 90, "web: cpuTargetPercent must be 10 to 90")
        check(self.requests_per_task_target > 0, "web: requestsPerTaskTarget must be positive")
        # keel's settings redirect HTTP to HTTPS outside DEBUG (SECURE_SSL_REDIRECT), with
        # only the health path exempt: behind an HTTP-only ALB everything else would
        # answer 301 to an https:// URL nobody serves. So no stack is HTTP-only.
        check(
            self.certificate_arn is not None,
            "web: certificateArn is required: outside DEBUG keel redirects every path but "
            f"{constants.HEALTH_PATH} to HTTPS (SECURE_SSL_REDIRECT), so an ALB without an "
            "HTTPS listener would answer the API and /readyz with a redirect to nothing; "
            "request an ACM certificate first (docs/deploy.md, Before you start)",
        )
        check(
            _CERTIFICATE_ARN.match(str(self.certificate_arn)) is not None,
            f"web: certificateArn {self.certificate_arn!r} is not an ACM certificate ARN "
            "(arn:aws:acm:<region>:<account>:certificate/<id>)",
        )
        check(
            bool(self.domain_names),
            "web: domainNames must list the host names the certificate covers (the stack's "
            "url and ALLOWED_HOSTS use them)",
        )
        for name in self.domain_names:
            check(
                _HOST_NAME.fullmatch(str(name)) is not None,
                f"web: domainNames: {name!r} is not a lowercase host name",
            )
        self.deployment.check()

    @property
    def certificate_region(self) -> str:
        match = _CERTIFICATE_ARN.match(str(self.certificate_arn))
        return match["region"] if match else ""


@dataclass(frozen=True, kw_only=True)
class WorkerConfig:
    """The worker role: DBOS durable workflows, no inbound traffic."""

    cpu: int = 512
    memory: int = 1024
    #: The floor autoscaling never goes below; it always runs on on-demand Fargate.
    min_count: int = 1
    max_count: int = 4
    cpu_target_percent: float = 60.0
    #: Runs and tasks waiting (QueuedWork) per running worker task that autoscaling keeps
    #: the service near: an agent waiting on a model uses no CPU, so CPU alone never scales.
    backlog_per_task: float = 10.0
    #: Share (0-100) of tasks above the floor placed on Fargate Spot.
    spot_percent: int = 0

    def check(self) -> None:
        check(1 <= self.min_count <= self.max_count, "worker: need 1 <= minCount <= maxCount")
        check(self.backlog_per_task > 0, "worker: backlogPerTask must be above 0")
        check(0 <= self.spot_percent <= 100, "worker: spotPercent must be 0 to 100")
        check(
            10 <= self.cpu_target_percent <= 90,
            "worker: cpuTargetPercent must be 10 to 90",
        )


# Fargate's valid CPU units and the memory (MiB) each allows.
_FARGATE_MEMORY = {
    256: range(512, 2049, 512),
    512: range(1024, 4097, 1024),
    1024: range(2048, 8193, 1024),
    2048: range(4096, 16385, 1024),
    4096: range(8192, 30721, 1024),
}


def _check_fargate_size(role: str, cpu: int, memory: int) -> None:
    check(
        cpu in _FARGATE_MEMORY and memory in _FARGATE_MEMORY[cpu],
        f"{role}: cpu {cpu} with memory {memory} MiB is not a Fargate task size",
    )


@dataclass(frozen=True, kw_only=True)
class StackConfig:
    """Everything one keel stack needs; ``check`` raises ValueError naming the bad value."""

    stack: str
    app: str = "keel"
    #: ``aws:region``, when known (the certificate must be in it); None skips that check.
    region: str | None = None
    #: Full image reference (``repo:tag`` or ``repo@sha256:...``) used by every role.
    #: When empty, the stack's own ECR repository and ``image_tag`` are used.
    image: str | None = None
    image_tag: str | None = None
    django_settings_module: str = constants.DEFAULT_SETTINGS_MODULE
    #: Plain, non-secret environment for every role.
    environment: Mapping[str, str] = field(default_factory=dict)
    #: Environment variable name -> Secrets Manager ARN (optionally ``arn:...:jsonkey::``)
    #: for secrets created outside the stack, e.g. OPENAI_API_KEY, ANTHROPIC_API_KEY.
    secrets: Mapping[str, str] = field(default_factory=dict)
    #: Name -> Secrets Manager ARN (optionally ``arn:...:jsonkey::``) of secrets that
    #: rotate while the tasks run (keel.credentials): each becomes ``<NAME>_SECRET_ARN``
    #: in the web and worker containers, whose task roles may read exactly these.
    rotated_secrets: Mapping[str, str] = field(default_factory=dict)
    #: Bedrock model ids or ARNs the task role may invoke; empty grants no Bedrock access.
    bedrock_models: Sequence[str] = ()
    enable_exec: bool = False
    log_retention_days: int = 30
    ecr_keep_images: int = 30
    #: Fargate CPU architecture of every task (one image runs every role).
    cpu_architecture: str = "X86_64"
    network: NetworkConfig = field(default_factory=NetworkConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    web: WebConfig = field(default_factory=WebConfig)
    worker: WorkerConfig = field(default_factory=WorkerConfig)
    #: The team's own AWS needs: task-role permissions, egress rules, KMS keys.
    access: AccessConfig = field(default_factory=AccessConfig)
    #: Routes moving from an existing Lambda function to keel by weight (docs/migration.md).
    cutover: CutoverConfig = field(default_factory=CutoverConfig)
    #: The alarm topic, the runbooks' URL and the alarms' thresholds.
    alarms: AlarmsConfig = field(default_factory=AlarmsConfig)
    #: The web ACL in front of the ALB.
    waf: WafConfig = field(default_factory=WafConfig)

    @property
    def prefix(self) -> str:
        """Return the prefix of every physical name, so two stacks never collide."""
        return f"{self.app}-{self.stack}"

    @property
    def tags(self) -> dict[str, str]:
        return {"app": self.app, "keel:stack": self.stack, "managed-by": "pulumi"}

    @property
    def waf_enabled(self) -> bool:
        return self.waf.enabled_for(self.stack)

    @property
    def image_platform(self) -> str:
        """Return the ``docker build --platform`` the stack's tasks can run."""
        return IMAGE_PLATFORMS[self.cpu_architecture]

    def check(self) -> StackConfig:
        """Raise ValueError for the first bad value; return self so calls can chain."""
        for label, value in (("stack", self.stack), ("app", self.app)):
            check(
                _STACK_NAME.fullmatch(value) is not None,
                f"{label} name {value!r} must be lowercase letters, digits and dashes",
            )
        check(
            len(self.prefix) <= _MAX_PREFIX,
            f"'{self.prefix}' is too long: ALB and target-group names allow "
            f"{_MAX_PREFIX} characters for '<app>-<stack>'",
        )
        check(
            bool(self.image) != bool(self.image_tag),
            "set exactly one of image (a full reference) or imageTag (a tag in the stack's "
            "own ECR repository)",
        )
        problems = constants.check_timeouts()
        check(not problems, "runtime constants disagree: " + "; ".join(problems))
        for name, value in self.environment.items():
            check(
                not looks_secret(name, value),
                f"environment: {name} looks like a secret; put its ARN under secrets instead",
            )
            check(name not in self.secrets, f"{name} is set both as environment and as secret")
        for name, arn in self.secrets.items():
            check(
                _SECRET_ARN.match(arn) is not None,
                f"secrets: {name} must be a Secrets Manager ARN, not {arn!r}",
            )
        self._check_rotated_secrets()
        check(
            1 <= self.log_retention_days <= 3653,
            "logRetentionDays must be 1 to 3653 (logs are never kept forever)",
        )
        check(self.ecr_keep_images >= 1, "ecrKeepImages must be at least 1")
        check(
            self.cpu_architecture in IMAGE_PLATFORMS,
            f"cpuArchitecture must be one of {', '.join(IMAGE_PLATFORMS)}, "
            f"not {self.cpu_architecture!r}",
        )
        check(
            self.cpu_architecture == "X86_64" or not self.worker.spot_percent,
            "worker: spotPercent must be 0 with cpuArchitecture ARM64: Fargate Spot runs "
            "X86_64 tasks only",
        )
        _check_fargate_size("web", self.web.cpu, self.web.memory)
        _check_fargate_size("worker", self.worker.cpu, self.worker.memory)
        self.network.check()
        self.database.check()
        check(
            self.database.existing is None or self.network.existing,
            "database.existing needs network.vpcId: keel's tasks reach the database by "
            "security group, which works inside its VPC; run the stack in that VPC",
        )
        self.web.check()
        check(
            self.region is None or self.web.certificate_region == self.region,
            f"web: the certificate is in {self.web.certificate_region}, the stack in "
            f"{self.region}; an ALB uses certificates of its own region only",
        )
        self.worker.check()
        self.access.check()
        self.cutover.check(self.prefix)
        self.alarms.check()
        self.waf.check(self.stack)
        return self

    def _check_rotated_secrets(self) -> None:
        for name, value_from in self.rotated_secrets.items():
            check(
                _VARIABLE_NAME.fullmatch(str(name)) is not None,
                f"rotatedSecrets: {name!r} must be an upper-case variable name (STRIPE_API_KEY)",
            )
            check(
                name not in DATABASE_SECRETS,
                f"rotatedSecrets: {name} is the database's; the stack sets its secret itself",
            )
            found = _ROTATED_SECRET_REFERENCE.match(str(value_from))
            check(
                found is not None,
                f"rotatedSecrets: {name} must be a Secrets Manager ARN, optionally with a JSON "
                f"key (<arn>:<key>::), not {value_from!r}",
            )
            assert found is not None
            check(
                not (found["stage"] or found["version"]),
                f"rotatedSecrets: {name} names a version stage or id; the process reads the "
                "stages itself (AWSCURRENT, then AWSPENDING): end it at the JSON key",
            )
            check(
                name not in self.secrets,
                f"{name} is under both secrets (injected once, at task start) and "
                "rotatedSecrets (read by the process, again after a rotation); choose one",
            )
            variable = rotated_secret_variable(name)
            for taken in (name, variable):
                check(
                    taken not in self.environment,
                    f"environment: {taken} would hide rotatedSecrets' {name}",
                )

    def replace(self, **changes: Any) -> StackConfig:
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_pulumi(cls, config: Any, *, stack: str, region: str | None = None) -> StackConfig:
        """Read a ``pulumi.Config("keel")``; keys are the camelCase names in Pulumi.yaml."""

        def section(key: str) -> Mapping[str, Any]:
            return config.get_object(key) or {}

        network = section("network")
        database = section("database")
        web = section("web")
        worker = section("worker")
        return cls(
            stack=stack,
            region=region,
            app=config.get("app") or "keel",
            image=config.get("image"),
            image_tag=config.get("imageTag"),
            django_settings_module=config.get("djangoSettingsModule")
            or constants.DEFAULT_SETTINGS_MODULE,
            environment=section("environment"),
            secrets=section("secrets"),
            rotated_secrets=section("rotatedSecrets"),
            bedrock_models=config.get_object("bedrockModels") or (),
            enable_exec=config.get_bool("enableExec") or False,
            log_retention_days=config.get_int("logRetentionDays") or 30,
            ecr_keep_images=config.get_int("ecrKeepImages") or 30,
            cpu_architecture=config.get("cpuArchitecture") or "X86_64",
            network=build(NetworkConfig, network),
            database=build(
                DatabaseConfig,
                database,
                existing=build(ExistingDatabaseConfig, _port_as_number(database["existing"]))
                if database.get("existing") is not None
                else None,
            ),
            web=build(WebConfig, web, deployment=build(DeploymentConfig, web.get("deployment"))),
            worker=build(WorkerConfig, worker),
            access=AccessConfig.from_values(
                permissions=section("permissions"),
                egress=config.get_object("egress"),
                kms_key_arns=config.get_object("kmsKeyArns"),
            ),
            cutover=CutoverConfig.from_values(config.get_object("cutover")),
            alarms=build(AlarmsConfig, section("alarms")),
            waf=build(WafConfig, section("waf")),
        ).check()


def _port_as_number(values: Any) -> Any:
    """Return ``existing`` with ``port: "5433"`` as 5433 (``config set --path`` strings)."""
    if isinstance(values, Mapping) and str(values.get("port", "")).isdigit():
        return {**values, "port": int(values["port"])}
    return values
