"""What a function serves: HTTP routes, SQS queues (S3 and EventBridge events through one),
schedules. Each trigger of ``KEEL_LAMBDAS`` is read here into a frozen dataclass.

Every reader raises ``ValueError`` with what is wrong; the registry adds the function's
name. The Invoke endpoint needs no trigger: every declared function can be invoked, as
on Lambda.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from keel.lambdas.schedules import cron_of

#: The event formats of HTTP functions: API Gateway REST (payload 1.0), HTTP API and
#: function URLs (payload 2.0), ALB target groups.
HTTP_FORMATS = ("apigateway-v1", "apigateway-v2", "alb")
#: Queue-fed kinds: SQS batches, and one S3 or EventBridge event per SQS message.
QUEUE_KINDS = ("sqs", "s3", "eventbridge")
HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")

_SEGMENT = re.compile(r"^(?:\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<greedy>\+)?\}|[^{}]*)$")


@dataclass(frozen=True, kw_only=True, slots=True)
class HttpTrigger:
    #: API Gateway's template syntax: ``/orders/{id}``, ``/files/{proxy+}``.
    path: str
    #: Empty: any method (API Gateway's ANY).
    methods: tuple[str, ...]
    format: str
    #: ``requestContext.stage``: ``$default`` for HTTP APIs, a stage name for REST APIs.
    stage: str
    #: REST APIs only: request bodies of these types reach the function base64-encoded.
    binary_media_types: tuple[str, ...]
    #: ALB only: the target group has multi-value headers on (multiValueHeaders and
    #: multiValueQueryStringParameters instead of headers and queryStringParameters).
    multi_value_headers: bool
    #: Dotted path of ``authorizer(request) -> dict``: what requestContext.authorizer
    #: carries (keel.lambdas.authorizers); None: nothing.
    authorizer: str | None

    kind = "http"

    @property
    def regex(self) -> str:
        """The Django URL regex (no leading slash, as URLconfs match) for ``path``."""
        parts = []
        for segment in self.path.strip("/").split("/"):
            found = _SEGMENT.match(segment)
            assert found is not None  # checked when read
            if found["name"]:
                body = ".+" if found["greedy"] else "[^/]+"
                parts.append(f"(?P<{found['name']}>{body})")
            else:
                parts.append(re.escape(segment))
        trailing = "/" if self.path.endswith("/") and self.path != "/" else ""
        return "^" + "/".join(parts) + trailing + r"\Z" if self.path != "/" else r"^\Z"


@dataclass(frozen=True, kw_only=True, slots=True)
class QueueTrigger:
    kind: str
    queue_url: str
    #: SQS messages per invocation (Lambda's BatchSize; S3 and EventBridge: one).
    batch_size: int
    #: Lambda's ReportBatchItemFailures: the handler's ``batchItemFailures`` is honoured.
    report_batch_item_failures: bool


@dataclass(frozen=True, kw_only=True, slots=True)
class ScheduleTrigger:
    #: As EventBridge writes it: ``rate(5 minutes)`` or ``cron(0 12 * * ? *)``.
    expression: str
    #: The same as DBOS's six-field cron (seconds first).
    cron: str
    #: The event each run receives instead of EventBridge's "Scheduled Event" (``Input``).
    input: Any
    enabled: bool

    kind = "schedule"


Trigger = HttpTrigger | QueueTrigger | ScheduleTrigger

_HTTP_KEYS = {
    "type",
    "path",
    "methods",
    "format",
    "stage",
    "binary_media_types",
    "multi_value_headers",
    "authorizer",
}
_QUEUE_KEYS = {"type", "queue_url", "batch_size", "report_batch_item_failures"}
_SCHEDULE_KEYS = {"type", "expression", "input", "enabled"}


def trigger_of(entry: Any) -> Trigger:
    """Read one entry of a function's ``triggers``."""
    if not isinstance(entry, dict):
        raise ValueError(f"a trigger must be a dict, not {entry!r}")
    kind = entry.get("type")
    if kind == "http":
        return _http(entry)
    if kind in QUEUE_KINDS:
        return _queue(entry)
    if kind == "schedule":
        return _schedule(entry)
    raise ValueError(
        f"trigger type {kind!r} is not one of http, {', '.join(QUEUE_KINDS)}, schedule"
    )


