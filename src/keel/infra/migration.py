"""The one-off ``keel migrate`` task, run before the services update."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_command as command

from keel.infra.containers import TaskSpec, task_definition

#: ``aws ecs wait tasks-stopped`` gives up after 10 minutes; wait this many times.
MAX_WAITS = 6

#: Run the migration task on Fargate and fail the deployment unless it exits 0.
#: Runs on the machine running ``pulumi up`` (needs the AWS CLI and the same credentials).
RUN_MIGRATION = """\
set -eu
task=$(aws ecs run-task --region "$AWS_REGION" --cluster "$CLUSTER" \\
  --task-definition "$TASK_DEFINITION" --launch-type FARGATE --count 1 \\
  --started-by keel-migrate \\
  --network-configuration \\
  "awsvpcConfiguration={subnets=[$SUBNETS],securityGroups=[$SECURITY_GROUPS],assignPublicIp=DISABLED}" \\
  --query 'tasks[0].taskArn' --output text)
if [ -z "$task" ] || [ "$task" = "None" ]; then
  echo "keel migrate: run-task started no task" >&2
  exit 1
fi
echo "keel migrate: started $task ($IMAGE)"
waits=0
until aws ecs wait tasks-stopped --region "$AWS_REGION" --cluster "$CLUSTER" --tasks "$task"; do
  waits=$((waits + 1))
  if [ "$waits" -ge "$MAX_WAITS" ]; then
    echo "keel migrate: $task did not stop in time" >&2
    exit 1
  fi
done
code=$(aws ecs describe-tasks --region "$AWS_REGION" --cluster "$CLUSTER" --tasks "$task" \\
  --query "tasks[0].containers[?name=='migrate'].exitCode | [0]" --output text)
if [ "$code" != "0" ]; then
  reason=$(aws ecs describe-tasks --region "$AWS_REGION" --cluster "$CLUSTER" --tasks "$task" \\
    --query 'tasks[0].stoppedReason' --output text)
  echo "keel migrate: exit code $code ($reason); services not updated; logs in $LOG_GROUP" >&2
  exit 1
fi
echo "keel migrate: done"
"""


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
        self.run = command.local.Command(
            "migrate",
            create=RUN_MIGRATION,
            environment={
                "AWS_REGION": container.region,
                "CLUSTER": args.cluster_name,
                "TASK_DEFINITION": self.family,
                "SUBNETS": pulumi.Output.from_input(args.private_subnet_ids).apply(_comma_list),
                "SECURITY_GROUPS": args.security_group_id,
                "IMAGE": container.image,
                "LOG_GROUP": container.log_group,
                "MAX_WAITS": str(MAX_WAITS),
            },
            triggers=[container.image],
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[self.task_definition, *args.depends_on],
                custom_timeouts=pulumi.CustomTimeouts(create="70m", update="70m"),
            ),
        )
        self.register_outputs({"family": self.family, "task_definition": self.task_definition.arn})


def _comma_list(values: Sequence[object]) -> str:
    return ",".join(str(value) for value in values)
