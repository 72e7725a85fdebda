"""RDS PostgreSQL for keel's tables and DBOS's system tables."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from keel.infra.config import POSTGRES_PORT, DatabaseConfig
from keel.infra.outputs import when_created

#: The plain variable naming the RDS-managed master secret (JSON: username, password):
#: the processes read the password from it at each new connection, so a rotation
#: needs no new task.
PASSWORD_SECRET_VARIABLE = "DATABASE_PASSWORD_SECRET_ARN"  # noqa: S105 (a variable name)


@dataclass(frozen=True, kw_only=True)
class DatabaseArgs:
    config: DatabaseConfig
    prefix: str
    vpc_id: pulumi.Input[str]
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    #: The task security groups allowed to connect; nothing else is.
    client_security_groups: Mapping[str, pulumi.Input[str]]
    log_retention_days: int
    tags: Mapping[str, str]


class Database(pulumi.ComponentResource):
    """An encrypted, private PostgreSQL instance whose master password RDS manages.

    The instance is ``protect``-ed and ``retain_on_delete``: destroying the stack leaves
    the database (and its final snapshot) behind; only a deliberate unprotect deletes it.
    """

    instance: aws.rds.Instance
    address: pulumi.Output[str]
    port: pulumi.Output[int]
    #: The Secrets Manager secret RDS keeps the master credentials in (JSON: username, password).
    master_secret_arn: pulumi.Output[str]
    #: The one secret the task roles read at run time (the master secret).
    secret_arn: pulumi.Output[str]
    security_group: aws.ec2.SecurityGroup
    #: The environment every role gets to reach the database (no secret in it).
    environment: dict[str, pulumi.Input[str]]

    def __init__(self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None):
        args.config.check()
        if args.config.existing is not None:
            raise ValueError("database: an existing database is keel.infra.existing_database's")
        if args.log_retention_days < 1:
            raise ValueError("database: log_retention_days must be at least 1")
        if not args.client_security_groups:
            raise ValueError("database: at least one client security group is required")
        super().__init__("keel:aws:Database", name, None, opts)
        config = args.config
        tags = dict(args.tags)
        child = pulumi.ResourceOptions(parent=self)

        self.security_group = aws.ec2.SecurityGroup(
            "database",
            name=f"{args.prefix}-database",
            description="keel PostgreSQL: 5432 from keel's task security groups only",
            vpc_id=args.vpc_id,
            tags={**tags, "Name": f"{args.prefix}-database", "keel:role": "database"},
            opts=child,
        )
        for role, group_id in args.client_security_groups.items():
            aws.vpc.SecurityGroupIngressRule(
                f"database-in-{role}",
                security_group_id=self.security_group.id,
                ip_protocol="tcp",
                from_port=POSTGRES_PORT,
                to_port=POSTGRES_PORT,
                referenced_security_group_id=group_id,
                description=f"PostgreSQL from the {role} tasks",
                tags=tags,
                opts=child,
            )
            aws.vpc.SecurityGroupEgressRule(
                f"{role}-out-database",
                security_group_id=group_id,
                ip_protocol="tcp",
                from_port=POSTGRES_PORT,
                to_port=POSTGRES_PORT,
                referenced_security_group_id=self.security_group.id,
                description="PostgreSQL to keel's database",
                tags=tags,
                opts=child,
            )
        subnet_group = aws.rds.SubnetGroup(
            "database",
            name=f"{args.prefix}-database",
            description="keel's private subnets",
            subnet_ids=args.subnet_ids,
            tags=tags,
            opts=child,
        )
        identifier = f"{args.prefix}-database"
        # Created here, before the instance, so RDS does not create it without retention.
        postgres_log = aws.cloudwatch.LogGroup(
            "database-postgresql",
            name=f"/aws/rds/instance/{identifier}/postgresql",
            retention_in_days=args.log_retention_days,
            tags=tags,
            opts=child,
        )
        self.instance = aws.rds.Instance(
            "database",
            identifier=identifier,
            engine="postgres",
            engine_version=config.engine_version,
            instance_class=config.instance_class,
            allocated_storage=config.allocated_storage,
            max_allocated_storage=config.max_allocated_storage,
            storage_type="gp3",
            storage_encrypted=True,
            db_name=config.name,
            username=config.username,
            manage_master_user_password=True,
            port=POSTGRES_PORT,
            db_subnet_group_name=subnet_group.name,
            vpc_security_group_ids=[self.security_group.id],
            publicly_accessible=False,
            multi_az=config.multi_az,
            backup_retention_period=config.backup_retention_days,
            backup_window="03:00-04:00",
            maintenance_window="sun:04:30-sun:05:30",
            copy_tags_to_snapshot=True,
            deletion_protection=True,
            skip_final_snapshot=False,
            final_snapshot_identifier=f"{args.prefix}-database-final",
            auto_minor_version_upgrade=True,
            performance_insights_enabled=config.performance_insights,
            enabled_cloudwatch_logs_exports=["postgresql"],
            tags=tags,
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[postgres_log], protect=True, retain_on_delete=True
            ),
        )
        self.address = self.instance.address
        self.port = self.instance.port
        self.master_secret_arn = self.instance.master_user_secrets.apply(
            when_created(_secret_arn, otherwise="")
        )
        self.secret_arn = self.master_secret_arn
        self.environment = {
            "DATABASE_HOST": self.address,
            "DATABASE_PORT": self.port.apply(str),
            "DATABASE_NAME": config.name,
            "DATABASE_USER": config.username,
            PASSWORD_SECRET_VARIABLE: self.master_secret_arn,
        }
        self.register_outputs(
            {
                "address": self.address,
                "port": self.port,
                "master_secret_arn": self.master_secret_arn,
            }
        )


def _secret_arn(secrets: Sequence[aws.rds.outputs.InstanceMasterUserSecret]) -> str:
    arn = secrets[0].secret_arn if secrets else None
    if not arn:
        raise ValueError("database: RDS reported no managed master-user secret")
    return arn