def _unknown(entry: dict[str, Any], known: set[str]) -> None:
    unknown = sorted(set(entry) - known)
    if unknown:
        raise ValueError(
            f"{entry['type']} trigger has unknown keys {unknown}; known: {sorted(known)}"
        )


def _http(entry: dict[str, Any]) -> HttpTrigger:
    _unknown(entry, _HTTP_KEYS)
    path = entry.get("path")
    if not isinstance(path, str) or not path.startswith("/"):
        raise ValueError(f"http trigger path must be a string starting with /, not {path!r}")
    segments = path.strip("/").split("/")
    for index, segment in enumerate(segments):
        found = _SEGMENT.match(segment)
        if found is None:
            raise ValueError(f"http trigger path {path!r}: {segment!r} is not {{name}} or text")
        if found["greedy"] and index != len(segments) - 1:
            raise ValueError(f"http trigger path {path!r}: {{{found['name']}+}} must be last")
    methods = entry.get("methods", [])
    if isinstance(methods, str) or not all(
        isinstance(method, str) and method.upper() in (*HTTP_METHODS, "ANY") for method in methods
    ):
        raise ValueError(f"http trigger methods must be a list of {HTTP_METHODS}, not {methods!r}")
    upper = tuple(method.upper() for method in methods)
    event_format = entry.get("format", "apigateway-v1")
    if event_format not in HTTP_FORMATS:
        raise ValueError(f"http trigger format {event_format!r} is not one of {HTTP_FORMATS}")
    default_stage = "$default" if event_format == "apigateway-v2" else "prod"
    stage = entry.get("stage", default_stage)
    if not isinstance(stage, str) or not stage:
        raise ValueError(f"http trigger stage must be a non-empty string, not {stage!r}")
    binary = entry.get("binary_media_types", [])
    if isinstance(binary, str) or not all(isinstance(item, str) for item in binary):
        raise ValueError("http trigger binary_media_types must be a list of media types")
    if binary and event_format != "apigateway-v1":
        raise ValueError("binary_media_types applies to apigateway-v1 only")
    multi_value = entry.get("multi_value_headers", False)
    if not isinstance(multi_value, bool) or (multi_value and event_format != "alb"):
        raise ValueError("multi_value_headers is True or False, and for the alb format only")
    authorizer = entry.get("authorizer")
    if authorizer is not None and not isinstance(authorizer, str):
        raise ValueError("http trigger authorizer must be a dotted path")
    return HttpTrigger(
        path=path,
        methods=() if "ANY" in upper else upper,
        format=event_format,
        stage=stage,
        binary_media_types=tuple(binary),
        multi_value_headers=multi_value,
        authorizer=authorizer,
    )


def _queue(entry: dict[str, Any]) -> QueueTrigger:
    _unknown(entry, _QUEUE_KEYS)
    kind = entry["type"]
    url = entry.get("queue_url")
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise ValueError(f"{kind} trigger queue_url must be the queue's URL, not {url!r}")
    batch_size = entry.get("batch_size", 10 if kind == "sqs" else 1)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int):
        raise ValueError(f"{kind} trigger batch_size must be a whole number")
    if kind == "sqs" and not 1 <= batch_size <= 10:
        raise ValueError("sqs trigger batch_size must be 1 to 10 (one SQS receive)")
    if kind != "sqs" and batch_size != 1:
        raise ValueError(f"a {kind} trigger takes one event per invocation: batch_size is 1")
    report = entry.get("report_batch_item_failures", False)
    if not isinstance(report, bool) or (report and kind != "sqs"):
        raise ValueError("report_batch_item_failures is True or False, and for sqs only")
    return QueueTrigger(
        kind=kind, queue_url=url, batch_size=batch_size, report_batch_item_failures=report
    )


def _schedule(entry: dict[str, Any]) -> ScheduleTrigger:
    _unknown(entry, _SCHEDULE_KEYS)
    expression = entry.get("expression")
    if not isinstance(expression, str):
        raise ValueError(f"schedule trigger expression must be a string, not {expression!r}")
    enabled = entry.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ValueError("schedule trigger enabled must be True or False")
    return ScheduleTrigger(
        expression=expression, cron=cron_of(expression), input=entry.get("input"), enabled=enabled
    )
