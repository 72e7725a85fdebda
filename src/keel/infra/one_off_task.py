"""Run a keel role once as a Fargate task during ``pulumi up``, and fail the update unless it exits 0.

The migration and the preflight both run this way, inside AWS, in the stack's private
subnets: the machine running ``pulumi up`` (a laptop, or the deploy pipeline's runner)
only asks ECS to start the task and waits for it, with the AWS CLI and the credentials
Pulumi uses. The services depend on these commands, so a failure stops the update
before any service changes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_command as command

from keel.infra.containers import ContainerSpec

#: ``aws ecs wait tasks-stopped`` gives up after 10 minutes; wait this many times.
MAX_WAITS = 6

#: Start the task, wait for it to stop, and exit 1 unless its container exited 0,
#: naming the log stream its output is in. Environment: see ``run_once``.
RUN_TASK = """\
set -eu
task=$(aws ecs run-task --region "$AWS_REGION" --cluster "$CLUSTER" \\
  --task-definition "$TASK_DEFINITION" --launch-type FARGATE --count 1 \\
  --started-by "$STARTED_BY" \\
  --network-configuration \\
  "awsvpcConfiguration={subnets=[$SUBNETS],securityGroups=[$SECURITY_GROUPS],assignPublicIp=DISABLED}" \\
  ${OVERRIDES:+--overrides "$OVERRIDES"} \\
  --query 'tasks[0].taskArn' --output text)
if [ -z "$task" ] || [ "$task" = "None" ]; then
  echo "$LABEL: run-task started no task; services not updated" >&2
  exit 1
fi
stream="$CONTAINER/$CONTAINER/${task##*/}"
echo "$LABEL: started $task ($IMAGE)"
waits=0
until aws ecs wait tasks-stopped --region "$AWS_REGION" --cluster "$CLUSTER" --tasks "$task"; do
  waits=$((waits + 1))
  if [ "$waits" -ge "$MAX_WAITS" ]; then
    echo "$LABEL: $task did not stop in time; services not updated" >&2
    exit 1
  fi
done
code=$(aws ecs describe-tasks --region "$AWS_REGION" --cluster "$CLUSTER" --tasks "$task" \\
  --query "tasks[0].containers[?name=='$CONTAINER'].exitCode | [0]" --output text)
if [ "$code" != "0" ]; then
  reason=$(aws ecs describe-tasks --region "$AWS_REGION" --cluster "$CLUSTER" --tasks "$task" \\
    --query 'tasks[0].stoppedReason' --output text)
  echo "$LABEL: exit code $code ($reason); services not updated; its output is in log group $LOG_GROUP, stream $stream (aws logs tail $LOG_GROUP --log-stream-names $stream --region $AWS_REGION)" >&2
  exit 1
fi
echo "$LABEL: done"
"""


@dataclass(frozen=True, kw_only=True)
class OneOffTask:
    """Which task to run once, where, and with what command."""

    #: ``keel migrate``, ``keel preflight``: how the command's output names itself.
    label: str
    container: ContainerSpec
    cluster_name: pulumi.Input[str]
    #: A family (its latest revision) or a task definition ARN.
    task_definition: pulumi.Input[str]
    private_subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    security_group_id: pulumi.Input[str]
    #: Replaces the container's command (the role), e.g. ``["preflight", "--interval", "1"]``.
    command: Sequence[str] = ()


def run_once(
    resource_name: str,
    task: OneOffTask,
    *,
    triggers: Sequence[pulumi.Input[object]],
    depends_on: Sequence[pulumi.Resource],
    parent: pulumi.Resource,
) -> command.local.Command:
    """Return the command that runs ``task`` on create, and again when ``triggers`` change."""
    container = task.container
    overrides = ""
    if task.command:
        overrides = json.dumps(
            {"containerOverrides": [{"name": container.role, "command": list(task.command)}]},
            separators=(",", ":"),
        )
    return command.local.Command(
        resource_name,
        create=RUN_TASK,
        environment={
            "LABEL": task.label,
            "AWS_REGION": container.region,
            "CLUSTER": task.cluster_name,
            "TASK_DEFINITION": task.task_definition,
            "STARTED_BY": task.label.replace(" ", "-"),
            "SUBNETS": pulumi.Output.from_input(task.private_subnet_ids).apply(_comma_list),
            "SECURITY_GROUPS": task.security_group_id,
            "OVERRIDES": overrides,
            "CONTAINER": container.role,
            "IMAGE": container.image,
            "LOG_GROUP": container.log_group,
            "MAX_WAITS": str(MAX_WAITS),
        },
        triggers=list(triggers),
        opts=pulumi.ResourceOptions(
            parent=parent,
            depends_on=list(depends_on),
            custom_timeouts=pulumi.CustomTimeouts(create="70m", update="70m"),
        ),
    )


def _comma_list(values: Sequence[object]) -> str:
    return ",".join(str(value) for value in values)
