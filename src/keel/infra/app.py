"""The whole keel deployment of one stack, composed from keel's components."""

from __future__ import annotations

import re

import pulumi
import pulumi_aws as aws

from keel import constants
from keel.infra.cluster import Cluster, ClusterArgs
from keel.infra.config import StackConfig
from keel.infra.containers import ContainerSpec, TaskSize
from keel.infra.database import Database, DatabaseArgs
from keel.infra.deployment_alarms import DeploymentAlarms, DeploymentAlarmsArgs
from keel.infra.load_balancer import LoadBalancer, LoadBalancerArgs
from keel.infra.migration import Migration, MigrationArgs
from keel.infra.network import Network, NetworkArgs
from keel.infra.registry import ImageRepository, ImageRepositoryArgs
from keel.infra.roles import TaskRoles, TaskRolesArgs, secret_arn_of
from keel.infra.secrets import AppSecret, AppSecretArgs
from keel.infra.security_groups import SecurityGroups, SecurityGroupsArgs
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


class KeelApp(pulumi.ComponentResource):
    """Network, database, registry, cluster, roles, ALB, migration, web and worker services.

    The wiring of ``infra/__main__.py`` and of the tests: both build exactly this.
    """

    def __init__(self, name: str, config: StackConfig, opts: pulumi.ResourceOptions | None = None):
        config.check()
        super().__init__("keel:aws:App", name, None, opts)
        prefix = config.prefix
        tags = config.tags
        child = pulumi.ResourceOptions(parent=self)
        invoke = pulumi.InvokeOptions(parent=self)
        region = aws.get_region_output(opts=invoke).region
        account_id = aws.get_caller_identity_output(opts=invoke).account_id

        extra_endpoints: tuple[str, ...] = ()
        if config.enable_exec:
            extra_endpoints += ("ssmmessages",)
        if config.bedrock_models:
            extra_endpoints += ("bedrock-runtime",)
        self.network = Network(
            "network",
            NetworkArgs(
                config=config.network,
                prefix=prefix,
                tags=tags,
                extra_endpoints=extra_endpoints,
            ),
            opts=child,
        )
        self.security_groups = SecurityGroups(
            "security-groups",
            SecurityGroupsArgs(vpc_id=self.network.vpc_id, prefix=prefix, tags=tags),
            opts=child,
        )
        self.database = Database(
            "database",
            DatabaseArgs(
                config=config.database,
                prefix=prefix,
                vpc_id=self.network.vpc_id,
                subnet_ids=self.network.private_subnet_ids,
                client_security_groups={
                    role: group.id for role, group in self.security_groups.task_groups().items()
                },
                log_retention_days=config.log_retention_days,
                tags=tags,
            ),
            opts=child,
        )
        self.repository = ImageRepository(
            "registry",
            ImageRepositoryArgs(prefix=prefix, keep_images=config.ecr_keep_images, tags=tags),
            opts=child,
        )
        self.cluster = Cluster(
            "cluster",
            ClusterArgs(prefix=prefix, log_retention_days=config.log_retention_days, tags=tags),
            opts=child,
        )
        self.secret_key = AppSecret(
            "secret-key",
            AppSecretArgs(prefix=prefix, purpose="django-secret-key", tags=tags),
            opts=child,
        )

        if config.image:
            image: pulumi.Input[str] = config.image
            repository_arn: pulumi.Input[str] | None = ecr_repository_arn(config.image)
        else:
            image = pulumi.Output.concat(self.repository.url, ":", config.image_tag or "")
            repository_arn = self.repository.arn
        self.image = pulumi.Output.from_input(image)

        #: Name -> valueFrom of every secret the containers get.
        self.secrets: dict[str, pulumi.Input[str]] = {
            "SECRET_KEY": self.secret_key.arn,
            "DATABASE_PASSWORD": pulumi.Output.concat(
                self.database.master_secret_arn, ":password::"
            ),
            **config.secrets,
        }
        secret_arns: list[pulumi.Input[str]] = [
            self.secret_key.arn,
            self.database.master_secret_arn,
            *sorted({secret_arn_of(value_from) for value_from in config.secrets.values()}),
        ]
        self.roles = TaskRoles(
            "roles",
            TaskRolesArgs(
                prefix=prefix,
                account_id=account_id,
                region=region,
                secret_arns=secret_arns,
                log_group_arns=[group.arn for group in self.cluster.log_groups.values()],
                repository_arn=repository_arn,
                bedrock_models=tuple(config.bedrock_models),
                enable_exec=config.enable_exec,
                tags=tags,
            ),
            opts=child,
        )
        self.load_balancer = LoadBalancer(
            "load-balancer",
            LoadBalancerArgs(
                prefix=prefix,
                vpc_id=self.network.vpc_id,
                public_subnet_ids=self.network.public_subnet_ids,
                security_group_id=self.security_groups.alb.id,
                account_id=account_id,
                certificate_arn=config.web.certificate_arn,
                deletion_protection=config.web.alb_deletion_protection,
                tags=tags,
            ),
            opts=child,
        )
        self.alarms = DeploymentAlarms(
            "deployment-alarms",
            DeploymentAlarmsArgs(
                prefix=prefix,
                load_balancer_arn_suffix=self.load_balancer.alb.arn_suffix,
                target_group_arn_suffixes=(
                    self.load_balancer.primary.arn_suffix,
                    self.load_balancer.alternate.arn_suffix,
                ),
                error_rate_percent=config.web.deployment.error_rate_percent,
                error_rate_min_requests=config.web.deployment.error_rate_min_requests,
                tags=tags,
            ),
            opts=child,
        )

        allowed_hosts = pulumi.Output.all(
            *config.web.domain_names, self.load_balancer.alb.dns_name
        ).apply(",".join)
        environment: dict[str, pulumi.Input[str]] = {
            **config.environment,
            "DJANGO_SETTINGS_MODULE": config.django_settings_module,
            "DEBUG": "false",
            "ALLOWED_HOSTS": allowed_hosts,
            "PORT": str(constants.PORT),
            # gunicorn trusts X-Forwarded-* only from inside the VPC (the ALB).
            "FORWARDED_ALLOW_IPS": self.network.vpc_cidr,
            "DATABASE_HOST": self.database.address,
            "DATABASE_PORT": self.database.port.apply(str),
            "DATABASE_NAME": config.database.name,
            "DATABASE_USER": config.database.username,
            "AWS_REGION": region,
        }
        web_environment = dict(environment)
        if config.web.concurrency is not None:
            web_environment["WEB_CONCURRENCY"] = str(config.web.concurrency)

        def container(role: str, env: dict, port: int | None = None) -> ContainerSpec:
            return ContainerSpec(
                role=role,
                image=self.image,
                environment=env,
                secrets=self.secrets,
                log_group=self.cluster.log_groups[role].name,
                region=region,
                port=port,
            )

        private = self.network.private_subnet_ids
        self.migration = Migration(
            "migration",
            MigrationArgs(
                prefix=prefix,
                cluster_name=self.cluster.name,
                container=container("migrate", environment),
                size=MIGRATE_SIZE,
                execution_role_arn=self.roles.execution_role.arn,
                task_role_arn=self.roles.task_role.arn,
                private_subnet_ids=private,
                security_group_id=self.security_groups.migrate.id,
                depends_on=[self.database.instance],
                tags=tags,
            ),
            opts=child,
        )
        self.web = WebService(
            "web",
            WebServiceArgs(
                prefix=prefix,
                cluster_arn=self.cluster.arn,
                cluster_name=self.cluster.name,
                container=container("web", web_environment, constants.PORT),
                size=TaskSize(cpu=config.web.cpu, memory=config.web.memory),
                execution_role_arn=self.roles.execution_role.arn,
                task_role_arn=self.roles.task_role.arn,
                private_subnet_ids=private,
                security_group_id=self.security_groups.web.id,
                traffic=WebTraffic(
                    primary_target_group_arn=self.load_balancer.primary.arn,
                    alternate_target_group_arn=self.load_balancer.alternate.arn,
                    production_listener_rule_arn=self.load_balancer.production_rule.arn,
                    ecs_load_balancer_role_arn=self.load_balancer.ecs_role.arn,
                    load_balancer_arn_suffix=self.load_balancer.alb.arn_suffix,
                ),
                deployment=config.web.deployment,
                rollback_alarm_names=self.alarms.alarm_names,
                min_count=config.web.min_count,
                max_count=config.web.max_count,
                cpu_target_percent=config.web.cpu_target_percent,
                requests_per_task_target=config.web.requests_per_task_target,
                enable_exec=config.enable_exec,
                depends_on=[self.migration.run, self.load_balancer.production_rule],
                tags=tags,
            ),
            opts=child,
        )
        self.worker = WorkerService(
            "worker",
            WorkerServiceArgs(
                prefix=prefix,
                cluster_arn=self.cluster.arn,
                cluster_name=self.cluster.name,
                container=container("worker", environment),
                size=TaskSize(cpu=config.worker.cpu, memory=config.worker.memory),
                execution_role_arn=self.roles.execution_role.arn,
                task_role_arn=self.roles.task_role.arn,
                private_subnet_ids=private,
                security_group_id=self.security_groups.worker.id,
                min_count=config.worker.min_count,
                max_count=config.worker.max_count,
                cpu_target_percent=config.worker.cpu_target_percent,
                spot_percent=config.worker.spot_percent,
                enable_exec=config.enable_exec,
                depends_on=[self.migration.run],
                tags=tags,
            ),
            opts=child,
        )
        self.outputs = {
            "url": self.load_balancer.url,
            "cluster": self.cluster.name,
            "web_service": self.web.name,
            "worker_service": self.worker.name,
            "migration_task_family": self.migration.family,
            "image": self.image,
            "repository_url": self.repository.url,
            "database_address": self.database.address,
            "rollback_alarms": self.alarms.alarm_names,
        }
        self.register_outputs(self.outputs)
