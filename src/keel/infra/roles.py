"""The IAM roles keel's tasks run with: one for ECS to start them, one for the app itself."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

ECR_PULL_ACTIONS = (
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
)
BEDROCK_INVOKE_ACTIONS = ("bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream")
#: What the ECS Exec agent inside a task needs (only when ECS Exec is on).
EXEC_ACTIONS = (
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
)


def secret_arn_of(value_from: str) -> str:
    """Return the secret's ARN from an ECS ``valueFrom`` that may name a JSON key.

    ``arn:aws:secretsmanager:eu-west-1:123456789012:secret:name-AbCdEf:password::``
    becomes ``arn:aws:secretsmanager:eu-west-1:123456789012:secret:name-AbCdEf``.
    """
    parts = value_from.split(":")
    return ":".join(parts[:7])


def bedrock_model_arn(model: str, region: str) -> str:
    """Return a Bedrock model's ARN; an ARN given as-is is kept (inference profiles)."""
    if model.startswith("arn:"):
        return model
    return f"arn:aws:bedrock:{region}::foundation-model/{model}"


def _trust_policy(service: str, account_id: pulumi.Input[str]) -> pulumi.Output[str]:
    return pulumi.Output.json_dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": service},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
                }
            ],
        }
    )


@dataclass(frozen=True, kw_only=True)
class TaskRolesArgs:
    prefix: str
    account_id: pulumi.Input[str]
    region: pulumi.Input[str]
    #: Every secret a task definition injects (plain ARNs, no JSON key); exactly these
    #: may be read by the execution role.
    secret_arns: Sequence[pulumi.Input[str]]
    log_group_arns: Sequence[pulumi.Input[str]]
    #: The ECR repository the image is pulled from; None for a registry needing no IAM.
    repository_arn: pulumi.Input[str] | None
    tags: Mapping[str, str]
    bedrock_models: Sequence[str] = field(default_factory=tuple)
    enable_exec: bool = False


class TaskRoles(pulumi.ComponentResource):
    """The execution role (pull the image, write logs, read exactly the injected secrets)
    and the task role (what keel's code may call: Bedrock models if configured)."""

    execution_role: aws.iam.Role
    task_role: aws.iam.Role

    def __init__(self, name: str, args: TaskRolesArgs, opts: pulumi.ResourceOptions | None = None):
        if not args.log_group_arns:
            raise ValueError("task roles: at least one log group is required")
        if any(not model for model in args.bedrock_models):
            raise ValueError("task roles: a Bedrock model id cannot be empty")
        super().__init__("keel:aws:TaskRoles", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)

        self.execution_role = aws.iam.Role(
            "execution",
            name=f"{args.prefix}-execution",
            description="ECS starts keel tasks with this: image pull, logs, injected secrets",
            assume_role_policy=_trust_policy("ecs-tasks.amazonaws.com", args.account_id),
            tags=tags,
            opts=child,
        )
        statements: list[dict] = [
            {
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [
                    pulumi.Output.concat(arn, ":log-stream:*") for arn in args.log_group_arns
                ],
            },
        ]
        if args.repository_arn is not None:
            # GetAuthorizationToken has no resource-level permissions.
            statements.append(
                {"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"}
            )
            statements.append(
                {
                    "Effect": "Allow",
                    "Action": list(ECR_PULL_ACTIONS),
                    "Resource": [args.repository_arn],
                }
            )
        if args.secret_arns:
            statements.append(
                {
                    "Effect": "Allow",
                    "Action": "secretsmanager:GetSecretValue",
                    "Resource": list(args.secret_arns),
                }
            )
        aws.iam.RolePolicy(
            "execution",
            name="keel-execution",
            role=self.execution_role.id,
            policy=pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": statements}),
            opts=child,
        )

        self.task_role = aws.iam.Role(
            "task",
            name=f"{args.prefix}-task",
            description="keel's code runs with this: Bedrock models if configured",
            assume_role_policy=_trust_policy("ecs-tasks.amazonaws.com", args.account_id),
            tags=tags,
            opts=child,
        )
        task_statements: list[dict] = []
        if args.bedrock_models:
            task_statements.append(
                {
                    "Effect": "Allow",
                    "Action": list(BEDROCK_INVOKE_ACTIONS),
                    "Resource": pulumi.Output.from_input(args.region).apply(
                        lambda region: [
                            bedrock_model_arn(model, region) for model in args.bedrock_models
                        ]
                    ),
                }
            )
        if args.enable_exec:
            task_statements.append(
                {"Effect": "Allow", "Action": list(EXEC_ACTIONS), "Resource": "*"}
            )
        if task_statements:
            aws.iam.RolePolicy(
                "task",
                name="keel-task",
                role=self.task_role.id,
                policy=pulumi.Output.json_dumps(
                    {"Version": "2012-10-17", "Statement": task_statements}
                ),
                opts=child,
            )
        self.register_outputs(
            {"execution_role": self.execution_role.arn, "task_role": self.task_role.arn}
        )
