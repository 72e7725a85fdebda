"""The network keel runs in: a new VPC, or an existing one looked up read-only."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from keel.infra.config import NetworkConfig
from keel.infra.outputs import concat

#: Interface endpoints a task needs to start without a NAT gateway: image pulls (ECR API
#: and registry), log shipping and secret injection. S3 (image layers) is a gateway.
INTERFACE_ENDPOINTS = ("ecr.api", "ecr.dkr", "logs", "secretsmanager")


@dataclass(frozen=True, kw_only=True)
class NetworkArgs:
    config: NetworkConfig
    prefix: str
    tags: Mapping[str, str]
    #: Extra interface endpoints (e.g. "ssmmessages" for ECS Exec, "bedrock-runtime").
    extra_endpoints: tuple[str, ...] = ()


class Network(pulumi.ComponentResource):
    """A VPC with public subnets (the ALB) and private subnets (tasks and the database).

    With ``config.vpc_id`` set the VPC and subnets are only read, never created or
    changed, so a stack can stand beside the infrastructure that already uses them.
    """

    vpc_id: pulumi.Output[str]
    vpc_cidr: pulumi.Output[str]
    public_subnet_ids: pulumi.Output[list[str]]
    private_subnet_ids: pulumi.Output[list[str]]

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None):
        args.config.check()
        super().__init__("keel:aws:Network", name, None, opts)
        self._args = args
        self._tags = dict(args.tags)
        child = pulumi.ResourceOptions(parent=self)
        if args.config.existing:
            self._look_up(args.config, child)
        else:
            self._create(args.config, child)
        if args.config.endpoints_enabled:
            self._endpoints(child)
        self.register_outputs(
            {
                "vpc_id": self.vpc_id,
                "vpc_cidr": self.vpc_cidr,
                "public_subnet_ids": self.public_subnet_ids,
                "private_subnet_ids": self.private_subnet_ids,
            }
        )

    def _look_up(self, config: NetworkConfig, child: pulumi.ResourceOptions) -> None:
        vpc = aws.ec2.get_vpc_output(id=config.vpc_id, opts=pulumi.InvokeOptions(parent=self))
        self.vpc_id = vpc.id
        self.vpc_cidr = vpc.cidr_block
        self.public_subnet_ids = pulumi.Output.from_input(list(config.public_subnet_ids))
        self.private_subnet_ids = pulumi.Output.from_input(list(config.private_subnet_ids))
        if config.endpoints_enabled:
            # Read only for the S3 gateway endpoint, which attaches to route tables.
            self._private_route_table_ids = pulumi.Output.all(
                *[
                    aws.ec2.get_route_table_output(
                        subnet_id=subnet_id, opts=pulumi.InvokeOptions(parent=self)
                    ).id
                    for subnet_id in config.private_subnet_ids
                ]
            ).apply(lambda ids: sorted(set(ids)))

    def _create(self, config: NetworkConfig, child: pulumi.ResourceOptions) -> None:
        prefix = self._args.prefix
        zones = aws.get_availability_zones_output(
            state="available", opts=pulumi.InvokeOptions(parent=self)
        )
        # Private subnets take the first blocks (tasks need the addresses), public the
        # last: a /16 yields /20s, so room is left between them to add zones later.
        blocks = list(ipaddress.ip_network(config.cidr).subnets(prefixlen_diff=4))
        vpc = aws.ec2.Vpc(
            "vpc",
            cidr_block=config.cidr,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags={**self._tags, "Name": prefix},
            opts=child,
        )
        gateway = aws.ec2.InternetGateway(
            "internet-gateway",
            vpc_id=vpc.id,
            tags={**self._tags, "Name": prefix},
            opts=child,
        )
        public_routes = aws.ec2.RouteTable(
            "public-routes",
            vpc_id=vpc.id,
            routes=[{"cidr_block": "0.0.0.0/0", "gateway_id": gateway.id}],
            tags={**self._tags, "Name": f"{prefix}-public"},
            opts=child,
        )
        public, private, private_tables = [], [], []
        nat_gateways: list[aws.ec2.NatGateway] = []
        for index in range(config.availability_zones):
            zone = zones.names[index]
            public_subnet = aws.ec2.Subnet(
                f"public-{index}",
                vpc_id=vpc.id,
                cidr_block=str(blocks[-1 - index]),
                availability_zone=zone,
                map_public_ip_on_launch=False,
                tags={**self._tags, "Name": f"{prefix}-public-{index}", "keel:tier": "public"},
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"public-{index}",
                subnet_id=public_subnet.id,
                route_table_id=public_routes.id,
                opts=child,
            )
            private_subnet = aws.ec2.Subnet(
                f"private-{index}",
                vpc_id=vpc.id,
                cidr_block=str(blocks[index]),
                availability_zone=zone,
                map_public_ip_on_launch=False,
                tags={**self._tags, "Name": f"{prefix}-private-{index}", "keel:tier": "private"},
                opts=child,
            )
            if config.nat == "per-az" or (config.nat == "single" and index == 0):
                address = aws.ec2.Eip(
                    f"nat-{index}",
                    domain="vpc",
                    tags={**self._tags, "Name": f"{prefix}-nat-{index}"},
                    opts=child,
                )
                nat_gateways.append(
                    aws.ec2.NatGateway(
                        f"nat-{index}",
                        allocation_id=address.id,
                        subnet_id=public_subnet.id,
                        tags={**self._tags, "Name": f"{prefix}-nat-{index}"},
                        opts=pulumi.ResourceOptions(parent=self, depends_on=[gateway]),
                    )
                )
            routes: list[aws.ec2.RouteTableRouteArgsDict] = []
            if nat_gateways:
                routes.append({"cidr_block": "0.0.0.0/0", "nat_gateway_id": nat_gateways[-1].id})
            private_table = aws.ec2.RouteTable(
                f"private-routes-{index}",
                vpc_id=vpc.id,
                routes=routes,
                tags={**self._tags, "Name": f"{prefix}-private-{index}"},
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"private-{index}",
                subnet_id=private_subnet.id,
                route_table_id=private_table.id,
                opts=child,
            )
            public.append(public_subnet.id)
            private.append(private_subnet.id)
            private_tables.append(private_table.id)
        self.vpc_id = vpc.id
        self.vpc_cidr = vpc.cidr_block
        self.public_subnet_ids = pulumi.Output.all(*public).apply(list)
        self.private_subnet_ids = pulumi.Output.all(*private).apply(list)
        self._private_route_table_ids = pulumi.Output.all(*private_tables).apply(list)

    def _endpoints(self, child: pulumi.ResourceOptions) -> None:
        prefix = self._args.prefix
        region = aws.get_region_output(opts=pulumi.InvokeOptions(parent=self)).region
        endpoint_group = aws.ec2.SecurityGroup(
            "endpoints",
            name=f"{prefix}-endpoints",
            description="HTTPS to the VPC's interface endpoints from inside the VPC",
            vpc_id=self.vpc_id,
            tags={**self._tags, "Name": f"{prefix}-endpoints"},
            opts=child,
        )
        aws.vpc.SecurityGroupIngressRule(
            "endpoints-https-from-vpc",
            security_group_id=endpoint_group.id,
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            cidr_ipv4=self.vpc_cidr,
            description="HTTPS from inside the VPC",
            tags=self._tags,
            opts=child,
        )
        aws.ec2.VpcEndpoint(
            "s3",
            vpc_id=self.vpc_id,
            service_name=concat("com.amazonaws.", region, ".s3"),
            vpc_endpoint_type="Gateway",
            route_table_ids=self._private_route_table_ids,
            tags={**self._tags, "Name": f"{prefix}-s3"},
            opts=child,
        )
        for service in (*INTERFACE_ENDPOINTS, *self._args.extra_endpoints):
            aws.ec2.VpcEndpoint(
                service.replace(".", "-"),
                vpc_id=self.vpc_id,
                service_name=concat("com.amazonaws.", region, ".", service),
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=self.private_subnet_ids,
                security_group_ids=[endpoint_group.id],
                tags={**self._tags, "Name": f"{prefix}-{service}"},
                opts=child,
            )
