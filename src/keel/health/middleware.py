"""Answer the ALB's liveness check before anything can refuse it.

The ALB health checker sends ``Host: <task private IP>``. Django validates the Host
header lazily, the first time something calls ``request.get_host()`` (CommonMiddleware,
SecurityMiddleware's HTTPS redirect, CSRF). This middleware sits first and answers the
exact health path without calling it, so the check passes whatever the Host, is never
redirected to HTTPS and does no I/O. Every other path is untouched and still validated.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from keel.health.liveness import liveness
from keel.middleware import AnswerFirstMiddleware


def _liveness_response(request: HttpRequest) -> HttpResponse | None:
    answer = liveness(request.method or "", request.path_info)
    if answer is None:
        return None
    response = HttpResponse(answer.body, status=answer.status)
    for name, value in answer.headers:
        response[name] = value
    return response


class HealthCheckMiddleware(AnswerFirstMiddleware):
    """Serve ``GET/HEAD /healthz`` with 200 before host validation; pass everything else on."""

    def answer(self, request: HttpRequest) -> HttpResponse | None:
        return _liveness_response(request)
