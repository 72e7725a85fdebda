"""The IAM roles keel's tasks run with: one for ECS to start them, one per task role."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from keel.infra.access_config import TASK_ROLES, RolePermissions, managed_policy_name
from keel.infra.outputs import concat

ECR_PULL_ACTIONS = (
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
)
BEDROCK_INVOKE_ACTIONS = ("bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream")
#: The roles that serve the app (and so call models, and take ECS Exec sessions).
SERVICE_ROLES = ("web", "worker")
#: The name of the execution role's inline policy (the policy pack finds it by name).
EXECUTION_POLICY_NAME = "keel-execution"
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
    #: KMS keys the injected secrets are encrypted with (customer managed keys).
    kms_key_arns: Sequence[str] = ()
    #: Task role -> what the team's code needs beyond keel's own calls.
    permissions: Mapping[str, RolePermissions] = field(default_factory=dict)
    #: Secrets keel's processes read themselves, at run time (the database password or
    #: URL): every task role may read exactly these, so a rotated value is read anew
    #: without a new task.
    runtime_secret_arns: Sequence[pulumi.Input[str]] = ()
    #: Secrets only the roles that serve the app (web, worker) read at run time: the
    #: project's rotated secrets (``keel:rotatedSecrets``). Migrate may not read them.
    service_secret_arns: Sequence[pulumi.Input[str]] = ()


class TaskRoles(pulumi.ComponentResource):
    """The execution role (pull the image, write logs, read exactly the injected secrets,
    decrypt them with the configured KMS keys) and one task role per keel role (what its
    code may call: the secrets keel reads at run time, Bedrock models and ECS Exec for web
    and worker if configured, and the team's own statements and managed policies)."""

    execution_role: aws.iam.Role
    #: Role (web, worker, migrate) -> its task role.
    task_roles: dict[str, aws.iam.Role]

    def __init__(self, name: str, args: TaskRolesArgs, opts: pulumi.ResourceOptions | None = None):
        if not args.log_group_arns:
            raise ValueError("task roles: at least one log group is required")
        if any(not model for model in args.bedrock_models):
            raise ValueError("task roles: a Bedrock model id cannot be empty")
        unknown = sorted(set(args.permissions) - set(TASK_ROLES))
        if unknown:
            raise ValueError(f"task roles: permissions for unknown roles {unknown}")
        super().__init__("keel:aws:TaskRoles", name, None, opts)
        self._args = args
        self._tags = dict(args.tags)
        self.execution_role = self._execution_role()
        self.task_roles = {role: self._task_role(role) for role in TASK_ROLES}
        self.register_outputs(
            {
                "execution_role": self.execution_role.arn,
                **{f"{role}_task_role": task.arn for role, task in self.task_roles.items()},
            }
        )

    def _execution_role(self) -> aws.iam.Role:
        args = self._args
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            "execution",
            name=f"{args.prefix}-execution",
            description="ECS starts keel tasks with this: image pull, logs, injected secrets",
            assume_role_policy=_trust_policy("ecs-tasks.amazonaws.com", args.account_id),
            tags=self._tags,
            opts=child,
        )
        statements: list[dict] = [
            {
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [concat(arn, ":log-stream:*") for arn in args.log_group_arns],
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
        if args.kms_key_arns:
            statements.append(self._decrypt_through_secrets_manager())
        aws.iam.RolePolicy(
            "execution",
            name=EXECUTION_POLICY_NAME,
            role=role.id,
            policy=pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": statements}),
            opts=child,
        )
        return role

    def _decrypt_through_secrets_manager(self) -> dict:
        """A secret under a customer managed key is decrypted by the role that reads it;
        only when Secrets Manager asks, so the role cannot decrypt anything else."""
        args = self._args
        return {
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": list(args.kms_key_arns),
            "Condition": {
                "StringEquals": {
                    "kms:ViaService": concat("secretsmanager.", args.region, ".amazonaws.com")
                }
            },
        }

    def _task_role(self, role_name: str) -> aws.iam.Role:
        args = self._args
        child = pulumi.ResourceOptions(parent=self)
        resource = f"task-{role_name}"
        role = aws.iam.Role(
            resource,
            name=f"{args.prefix}-{role_name}-task",
            description=f"keel's {role_name} code runs with this",
            assume_role_policy=_trust_policy("ecs-tasks.amazonaws.com", args.account_id),
            tags={**self._tags, "keel:role": role_name},
            opts=child,
        )
        permissions = args.permissions.get(role_name) or RolePermissions()
        statements: list = []
        readable = list(args.runtime_secret_arns)
        if role_name in SERVICE_ROLES:
            readable += args.service_secret_arns
        if readable:
            statements.append(
                {
                    "Effect": "Allow",
                    "Action": "secretsmanager:GetSecretValue",
                    "Resource": readable,
                }
            )
            if args.kms_key_arns:
                statements.append(self._decrypt_through_secrets_manager())
        if args.bedrock_models and role_name in SERVICE_ROLES:
            statements.append(
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
        if args.enable_exec and role_name in SERVICE_ROLES:
            statements.append({"Effect": "Allow", "Action": list(EXEC_ACTIONS), "Resource": "*"})
        statements += [dict(statement) for statement in permissions.statements]
        if statements:
            aws.iam.RolePolicy(
                resource,
                name="keel-task",
                role=role.id,
                policy=pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": statements}),
                opts=child,
            )
        for arn in permissions.managed_policy_arns:
            aws.iam.RolePolicyAttachment(
                f"{resource}-{managed_policy_name(arn)}",
                role=role.name,
                policy_arn=arn,
                opts=child,
            )
        return role
