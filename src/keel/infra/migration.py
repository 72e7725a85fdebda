"""The one-off ``keel migrate`` task, run before the services update."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_command as command

from keel.infra.containers import TaskSpec, task_definition
from keel.infra.one_off_task import OneOffTask, run_once


@dataclass(frozen=True, kw_only=True)
class MigrationArgs:
    prefix: str
    cluster_name: pulumi.Input[str]
    task: TaskSpec
    private_subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    security_group_id: pulumi.Input[str]
    tags: Mapping[str, str]
    #: Resources that must exist before the task can run (e.g. the database).
    depends_on: Sequence[pulumi.Resource] = ()


class Migration(pulumi.ComponentResource):
    """A ``keel migrate`` task definition and the command that runs it once per image.

    The command runs when the stack is created and again whenever the image changes.
    Its other inputs are names that change only if the cluster, subnets or security
    group are replaced, so unrelated updates (a new environment variable, a scaling
    change) do not re-run it. It names the task definition by family, so it always runs
    the revision this update registered. The services depend on it, so they update only
    after the schema has migrated; a failed migration stops the update there.
    """

    task_definition: aws.ecs.TaskDefinition
    run: command.local.Command
    family: str

    def __init__(self, name: str, args: MigrationArgs, opts: pulumi.ResourceOptions | None = None):
        container = args.task.container
        if container.role != "migrate" or container.port is not None:
            raise ValueError("migration: the container must be role 'migrate' with no port")
        if container.ecs_exec:
            # run-task starts it without --enable-execute-command: its root stays read-only.
            raise ValueError("migration: the one-off task never runs ECS Exec")
        super().__init__("keel:aws:Migration", name, None, opts)
        self.family = f"{args.prefix}-migrate"
        self.task_definition = task_definition(
            "migrate",
            family=self.family,
            spec=args.task,
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        # By family: the revision this update registered (the command depends on it).
        self.run = run_once(
            "migrate",
            OneOffTask(
                label="keel migrate",
                container=container,
                cluster_name=args.cluster_name,
                task_definition=self.family,
                private_subnet_ids=args.private_subnet_ids,
                security_group_id=args.security_group_id,
            ),
            triggers=[container.image],
            depends_on=[self.task_definition, *args.depends_on],
            parent=self,
        )
        self.register_outputs({"family": self.family, "task_definition": self.task_definition.arn})
