"""The security groups of the load balancer and of each task role, and the rules between them."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from keel.constants import PORT
from keel.infra.access_config import TASK_ROLES, EgressRule

ANYWHERE = "0.0.0.0/0"
#: The only ports open to the internet, and only on the ALB.
PUBLIC_PORTS = (80, 443)


@dataclass(frozen=True, kw_only=True)
class SecurityGroupsArgs:
    vpc_id: pulumi.Input[str]
    prefix: str
    tags: Mapping[str, str]
    #: The team's own outbound needs (Redis, SMTP, a partner API), per task role.
    egress: Sequence[EgressRule] = ()


class SecurityGroups(pulumi.ComponentResource):
    """One group for the ALB and one per task role.

    The internet reaches only the ALB, on 80 and 443; the web tasks accept keel's port
    only from the ALB's group; worker and migration tasks accept nothing. Tasks send
    HTTPS anywhere, and what ``egress`` adds for their role. Rules are separate
    resources (not inline blocks) so the tests and the policy pack see each one. The
    database adds its own ingress from these groups.
    """

    alb: aws.ec2.SecurityGroup
    web: aws.ec2.SecurityGroup
    worker: aws.ec2.SecurityGroup
    migrate: aws.ec2.SecurityGroup

    def __init__(
        self, name: str, args: SecurityGroupsArgs, opts: pulumi.ResourceOptions | None = None
    ):
        if not args.prefix:
            raise ValueError("security groups: prefix is required")
        for rule in args.egress:
            rule.check()
        super().__init__("keel:aws:SecurityGroups", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)

        def group(role: str, description: str) -> aws.ec2.SecurityGroup:
            return aws.ec2.SecurityGroup(
                role,
                name=f"{args.prefix}-{role}",
                description=description,
                vpc_id=args.vpc_id,
                tags={**tags, "Name": f"{args.prefix}-{role}", "keel:role": role},
                opts=child,
            )

        self.alb = group("alb", "keel load balancer: HTTP and HTTPS from the internet")
        self.web = group("web", "keel web tasks: the app port from the load balancer only")
        self.worker = group("worker", "keel worker tasks: no inbound traffic")
        self.migrate = group("migrate", "keel migration task: no inbound traffic")

        for port in PUBLIC_PORTS:
            aws.vpc.SecurityGroupIngressRule(
                f"alb-in-{port}",
                security_group_id=self.alb.id,
                ip_protocol="tcp",
                from_port=port,
                to_port=port,
                cidr_ipv4=ANYWHERE,
                description=f"port {port} from the internet",
                tags=tags,
                opts=child,
            )
        aws.vpc.SecurityGroupEgressRule(
            "alb-out-web",
            security_group_id=self.alb.id,
            ip_protocol="tcp",
            from_port=PORT,
            to_port=PORT,
            referenced_security_group_id=self.web.id,
            description="to the web tasks on keel's port",
            tags=tags,
            opts=child,
        )
        aws.vpc.SecurityGroupIngressRule(
            "web-in-alb",
            security_group_id=self.web.id,
            ip_protocol="tcp",
            from_port=PORT,
            to_port=PORT,
            referenced_security_group_id=self.alb.id,
            description="keel's port from the load balancer",
            tags=tags,
            opts=child,
        )
        # Tasks call AWS APIs, model providers and the registry over HTTPS; the database
        # adds the 5432 egress it needs.
        for role, group_resource in self.task_groups().items():
            aws.vpc.SecurityGroupEgressRule(
                f"{role}-out-https",
                security_group_id=group_resource.id,
                ip_protocol="tcp",
                from_port=443,
                to_port=443,
                cidr_ipv4=ANYWHERE,
                description="HTTPS to AWS APIs and model providers",
                tags=tags,
                opts=child,
            )
        for rule in args.egress:
            for role in rule.roles:
                self._egress(role, rule, tags, child)
        self.register_outputs(
            {
                "alb": self.alb.id,
                "web": self.web.id,
                "worker": self.worker.id,
                "migrate": self.migrate.id,
            }
        )

    def task_groups(self) -> dict[str, aws.ec2.SecurityGroup]:
        """Return the groups of every task role, by role."""
        groups = {"web": self.web, "worker": self.worker, "migrate": self.migrate}
        return {role: groups[role] for role in TASK_ROLES}

    def _egress(
        self, role: str, rule: EgressRule, tags: dict[str, str], child: pulumi.ResourceOptions
    ) -> None:
        from_port, to_port = rule.ports
        for destination in rule.destinations:
            # One rule per destination, named by it, so adding one never replaces another.
            target: dict[str, str] = {}
            if destination.startswith("pl-"):
                target["prefix_list_id"] = destination
            elif ipaddress.ip_network(destination).version == 4:
                target["cidr_ipv4"] = destination
            else:
                target["cidr_ipv6"] = destination
            aws.vpc.SecurityGroupEgressRule(
                f"{role}-out-{rule.name}-{re.sub(r'[^a-z0-9]+', '-', destination.lower())}",
                security_group_id=self.task_groups()[role].id,
                ip_protocol=rule.protocol,
                from_port=from_port,
                to_port=to_port,
                description=rule.description or f"{rule.name} (keel:egress)",
                tags=tags,
                opts=child,
                **target,
            )
