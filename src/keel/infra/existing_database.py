"""A PostgreSQL database keel uses but does not own: looked up, never changed.

keel reads the database's security group (an invoke, never a resource, so Pulumi can
neither update nor delete it), lets its own task groups send to it, and gives the tasks
the ARN of the secret holding the database URL. The one change the database's side
needs, an ingress rule admitting keel's task groups, is printed as the exact AWS CLI
command (stack output ``database_ingress_command``) for its owners to apply: keel
never modifies a looked-up resource (docs/deploy.md, "An existing database").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from keel.infra.config import ExistingDatabaseConfig
from keel.infra.outputs import when_created

#: The plain variable naming the secret whose value is the database URL.
URL_SECRET_VARIABLE = "DATABASE_URL_SECRET_ARN"  # noqa: S105 (a variable name)


@dataclass(frozen=True, kw_only=True)
class ExistingDatabaseArgs:
    config: ExistingDatabaseConfig
    prefix: str
    #: keel's VPC: the database's security group must be in it.
    vpc_id: pulumi.Input[str]
    region: pulumi.Input[str]
    #: Role -> the task security group that needs to reach the database.
    client_security_groups: Mapping[str, pulumi.Input[str]]
    tags: Mapping[str, str]


def ingress_command(
    *, region: str, group_id: str, port: int, clients: Sequence[tuple[str, str]]
) -> str:
    """Return the ``aws ec2 authorize-security-group-ingress`` that admits ``clients``.

    ``clients`` are (description, security group id) pairs; one command, one rule per
    group, on the database's port only.
    """
    pairs = ",".join(
        f"{{GroupId={client},Description={description}}}" for description, client in clients
    )
    return (
        f"aws ec2 authorize-security-group-ingress --region {region} --group-id {group_id} "
        f"--ip-permissions 'IpProtocol=tcp,FromPort={port},ToPort={port},"
        f"UserIdGroupPairs=[{pairs}]'"
    )


class ExistingDatabase(pulumi.ComponentResource):
    """keel's side of an existing database: egress to it and the URL secret's ARN."""

    security_group: pulumi.Output[aws.ec2.GetSecurityGroupResult]
    #: The environment every role gets: the URL secret's ARN, read by the processes.
    environment: dict[str, pulumi.Input[str]]
    #: The one secret the task roles read at run time.
    secret_arn: pulumi.Output[str]
    ingress_command: pulumi.Output[str]

    def __init__(
        self, name: str, args: ExistingDatabaseArgs, opts: pulumi.ResourceOptions | None = None
    ):
        args.config.check()
        if not args.client_security_groups:
            raise ValueError("existing database: at least one client security group is required")
        super().__init__("keel:aws:ExistingDatabase", name, None, opts)
        config = args.config
        child = pulumi.ResourceOptions(parent=self)
        self.security_group = aws.ec2.get_security_group_output(
            id=config.security_group_id, opts=pulumi.InvokeOptions(parent=self)
        )
        group_id = pulumi.Output.all(self.security_group, args.vpc_id).apply(
            when_created(lambda found: _in_vpc(found[0], found[1]), otherwise="")
        )
        for role, client in args.client_security_groups.items():
            aws.vpc.SecurityGroupEgressRule(
                f"{role}-out-database",
                security_group_id=client,
                ip_protocol="tcp",
                from_port=config.port,
                to_port=config.port,
                referenced_security_group_id=group_id,
                description="PostgreSQL to the existing database",
                tags=dict(args.tags),
                opts=child,
            )
        roles = sorted(args.client_security_groups)
        self.ingress_command = pulumi.Output.all(
            args.region, group_id, *(args.client_security_groups[role] for role in roles)
        ).apply(
            when_created(
                lambda values: ingress_command(
                    region=values[0],
                    group_id=values[1],
                    port=config.port,
                    clients=[
                        (f"{args.prefix}-{role}", client)
                        for role, client in zip(roles, values[2:], strict=True)
                    ],
                ),
                otherwise="",
            )
        )
        self.secret_arn = pulumi.Output.from_input(config.url_secret_arn)
        self.environment = {URL_SECRET_VARIABLE: config.url_secret_arn}
        self.register_outputs({"ingress_command": self.ingress_command})


def _in_vpc(group: aws.ec2.GetSecurityGroupResult, vpc_id: str) -> str:
    if group.vpc_id != vpc_id:
        raise ValueError(
            f"existing database: security group {group.id} is in {group.vpc_id}, keel's tasks "
            f"in {vpc_id}; a rule can admit a group of its own VPC only"
        )
    return group.id
