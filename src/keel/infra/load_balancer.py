"""The public Application Load Balancer in front of keel's web role."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from keel import constants
from keel.infra.cutover_config import PRODUCTION_RULE_PRIORITY
from keel.infra.outputs import concat

#: Tags the rule ECS owns, so policies and ``keel cutover`` tell it from the cutover rules.
PRODUCTION_RULE_TAG = ("keel:listener-rule", "production")

#: TLS 1.2 and 1.3 only.
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
#: The managed policy that lets ECS move traffic between target groups during blue/green,
#: canary and linear deployments.
ECS_LOAD_BALANCER_POLICY = (
    "arn:aws:iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers"
)


@dataclass(frozen=True, kw_only=True)
class LoadBalancerArgs:
    prefix: str
    vpc_id: pulumi.Input[str]
    public_subnet_ids: pulumi.Input[list[str]]
    security_group_id: pulumi.Input[str]
    account_id: pulumi.Input[str]
    tags: Mapping[str, str]
    #: ACM certificate of the ALB's region for the host names users reach it by.
    certificate_arn: str
    deletion_protection: bool = False


class LoadBalancer(pulumi.ComponentResource):
    """An internet-facing ALB with two target groups and one production listener rule.

    ECS native deployments (canary, linear, blue/green) register the new revision in the
    alternate target group and move traffic by rewriting the rule's weights, so Pulumi
    ignores changes to the rule's actions. Both target groups check keel's health path
    with keel's timings. The ALB serves HTTPS (TLS 1.2+) on 443, where the production
    rule lives, and port 80 only redirects to it. There is no HTTP-only variant: the
    listeners and the rule never change port or listener, so a certificate change is an
    in-place update, never a second listener on a port or a recreated rule pointing at
    the target group ECS has since made idle (docs/adr/0006-first-deploy.md).
    """

    alb: aws.lb.LoadBalancer
    primary: aws.lb.TargetGroup
    alternate: aws.lb.TargetGroup
    #: HTTPS on 443: the production rule's listener.
    listener: aws.lb.Listener
    #: HTTP on 80: redirects to HTTPS.
    redirect: aws.lb.Listener
    production_rule: aws.lb.ListenerRule
    #: The role ECS assumes to rewrite the production rule during deployments.
    ecs_role: aws.iam.Role
    url: pulumi.Output[str]

    def __init__(
        self, name: str, args: LoadBalancerArgs, opts: pulumi.ResourceOptions | None = None
    ):
        if not args.certificate_arn.startswith("arn:"):
            raise ValueError("load balancer: certificate_arn must be an ACM certificate ARN")
        problems = constants.check_timeouts()
        if problems:
            raise ValueError("load balancer: " + "; ".join(problems))
        super().__init__("keel:aws:LoadBalancer", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)

        self.alb = aws.lb.LoadBalancer(
            "alb",
            name=args.prefix,
            load_balancer_type="application",
            internal=False,
            subnets=args.public_subnet_ids,
            security_groups=[args.security_group_id],
            idle_timeout=constants.ALB_IDLE_TIMEOUT,
            drop_invalid_header_fields=True,
            enable_deletion_protection=args.deletion_protection,
            tags=tags,
            opts=child,
        )
        self.primary, self.alternate = (
            web_target_group(
                f"web-{suffix}",
                name=f"{args.prefix}-web-{suffix}",
                vpc_id=args.vpc_id,
                tags=tags,
                opts=child,
            )
            for suffix in ("a", "b")
        )

        not_found: aws.lb.ListenerDefaultActionArgsDict = {
            "type": "fixed-response",
            "fixed_response": {
                "content_type": "text/plain",
                "message_body": "not found",
                "status_code": "404",
            },
        }
        self.listener = aws.lb.Listener(
            "https",
            load_balancer_arn=self.alb.arn,
            port=443,
            protocol="HTTPS",
            ssl_policy=TLS_POLICY,
            certificate_arn=args.certificate_arn,
            default_actions=[not_found],
            tags=tags,
            opts=child,
        )
        self.redirect = aws.lb.Listener(
            "http-redirect",
            load_balancer_arn=self.alb.arn,
            port=80,
            protocol="HTTP",
            default_actions=[
                {
                    "type": "redirect",
                    "redirect": {"port": "443", "protocol": "HTTPS", "status_code": "HTTP_301"},
                }
            ],
            tags=tags,
            opts=child,
        )
        self.production_rule = aws.lb.ListenerRule(
            "production",
            listener_arn=self.listener.arn,
            # Last: the routes being cut over from Lambda sit ahead of it, on rules of
            # their own whose weights ECS never touches (docs/adr/0007-cutover.md).
            priority=PRODUCTION_RULE_PRIORITY,
            conditions=[{"path_pattern": {"values": ["/*"]}}],
            actions=[
                {
                    "type": "forward",
                    "forward": {
                        "target_groups": [
                            {"arn": self.primary.arn, "weight": 100},
                            {"arn": self.alternate.arn, "weight": 0},
                        ]
                    },
                }
            ],
            tags={**tags, PRODUCTION_RULE_TAG[0]: PRODUCTION_RULE_TAG[1]},
            # ECS owns the weights once a deployment has run.
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["actions"]),
        )
        self.ecs_role = aws.iam.Role(
            "ecs-load-balancer",
            name=f"{args.prefix}-ecs-load-balancer",
            description="ECS shifts keel's web traffic between target groups with this",
            assume_role_policy=pulumi.Output.from_input(args.account_id).apply(
                lambda account: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "ecs.amazonaws.com"},
                                "Action": "sts:AssumeRole",
                                "Condition": {"StringEquals": {"aws:SourceAccount": account}},
                            }
                        ],
                    }
                )
            ),
            tags=tags,
            opts=child,
        )
        aws.iam.RolePolicyAttachment(
            "ecs-load-balancer",
            role=self.ecs_role.name,
            policy_arn=ECS_LOAD_BALANCER_POLICY,
            opts=child,
        )
        self.url = concat("https://", self.alb.dns_name)
        self.register_outputs(
            {
                "url": self.url,
                "dns_name": self.alb.dns_name,
                "primary": self.primary.arn,
                "alternate": self.alternate.arn,
            }
        )


def web_target_group(
    resource_name: str,
    *,
    name: str,
    vpc_id: pulumi.Input[str],
    tags: Mapping[str, str],
    opts: pulumi.ResourceOptions,
) -> aws.lb.TargetGroup:
    """Create a target group of keel web tasks: keel's port, health path and timings."""
    return aws.lb.TargetGroup(
        resource_name,
        name=name,
        vpc_id=vpc_id,
        target_type="ip",
        protocol="HTTP",
        port=constants.PORT,
        deregistration_delay=constants.DEREGISTRATION_DELAY,
        health_check={
            "enabled": True,
            "protocol": "HTTP",
            "path": constants.HEALTH_PATH,
            "port": str(constants.PORT),
            "interval": constants.HEALTH_CHECK_INTERVAL,
            "timeout": constants.HEALTH_CHECK_TIMEOUT,
            "healthy_threshold": constants.HEALTH_CHECK_HEALTHY_THRESHOLD,
            "unhealthy_threshold": constants.HEALTH_CHECK_UNHEALTHY_THRESHOLD,
            "matcher": constants.HEALTH_CHECK_MATCHER,
        },
        tags=dict(tags),
        opts=opts,
    )
