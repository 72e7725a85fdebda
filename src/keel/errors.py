"""Every error body keel sends, in one place: JSON, the offending field named, no traceback.

Django's ``handler400/403/404/500`` views, DRF's exception handler and keel's own
middleware all build their answers here, so a client sees one shape whatever raised:
``{"error": "<code>", "detail": "<what to do>", ...}``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db.utils import InterfaceError, OperationalError
from django.http import HttpRequest, JsonResponse
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from keel import constants, metrics

logger = logging.getLogger("keel.errors")


class DatabaseUnavailable(Exception):
    """A database keel needs is down, reported by code outside Django's database layer.

    DBOS's client raises SQLAlchemy's errors; ``keel.tasks.system_database`` turns its
    connection and pool errors into this, so they answer 503 like Django's own.
    """


#: The database driver's "cannot reach / lost the server" errors, as Django wraps them,
#: and keel's own for the DBOS system database. They are an outage, not a bug: the
#: client should retry, so they answer 503.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError, DatabaseUnavailable)
#: Seconds a client is asked to wait before retrying while the database is unavailable.
DATABASE_RETRY_AFTER = 5


class TooManyStreams(Exception):
    """The caller already holds ``limit`` open event streams; answered 429 (keel.streaming)."""

    def __init__(self, *, limit: int, retry_after: int) -> None:
        super().__init__(f"at most {limit} open streams")
        self.limit = limit
        self.retry_after = retry_after


def json_error(status: int, code: str, detail: str, **extra: object) -> JsonResponse:
    return JsonResponse({"error": code, "detail": detail, **extra}, status=status)


def database_unavailable(request: HttpRequest, exception: Exception) -> JsonResponse:
    """Log a database outage (one line, no traceback) and answer 503 with Retry-After."""
    metrics.emit({constants.DATABASE_ERRORS: 1})
    logger.warning(
        "database unavailable",
        extra={
            "path": request.path,
            "method": request.method,
            "exception_type": type(exception).__name__,
        },
    )
    response = json_error(
        503, "database_unavailable", "The database is unavailable; retry shortly."
    )
    response["Retry-After"] = str(DATABASE_RETRY_AFTER)
    return response


def method_not_allowed(allowed: Sequence[str]) -> JsonResponse:
    """Answer 405 naming the allowed methods in ``Allow``, as RFC 9110 (15.5.6) requires."""
    response = json_error(
        405, "method_not_allowed", f"Use {' or '.join(allowed)}.", allowed=list(allowed)
    )
    response["Allow"] = ", ".join(allowed)
    return response


def _too_many_streams_body(exception: TooManyStreams) -> dict[str, object]:
    return {
        "error": "too_many_streams",
        "detail": f"At most {exception.limit} event streams may be open at once; close one "
        "or retry later.",
    }


def too_many_streams(exception: TooManyStreams) -> JsonResponse:
    """Answer 429 with ``Retry-After``: the caller already holds its limit of streams."""
    response = JsonResponse(_too_many_streams_body(exception), status=429)
    response["Retry-After"] = str(exception.retry_after)
    return response


def payload_too_large(limit: int | None) -> JsonResponse:
    return json_error(413, "payload_too_large", f"The request body exceeds {limit} bytes.")


def exception_handler(exception: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus 413 for a body over the limit and 429 for too many streams."""
    if isinstance(exception, TooManyStreams):
        return Response(
            _too_many_streams_body(exception),
            status=429,
            headers={"Retry-After": str(exception.retry_after)},
        )
    if isinstance(exception, RequestDataTooBig):
        return Response(
            {
                "error": "payload_too_large",
                "detail": f"The request body exceeds {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes.",
            },
            status=413,
        )
    return drf_exception_handler(exception, context)


# Django's error views (``handler400`` ... ``handler500`` in the project's root URLconf).


def bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return json_error(400, "bad_request", "Bad request.")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return json_error(403, "forbidden", "You do not have permission to do this.")


def not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return json_error(404, "not_found", "Not found.")


def server_error(request: HttpRequest) -> JsonResponse:
    return json_error(500, "server_error", "Internal server error.")
