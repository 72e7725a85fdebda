"""What a stack exports: the names and commands docs/deploy.md and docs/operations.md use."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pulumi

from keel.infra.existing_database import ExistingDatabase
from keel.infra.outputs import when_created

if TYPE_CHECKING:
    from keel.infra.app import KeelApp


def stack_outputs(app: KeelApp) -> dict[str, pulumi.Input[Any]]:
    """Return what docs/deploy.md, operations.md and migration.md tell an operator to use."""
    migrate_group = app.security_groups.migrate.id
    return {
        "url": f"https://{app.config.web.domain_names[0]}",
        "load_balancer_dns_name": app.load_balancer.alb.dns_name,
        # What an API Gateway VPC link integration targets, and the group that admits it
        # (docs/migration.md, "Routes behind API Gateway").
        "https_listener_arn": app.load_balancer.listener.arn,
        "load_balancer_security_group": app.security_groups.alb.id,
        "cluster": app.cluster.name,
        "web_service": app.web.name,
        "worker_service": app.worker.name,
        "migration_task_family": app.migration.family,
        "image": app.image,
        "image_platform": app.config.image_platform,
        "repository_url": app.repository.url,
        **_database_outputs(app),
        "rollback_alarms": app.alarms.alarm_names,
        "operations_alarms": app.operations_alarms.alarm_names,
        "alarm_topic_arn": app.alarm_topic.arn,
        "dashboard": app.dashboard.name,
        **_firewall_outputs(app),
        **{f"{role}_log_group": group.name for role, group in app.cluster.log_groups.items()},
        "private_subnet_ids": app.network.private_subnet_ids,
        "migrate_security_group": migrate_group,
        **_cutover_outputs(app),
        # `aws ecs run-task --network-configuration "$(pulumi stack output ...)"` for a
        # one-off command: the migrate task's network, no public IP.
        "one_off_network_configuration": pulumi.Output.all(
            app.network.private_subnet_ids, migrate_group
        ).apply(when_created(_network_configuration, otherwise="")),
    }


def _network_configuration(values: list[Any]) -> str:
    subnets, security_group = values
    return (
        "awsvpcConfiguration={subnets=["
        + ",".join(subnets)
        + "],securityGroups=["
        + security_group
        + "],assignPublicIp=DISABLED}"
    )


def _database_outputs(app: KeelApp) -> dict[str, pulumi.Input[Any]]:
    """Return where the database is, or the one command its owners must run."""
    if isinstance(app.database, ExistingDatabase):
        return {
            "database_url_secret_arn": app.database.secret_arn,
            # The ingress rule the existing database's group needs; keel never applies it.
            "database_ingress_command": app.database.ingress_command,
        }
    return {
        "database_address": app.database.address,
        "database_secret_arn": app.database.secret_arn,
    }


def _firewall_outputs(app: KeelApp) -> dict[str, pulumi.Input[Any]]:
    if app.firewall is None:
        return {}
    return {"web_acl": app.firewall.name, "waf_log_group": app.firewall.log_group.name}


def _cutover_outputs(app: KeelApp) -> dict[str, pulumi.Input[Any]]:
    """Return what docs/migration.md uses while routes are being cut over."""
    if app.cutover is None:
        return {}
    outputs: dict[str, pulumi.Input[Any]] = {
        "cutover_log_group": app.cutover.log_group.name,
        "cutover_alarms": app.cutover.alarm_names,
    }
    if app.cutover_service is not None:
        outputs["cutover_service"] = app.cutover_service.name
    return outputs
