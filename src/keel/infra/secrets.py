"""A secret the stack generates for the app (Django's SECRET_KEY)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

SECRET_LENGTH = 64


@dataclass(frozen=True, kw_only=True)
class AppSecretArgs:
    prefix: str
    #: What the secret is for; part of its name.
    purpose: str
    tags: Mapping[str, str]


class AppSecret(pulumi.ComponentResource):
    """A Secrets Manager secret holding a random value generated once.

    The value is drawn by Secrets Manager and never changes on later updates (Pulumi
    ignores it after creation); rotate it with ``aws secretsmanager put-secret-value``.
    The name has a random suffix so a destroyed stack's secret, kept for its recovery
    window, never blocks recreating the stack.
    """

    secret: aws.secretsmanager.Secret
    arn: pulumi.Output[str]

    def __init__(self, name: str, args: AppSecretArgs, opts: pulumi.ResourceOptions | None = None):
        if not args.purpose:
            raise ValueError("app secret: purpose is required")
        super().__init__("keel:aws:AppSecret", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.secret = aws.secretsmanager.Secret(
            "secret",
            name_prefix=f"{args.prefix}/{args.purpose}-",
            description=f"keel {args.purpose}, injected into the tasks as a secret",
            recovery_window_in_days=7,
            tags=dict(args.tags),
            opts=child,
        )
        value = aws.secretsmanager.get_random_password_output(
            password_length=SECRET_LENGTH,
            exclude_punctuation=True,
            opts=pulumi.InvokeOptions(parent=self),
        ).random_password
        version = aws.secretsmanager.SecretVersion(
            "value",
            secret_id=self.secret.id,
            secret_string=pulumi.Output.secret(value),
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["secretString"]),
        )
        # Consumers of the ARN wait for the value: a task started before it fails.
        self.arn = pulumi.Output.all(self.secret.arn, version.id).apply(lambda pair: pair[0])
        self.register_outputs({"arn": self.arn})
