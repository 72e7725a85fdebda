"""The ``context`` argument of every handler, as Lambda's Python runtime builds it.

Attributes and their types follow the runtime (awslambdaric's LambdaContext): notably
``memory_limit_in_mb`` is a string there, read from an environment variable, and the AWS
docs' own example concatenates it to a string, so it is one here too.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

#: Every function has one version here, as an unpublished Lambda function has.
VERSION = "$LATEST"


@dataclass(frozen=True, slots=True)
class Client:
    installation_id: str | None = None
    app_title: str | None = None
    app_version_name: str | None = None
    app_version_code: str | None = None
    app_package_name: str | None = None


@dataclass(frozen=True, slots=True)
class ClientContext:
    """What a caller sent base64-encoded in ``X-Amz-Client-Context`` (ClientContext)."""

    client: Client | None = None
    custom: dict[str, Any] | None = None
    env: dict[str, Any] | None = None

    @classmethod
    def of(cls, value: Any) -> ClientContext | None:
        if not isinstance(value, dict):
            return None
        client = value.get("client")
        known = set(Client.__dataclass_fields__)
        return cls(
            client=Client(**{key: client.get(key) for key in known})
            if isinstance(client, dict)
            else None,
            custom=value.get("custom"),
            env=value.get("env"),
        )


def function_arn(*, region: str, account_id: str, name: str, qualifier: str | None = None) -> str:
    arn = f"arn:aws:lambda:{region}:{account_id}:function:{name}"
    return f"{arn}:{qualifier}" if qualifier else arn


def new_request_id() -> str:
    return str(uuid.uuid4())


@dataclass(slots=True)
class LambdaContext:
    function_name: str
    memory_limit_in_mb: str
    invoked_function_arn: str
    aws_request_id: str
    #: ``time.monotonic()`` at which the handler is stopped.
    deadline: float = field(repr=False)
    function_version: str = VERSION
    log_group_name: str = ""
    log_stream_name: str = ""
    identity: Any = None
    client_context: ClientContext | None = None

    def __post_init__(self) -> None:
        self.log_group_name = self.log_group_name or f"/aws/lambda/{self.function_name}"
        if not self.log_stream_name:
            today = datetime.now(UTC).strftime("%Y/%m/%d")
            self.log_stream_name = f"{today}/[{self.function_version}]{uuid.uuid4().hex}"

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the handler is stopped (never below zero)."""
        return max(0, int((self.deadline - time.monotonic()) * 1000))
