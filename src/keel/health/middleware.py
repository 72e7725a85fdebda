"""Answer the ALB's liveness check before anything can refuse it.

The ALB health checker sends ``Host: <task private IP>``. Django validates the Host
header lazily, the first time something calls ``request.get_host()`` (CommonMiddleware,
SecurityMiddleware's HTTPS redirect, CSRF). This middleware sits first and answers the
exact health path without calling it, so the check passes whatever the Host, is never
redirected to HTTPS and does no I/O. Every other path is untouched and still validated.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from keel.runtime.constants import HEALTH_PATH
from keel.runtime.middleware import AnswerFirstMiddleware

_ALLOWED_METHODS = ("GET", "HEAD")


def _liveness_response(request: HttpRequest) -> HttpResponse | None:
    if request.path_info != HEALTH_PATH:
        return None
    if request.method not in _ALLOWED_METHODS:
        response = HttpResponse(status=405, content_type="text/plain")
        response["Allow"] = ", ".join(_ALLOWED_METHODS)
        return response
    response = HttpResponse(b"ok\n" if request.method == "GET" else b"", content_type="text/plain")
    response["Cache-Control"] = "no-store"
    return response


class HealthCheckMiddleware(AnswerFirstMiddleware):
    """Serve ``GET/HEAD /healthz`` with 200 before host validation; pass everything else on."""

    def answer(self, request: HttpRequest) -> HttpResponse | None:
        return _liveness_response(request)
