"""The Lambda bridge's settings, and the Invoke endpoint's caller credentials.

Each setting is its environment variable, else the project's ``KEEL_``-prefixed setting,
else the default below (``keel.conf.Setting``); docs/configuration.md lists them. The
caller credentials are secrets: they are read from the environment only, never from
settings a repository holds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured

from keel.conf import Setting, env

SETTINGS = {
    # What the functions see in their ARNs (``context.invoked_function_arn``).
    "region": Setting("LAMBDA_REGION", "string", "us-east-1"),
    "account_id": Setting("LAMBDA_ACCOUNT_ID", "string", "000000000000"),
    # The task queue asynchronous invocations wait in (one of TASKS' QUEUES).
    "task_queue": Setting("LAMBDA_TASK_QUEUE", "string", "default"),
    # How far a signed request's X-Amz-Date may be from now (AWS allows five minutes).
    "signature_max_skew": Setting(
        "LAMBDA_SIGNATURE_MAX_SKEW", "number", 300.0, minimum=1, maximum=900
    ),
    # Seconds before an asynchronous invocation's first retry, doubled before the second
    # (Lambda waits one minute, then two).
    "retry_backoff": Setting("LAMBDA_RETRY_BACKOFF", "number", 60.0, minimum=0.1, maximum=3600),
    # Whether this worker polls the functions' SQS queues (off: another worker role does).
    "sqs_polling": Setting("LAMBDA_SQS_POLLING", "boolean", True),
    # The long poll of each SQS receive (SQS allows at most 20 s).
    "sqs_wait_time": Setting("LAMBDA_SQS_WAIT_TIME", "integer", 20, minimum=0, maximum=20),
}

#: ``ACCESS_KEY_ID:SECRET_ACCESS_KEY`` pairs, comma-separated: who may call the Invoke API.
CREDENTIALS_VARIABLE = "LAMBDA_INVOKE_CREDENTIALS"
_ACCESS_KEY_ID = re.compile(r"^[A-Z0-9]{16,128}$")


@dataclass(frozen=True, kw_only=True, slots=True)
class LambdaSettings:
    region: str
    account_id: str
    task_queue: str
    signature_max_skew: float
    retry_backoff: float
    sqs_polling: bool
    sqs_wait_time: int


def lambda_settings() -> LambdaSettings:
    """Return the current settings (read each call, so tests can override them)."""
    return LambdaSettings(**{name: setting.read() for name, setting in SETTINGS.items()})


def invoke_credentials() -> dict[str, str]:
    """Return the Invoke endpoint's callers: access key id -> secret access key.

    Raises ``ImproperlyConfigured`` naming the variable (never echoing a secret) when an
    entry is malformed.
    """
    credentials: dict[str, str] = {}
    for position, entry in enumerate(env.items(CREDENTIALS_VARIABLE, []), start=1):
        key_id, separator, secret = entry.partition(":")
        if not separator or not _ACCESS_KEY_ID.match(key_id) or len(secret) < 16:
            raise ImproperlyConfigured(
                f"{CREDENTIALS_VARIABLE}: entry {position} must be ACCESS_KEY_ID:SECRET "
                "(an access key id of 16+ upper-case letters and digits, a secret of 16+ "
                "characters)."
            )
        if key_id in credentials:
            raise ImproperlyConfigured(
                f"{CREDENTIALS_VARIABLE}: access key id {key_id} appears twice."
            )
        credentials[key_id] = secret
    return credentials
