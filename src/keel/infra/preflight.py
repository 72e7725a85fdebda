"""``keel preflight`` as a one-off task of the new web task definition, before services update."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_command as command

from keel import constants
from keel.infra.containers import ContainerSpec
from keel.infra.one_off_task import OneOffTask, run_once

#: What the web container runs instead of ``web``: every check, health checks a second
#: apart (the target group's timeout and thresholds still apply).
PREFLIGHT_COMMAND = ("preflight", "--interval", "1")


@dataclass(frozen=True, kw_only=True)
class PreflightArgs:
    #: The web container, as its task definition runs it.
    container: ContainerSpec
    cluster_name: pulumi.Input[str]
    #: The revision this update registered (an ARN names exactly one).
    task_definition_arn: pulumi.Input[str]
    private_subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    #: The web tasks' own group: preflight reaches what a web task reaches.
    security_group_id: pulumi.Input[str]
    #: The migration: preflight's readiness check wants no unapplied migration.
    depends_on: Sequence[pulumi.Resource] = ()


class Preflight(pulumi.ComponentResource):
    """Run ``keel preflight`` with the web task's image, environment, secrets and network.

    It runs on every new web task definition revision (a new image, a changed
    variable or secret), after the migration and before the web and worker services
    update; a failing check fails ``pulumi up`` there, naming the log stream with the
    check's output and its fix, and no service changes.
    """

    run: command.local.Command

    def __init__(self, name: str, args: PreflightArgs, opts: pulumi.ResourceOptions | None = None):
        if args.container.role != "web" or args.container.port != constants.PORT:
            raise ValueError(f"preflight: runs the web container (role 'web' on {constants.PORT})")
        super().__init__("keel:aws:Preflight", name, None, opts)
        self.run = run_once(
            "preflight",
            OneOffTask(
                label="keel preflight",
                container=args.container,
                cluster_name=args.cluster_name,
                task_definition=args.task_definition_arn,
                private_subnet_ids=args.private_subnet_ids,
                security_group_id=args.security_group_id,
                command=PREFLIGHT_COMMAND,
            ),
            triggers=[args.task_definition_arn],
            depends_on=list(args.depends_on),
            parent=self,
        )
        self.register_outputs({})
