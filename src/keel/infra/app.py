"""The whole keel deployment of one stack, composed from keel's components."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pulumi
import pulumi_aws as aws

from keel import constants
from keel.infra.alarm_topic import AlarmTopic, AlarmTopicArgs
from keel.infra.alerting import Alerting
from keel.infra.app_outputs import stack_outputs
from keel.infra.cluster import Cluster, ClusterArgs
from keel.infra.config import StackConfig
from keel.infra.containers import ContainerSpec, TaskSize, TaskSpec
from keel.infra.cutover import Cutover, CutoverArgs
from keel.infra.cutover_service import CutoverService, CutoverServiceArgs
from keel.infra.dashboard import Dashboard, DashboardArgs
from keel.infra.database import Database, DatabaseArgs
from keel.infra.deployment_alarms import DeploymentAlarms, DeploymentAlarmsArgs
from keel.infra.environment import (
    role_environment,
    service_environment,
    web_environment,
    with_metrics_service,
)
from keel.infra.existing_database import ExistingDatabase, ExistingDatabaseArgs
from keel.infra.keel_metrics import metrics_service
from keel.infra.load_balancer import LoadBalancer, LoadBalancerArgs
from keel.infra.migration import Migration, MigrationArgs
from keel.infra.network import Network, NetworkArgs
from keel.infra.operations_alarms import OperationsAlarms, OperationsAlarmsArgs
from keel.infra.outputs import concat, join
from keel.infra.registry import ImageRepository, ImageRepositoryArgs
from keel.infra.roles import TaskRoles, TaskRolesArgs, secret_arn_of
from keel.infra.secrets import AppSecret, AppSecretArgs
from keel.infra.security_groups import SecurityGroups, SecurityGroupsArgs
from keel.infra.service import ServiceArgs
from keel.infra.waf import WebFirewall, WebFirewallArgs
from keel.infra.web_service import WebService, WebServiceArgs, WebTraffic
from keel.infra.worker_service import WorkerService, WorkerServiceArgs

#: ``<account>.dkr.ecr.<region>.amazonaws.com/<name>[:tag|@digest]``
_ECR_IMAGE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com/"
    r"(?P<name>[^:@]+)"
)
#: The migration task is small: it runs ``migrate`` and exits.
MIGRATE_SIZE = TaskSize(cpu=256, memory=512)


def ecr_repository_arn(image: str) -> str | None:
    """Return the ECR repository ARN an image reference points at, or None if not ECR."""
    match = _ECR_IMAGE.match(image)
    if match is None:
        return None
    return f"arn:aws:ecr:{match['region']}:{match['account']}:repository/{match['name']}"


#: The cutover service's name after "<prefix>-web" (and its metrics' Service).
CUTOVER_SUFFIX = "-cutover"


class KeelApp(pulumi.ComponentResource):
    """Network, database, registry, cluster, roles, ALB and its WAF, migration, preflight,
    web and worker services, alarms and the dashboard.

    The wiring of ``infra/__main__.py`` and of the tests: both build exactly this. Each
    step below builds one layer from the ones before it.
    """

    outputs: dict[str, pulumi.Input[Any]]
    #: Present while ``keel:cutover`` lists routes.
    cutover: Cutover | None = None
    cutover_service: CutoverService | None = None
    #: Present while ``keel:waf`` is on (the default but for ``dev``).
    firewall: WebFirewall | None = None
    database: Database | ExistingDatabase

    def __init__(self, name: str, config: StackConfig, opts: pulumi.ResourceOptions | None = None):
        config.check()
        super().__init__("keel:aws:App", name, None, opts)
        self.config = config
        invoke = pulumi.InvokeOptions(parent=self)
        self.region = aws.get_region_output(opts=invoke).region
        self.account_id = aws.get_caller_identity_output(opts=invoke).account_id
        self._foundation()
        self._access()
        self._traffic()
        self._workloads()
        self._observability()
        self.outputs = stack_outputs(self)
        self.register_outputs(self.outputs)

    @property
    def _child(self) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self)

    def _foundation(self) -> None:
        """Build what everything stands on: network, security groups, database, registry,
        cluster and the app's own secret."""
        config = self.config
        prefix, tags = config.prefix, config.tags
        extra_endpoints: tuple[str, ...] = ()
        if config.enable_exec:
            extra_endpoints += ("ssmmessages",)
        if config.bedrock_models:
            extra_endpoints += ("bedrock-runtime",)
        self.network = Network(
            "network",
            NetworkArgs(
                config=config.network, prefix=prefix, tags=tags, extra_endpoints=extra_endpoints
            ),
            opts=self._child,
        )
        self.security_groups = SecurityGroups(
            "security-groups",
            SecurityGroupsArgs(
                vpc_id=self.network.vpc_id, prefix=prefix, tags=tags, egress=config.access.egress
            ),
            opts=self._child,
        )
        clients = {role: group.id for role, group in self.security_groups.task_groups().items()}
        if config.database.existing is not None:
            self.database = ExistingDatabase(
                "database",
                ExistingDatabaseArgs(
                    config=config.database.existing,
                    prefix=prefix,
                    vpc_id=self.network.vpc_id,
                    region=self.region,
                    client_security_groups=clients,
                    tags=tags,
                ),
                opts=self._child,
            )
            self.database_ready: list[pulumi.Resource] = [self.database]
        else:
            self.database = Database(
                "database",
                DatabaseArgs(
                    config=config.database,
                    prefix=prefix,
                    vpc_id=self.network.vpc_id,
                    subnet_ids=self.network.private_subnet_ids,
                    client_security_groups=clients,
                    log_retention_days=config.log_retention_days,
                    tags=tags,
                ),
                opts=self._child,
            )
            self.database_ready = [self.database.instance]
        self.repository = ImageRepository(
            "registry",
            ImageRepositoryArgs(prefix=prefix, keep_images=config.ecr_keep_images, tags=tags),
            opts=self._child,
        )
        self.cluster = Cluster(
            "cluster",
            ClusterArgs(prefix=prefix, log_retention_days=config.log_retention_days, tags=tags),
            opts=self._child,
        )
        self.secret_key = AppSecret(
            "secret-key",
            AppSecretArgs(prefix=prefix, purpose="django-secret-key", tags=tags),
            opts=self._child,
        )
        self.alarm_topic = AlarmTopic(
            "alarm-topic",
            AlarmTopicArgs(prefix=prefix, email=config.alarms.email, tags=tags),
            opts=self._child,
        )
        self.alerting = Alerting(topic_arn=self.alarm_topic.arn, runbook_url=config.alarms.runbook)

    def _access(self) -> None:
        """Choose the image, the secrets the containers get, and the roles allowed to
        pull, read and call what they need."""
        config = self.config
        if config.image:
            image: pulumi.Input[str] = config.image
            repository_arn: pulumi.Input[str] | None = ecr_repository_arn(config.image)
        else:
            image = concat(self.repository.url, ":", config.image_tag or "")
            repository_arn = self.repository.arn
        self.image = pulumi.Output.from_input(image)
        #: Name -> valueFrom of every secret ECS injects when a task starts. The
        #: database's credentials are not among them: they rotate, so the processes read
        #: them from Secrets Manager themselves (``runtime_secret_arns`` below).
        self.secrets: dict[str, pulumi.Input[str]] = {
            "SECRET_KEY": self.secret_key.arn,
            **config.secrets,
        }
        secret_arns: list[pulumi.Input[str]] = [
            self.secret_key.arn,
            *sorted({secret_arn_of(value_from) for value_from in config.secrets.values()}),
        ]
        self.roles = TaskRoles(
            "roles",
            TaskRolesArgs(
                prefix=config.prefix,
                account_id=self.account_id,
                region=self.region,
                secret_arns=secret_arns,
                log_group_arns=[group.arn for group in self.cluster.log_groups.values()],
                repository_arn=repository_arn,
                bedrock_models=tuple(config.bedrock_models),
                enable_exec=config.enable_exec,
                kms_key_arns=tuple(config.access.kms_key_arns),
                permissions=config.access.permissions,
                runtime_secret_arns=[self.database.secret_arn],
                service_secret_arns=sorted(
                    {secret_arn_of(value_from) for value_from in config.rotated_secrets.values()}
                ),
                tags=config.tags,
            ),
            opts=self._child,
        )

    def _traffic(self) -> None:
        """Build the ALB in front of the web role and the alarms that roll it back."""
        config = self.config
        self.load_balancer = LoadBalancer(
            "load-balancer",
            LoadBalancerArgs(
                prefix=config.prefix,
                vpc_id=self.network.vpc_id,
                public_subnet_ids=self.network.public_subnet_ids,
                security_group_id=self.security_groups.alb.id,
                account_id=self.account_id,
                certificate_arn=str(config.web.certificate_arn),
                deletion_protection=config.web.alb_deletion_protection,
                tags=config.tags,
            ),
            opts=self._child,
        )
        self.alarms = DeploymentAlarms(
            "deployment-alarms",
            DeploymentAlarmsArgs(
                prefix=config.prefix,
                load_balancer_arn_suffix=self.load_balancer.alb.arn_suffix,
                target_group_arn_suffixes=(
                    self.load_balancer.primary.arn_suffix,
                    self.load_balancer.alternate.arn_suffix,
                ),
                error_rate_percent=config.web.deployment.error_rate_percent,
                error_rate_min_requests=config.web.deployment.error_rate_min_requests,
                tags=config.tags,
                alerting=self.alerting,
            ),
            opts=self._child,
        )
        if config.waf_enabled:
            self.firewall = WebFirewall(
                "firewall",
                WebFirewallArgs(
                    prefix=config.prefix,
                    load_balancer_arn=self.load_balancer.alb.arn,
                    config=config.waf,
                    log_retention_days=config.log_retention_days,
                    tags=config.tags,
                ),
                opts=self._child,
            )
        if config.cutover.routes:
            self.cutover = Cutover(
                "cutover",
                CutoverArgs(
                    prefix=config.prefix,
                    routes=tuple(config.cutover.routes),
                    vpc_id=self.network.vpc_id,
                    listener_arn=self.load_balancer.listener.arn,
                    load_balancer_arn_suffix=self.load_balancer.alb.arn_suffix,
                    ecs_load_balancer_role_name=self.load_balancer.ecs_role.name,
                    log_retention_days=config.log_retention_days,
                    tags=config.tags,
                    alerting=self.alerting,
                ),
                opts=self._child,
            )

    def _workloads(self) -> None:
        """Run the migration and the preflight, then start the web and worker services."""
        config = self.config
        environment = role_environment(
            config,
            allowed_hosts=join(",", [*config.web.domain_names, self.load_balancer.alb.dns_name]),
            vpc_cidr=self.network.vpc_cidr,
            database=self.database.environment,
            region=self.region,
        )
        self.migration = Migration(
            "migration",
            MigrationArgs(
                prefix=config.prefix,
                cluster_name=self.cluster.name,
                task=self._task("migrate", environment, MIGRATE_SIZE),
                private_subnet_ids=self.network.private_subnet_ids,
                security_group_id=self.security_groups.migrate.id,
                depends_on=self.database_ready,
                tags=config.tags,
            ),
            opts=self._child,
        )
        # The roles that serve the app also get the rotated secrets' ARNs; migrate not.
        serving = service_environment(config, environment)
        web, worker = config.web, config.worker
        web_task = self._task(
            "web",
            web_environment(config, serving),
            TaskSize(cpu=web.cpu, memory=web.memory),
            port=constants.PORT,
        )
        self.web = WebService(
            "web",
            WebServiceArgs(
                service=self._service(
                    web_task,
                    min_count=web.min_count,
                    max_count=web.max_count,
                    cpu_target_percent=web.cpu_target_percent,
                    depends_on=[self.migration.run, self.load_balancer.production_rule],
                ),
                traffic=WebTraffic(
                    primary_target_group_arn=self.load_balancer.primary.arn,
                    alternate_target_group_arn=self.load_balancer.alternate.arn,
                    production_listener_rule_arn=self.load_balancer.production_rule.arn,
                    ecs_load_balancer_role_arn=self.load_balancer.ecs_role.arn,
                    load_balancer_arn_suffix=self.load_balancer.alb.arn_suffix,
                ),
                deployment=web.deployment,
                rollback_alarm_names=self.alarms.alarm_names,
                requests_per_task_target=web.requests_per_task_target,
            ),
            opts=self._child,
        )
        if self.cutover is not None and self.cutover.keel_target_group_arns:
            self._cutover_service(web_environment(config, serving))
        self.worker = WorkerService(
            "worker",
            WorkerServiceArgs(
                service=self._service(
                    self._task("worker", serving, TaskSize(cpu=worker.cpu, memory=worker.memory)),
                    min_count=worker.min_count,
                    max_count=worker.max_count,
                    cpu_target_percent=worker.cpu_target_percent,
                    depends_on=[self.migration.run, self.web.preflight.run],
                ),
                spot_percent=worker.spot_percent,
                backlog_per_task=worker.backlog_per_task,
            ),
            opts=self._child,
        )

    def _cutover_service(self, environment: dict[str, pulumi.Input[str]]) -> None:
        """Run the web role behind the routes' keel target groups, after the preflight."""
        assert self.cutover is not None
        config = self.config
        web = config.web
        service = dataclasses.replace(
            self._service(
                self._task(
                    "web",
                    environment,
                    TaskSize(cpu=web.cpu, memory=web.memory),
                    port=constants.PORT,
                    suffix=CUTOVER_SUFFIX,
                ),
                min_count=config.cutover.min_count,
                max_count=config.cutover.max_count,
                cpu_target_percent=config.cutover.cpu_target_percent,
                depends_on=[self.migration.run, self.web.preflight.run],
            ),
            name_suffix=CUTOVER_SUFFIX,
        )
        self.cutover_service = CutoverService(
            "web-cutover",
            CutoverServiceArgs(
                service=service,
                target_group_arns=self.cutover.keel_target_group_arns,
                rollback_alarm_names=self.cutover.alarm_names,
            ),
            opts=self._child,
        )

    def _task(
        self,
        role: str,
        environment: dict[str, pulumi.Input[str]],
        size: TaskSize,
        port: int | None = None,
        suffix: str = "",
    ) -> TaskSpec:
        """Return one role's task: the shared image and secrets, its own role and logs,
        and its service's name (``suffix`` for a second service of a role) on its metrics."""
        return TaskSpec(
            container=ContainerSpec(
                role=role,
                image=self.image,
                environment=with_metrics_service(
                    environment, metrics_service(self.config.prefix, role, suffix)
                ),
                secrets=self.secrets,
                log_group=self.cluster.log_groups[role].name,
                region=self.region,
                port=port,
                # The one-off migration task is never exec'd into; its root stays read-only.
                ecs_exec=self.config.enable_exec and role != "migrate",
            ),
            size=size,
            execution_role_arn=self.roles.execution_role.arn,
            task_role_arn=self.roles.task_roles[role].arn,
            cpu_architecture=self.config.cpu_architecture,
        )

    def _service(
        self,
        task: TaskSpec,
        *,
        min_count: int,
        max_count: int,
        cpu_target_percent: float,
        depends_on: list[pulumi.Resource],
    ) -> ServiceArgs:
        """Return what a role's service shares with the other: cluster, network, scaling."""
        return ServiceArgs(
            prefix=self.config.prefix,
            cluster_arn=self.cluster.arn,
            cluster_name=self.cluster.name,
            task=task,
            private_subnet_ids=self.network.private_subnet_ids,
            security_group_id=self.security_groups.task_groups()[task.container.role].id,
            min_count=min_count,
            max_count=max_count,
            cpu_target_percent=cpu_target_percent,
            tags=self.config.tags,
            depends_on=depends_on,
        )

    def _observability(self) -> None:
        """Build the alarms on keel's own metrics and the dashboard beside ALB's and ECS's."""
        config = self.config
        services = {role: metrics_service(config.prefix, role) for role in ("web", "worker")}
        if self.cutover_service is not None:
            services["web-cutover"] = metrics_service(config.prefix, "web", CUTOVER_SUFFIX)
        self.operations_alarms = OperationsAlarms(
            "operations-alarms",
            OperationsAlarmsArgs(
                prefix=config.prefix,
                config=config.alarms,
                alerting=self.alerting,
                worker_service=services["worker"],
                database_services=list(services.values()),
                tags=config.tags,
            ),
            opts=self._child,
        )
        alarms = [
            self.alarms.error_rate,
            self.alarms.unhealthy_targets,
            self.operations_alarms.backlog,
            self.operations_alarms.failure_rate,
            self.operations_alarms.recoveries,
            self.operations_alarms.database_errors,
        ]
        if self.cutover is not None:
            alarms += [alarm for route in self.cutover.routes.values() for alarm in route.alarms]
        self.dashboard = Dashboard(
            "dashboard",
            DashboardArgs(
                prefix=config.prefix,
                region=self.region,
                load_balancer_arn_suffix=self.load_balancer.alb.arn_suffix,
                target_group_arn_suffixes=[
                    self.load_balancer.primary.arn_suffix,
                    self.load_balancer.alternate.arn_suffix,
                ],
                cluster_name=self.cluster.name,
                services=services,
                alarm_arns=[alarm.arn for alarm in alarms],
                web_acl_name=self.firewall.name if self.firewall is not None else None,
            ),
            opts=self._child,
        )
