"""DRF integration: JSON errors with the offending field named, 413 for oversized bodies."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import RequestDataTooBig
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exception: Exception, context: dict[str, Any]) -> Response | None:
    """Handle what DRF handles, plus a body over the limit (413, not a 400 or 500)."""
    if isinstance(exception, RequestDataTooBig):
        from django.conf import settings

        return Response(
            {
                "error": "payload_too_large",
                "detail": f"The request body exceeds {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes.",
            },
            status=413,
        )
    return drf_exception_handler(exception, context)
