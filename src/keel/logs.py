"""JSON logs on stdout, one object per line, with the request id on every record.

CloudWatch Logs Insights parses JSON lines into fields, so a request id and the ALB's
``X-Amzn-Trace-Id`` become searchable across the access log and the application log.
"""

from __future__ import annotations

import contextvars
import datetime
import json
import logging
import traceback
from typing import Any

#: The current request's id (set by RequestIdMiddleware), copied onto every log record.
request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "keel_request_id", default=None
)
#: The current request's AWS trace id (the ALB's X-Amzn-Trace-Id header).
trace_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "keel_trace_id", default=None
)

# Attributes every LogRecord has; anything else was passed through ``extra=``.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object: time, level, logger, message and extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        trace_id = trace_id_var.get()
        if trace_id:
            entry["trace_id"] = trace_id
        for key, value in vars(record).items():
            # "_aws" is an embedded-metric-format directive (keel.metrics); other
            # underscored attributes are private to whoever set them.
            if (
                key not in _STANDARD
                and key not in entry
                and (key == "_aws" or not key.startswith("_"))
            ):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = "".join(traceback.format_exception(*record.exc_info))
        return json.dumps(entry, default=str)


#: Where the JSON lines go: stdout, or stderr. ``keel manage`` sets stderr, so what a
#: command prints on stdout (a token, a task id) can be captured without log lines in it.
LOG_STREAM_VARIABLE = "KEEL_LOG_STREAM"


def logging_config(level: str = "INFO") -> dict[str, Any]:
    """Return a dictConfig that sends every logger's records to stdout as JSON."""
    from keel.conf import env

    stream = env.choice(LOG_STREAM_VARIABLE, ("stdout", "stderr"), "stdout")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "keel.logs.JsonFormatter"}},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": f"ext://sys.{stream}",
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # keel's error middleware logs unexpected errors with their id; Django's own
            # copy of the same traceback would only repeat it without the id.
            "django.request": {"level": "CRITICAL"},
            "django.server": {"level": "WARNING"},
        },
    }
