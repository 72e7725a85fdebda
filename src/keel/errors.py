"""Every error body keel sends, in one place: JSON, the offending field named, no traceback.

Django's ``handler400/403/404/500`` views, DRF's exception handler and keel's own
middleware all build their answers here, so a client sees one shape whatever raised:
``{"error": "<code>", "detail": "<what to do>", ...}``.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db.utils import InterfaceError, OperationalError
from django.http import HttpRequest, JsonResponse
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger("keel.errors")

#: The database driver's "cannot reach / lost the server" errors, as Django wraps them.
#: They are an outage, not a bug: the client should retry, so they answer 503.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
#: Seconds a client is asked to wait before retrying while the database is unavailable.
DATABASE_RETRY_AFTER = 5


def json_error(status: int, code: str, detail: str, **extra: object) -> JsonResponse:
    return JsonResponse({"error": code, "detail": detail, **extra}, status=status)


def database_unavailable(request: HttpRequest, exception: Exception) -> JsonResponse:
    """Log a database outage (one line, no traceback) and answer 503 with Retry-After."""
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


def payload_too_large(limit: int | None) -> JsonResponse:
    return json_error(413, "payload_too_large", f"The request body exceeds {limit} bytes.")


def exception_handler(exception: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus a body over the limit (413, not a 400 or 500)."""
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
