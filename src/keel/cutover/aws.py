"""AWS through boto3's standard credential chain, with every failure named by its IAM action.

An operator who lacks a permission, has no credentials, or whose session expired must
see which call failed and what to do, not a botocore traceback: every call goes
through ``Aws.call``, which turns botocore's errors into ``AwsCallError``. boto3 is
used unchanged (its environment, profiles, SSO, instance and container roles, and
``AWS_ENDPOINT_URL``), so the tests point it at moto's server by that variable alone.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

#: boto3's client name -> the service prefix IAM actions use.
IAM_PREFIX = {
    "elbv2": "elasticloadbalancing",
    "cloudwatch": "cloudwatch",
    "logs": "logs",
    "sts": "sts",
    "lambda": "lambda",
}
#: Error codes that mean "you may not", across the services keel cutover calls.
DENIED = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "AuthorizationError",
        "UnauthorizedAccess",
    }
)
#: Error codes that mean the credentials themselves are wrong or stale.
BAD_CREDENTIALS = frozenset(
    {
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidAccessKeyId",
        "RequestExpired",
    }
)


class CutoverError(Exception):
    """Something an operator must act on; the message says what, and the CLI prints it."""


@dataclass(frozen=True)
class AwsCallError(CutoverError):
    """An AWS call that failed; ``action`` is its IAM name (``elasticloadbalancing:ModifyRule``)."""

    action: str
    message: str
    #: AWS's error code, empty when the call never reached AWS.
    code: str = ""

    def __str__(self) -> str:
        return self.message


def action_name(service: str, operation: str) -> str:
    """Return the IAM action of a call: ``("elbv2", "ModifyRule")`` -> ``elasticloadbalancing:ModifyRule``."""
    return f"{IAM_PREFIX.get(service, service)}:{operation}"


class Aws:
    """boto3 clients of one session (the standard chain, an optional region)."""

    def __init__(self, region: str | None = None) -> None:
        try:
            import boto3
        except ImportError:
            # boto3 is one of keel's own dependencies: only a broken install lacks it.
            raise CutoverError(
                "keel cutover needs boto3, one of keel's own dependencies, and this "
                "environment lacks it: install keel with its dependencies (pip install "
                "keel, or uv sync in a uv project)"
            ) from None
        self._session = boto3.session.Session(region_name=region)

    @functools.cache  # noqa: B019  (one client per service for the session's life)
    def client(self, service: str) -> Any:
        from botocore.exceptions import NoRegionError

        try:
            return self._session.client(service)
        except NoRegionError:
            raise CutoverError(
                "no AWS region: pass --region, or set AWS_DEFAULT_REGION or a profile's region"
            ) from None

    def call(self, service: str, operation: str, **parameters: Any) -> Any:
        """Call ``operation`` (boto3's snake_case method name derives from it) and return
        its response, or raise ``AwsCallError`` naming the IAM action."""
        from botocore import xform_name
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            NoCredentialsError,
            PartialCredentialsError,
        )

        action = action_name(service, operation)
        method = getattr(self.client(service), xform_name(operation))
        try:
            return method(**parameters)
        except (NoCredentialsError, PartialCredentialsError) as error:
            raise AwsCallError(
                action,
                f"no usable AWS credentials for {action} ({error}): keel cutover uses boto3's "
                "standard chain (AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
                "~/.aws/config and SSO, or an instance or task role); run "
                "`aws sts get-caller-identity` to check",
            ) from None
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            raise AwsCallError(action, _client_error_message(action, error), code) from None
        except BotoCoreError as error:
            raise AwsCallError(action, f"{action} failed: {error}") from None


def _client_error_message(action: str, error: Any) -> str:
    details = error.response.get("Error", {})
    code = details.get("Code", "?")
    # One line, whatever AWS put in the message.
    text = " ".join(str(details.get("Message", "")).split())
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if code in DENIED or (status == 403 and code not in BAD_CREDENTIALS):
        return (
            f"AWS denied {action}: {text} ({code}). keel cutover needs the permissions listed "
            'in docs/migration.md ("Permissions for keel cutover")'
        )
    if code in BAD_CREDENTIALS:
        return (
            f"AWS refused the credentials for {action}: {text} ({code}); check them with "
            "`aws sts get-caller-identity` (an SSO session may need `aws sso login`)"
        )
    return f"{action} failed: {text} ({code})"
