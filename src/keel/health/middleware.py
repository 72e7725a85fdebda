"""Answer the ALB's liveness check before anything can refuse it.

The ALB health checker sends ``Host: <task private IP>``. Django validates the Host
header lazily, the first time something calls ``request.get_host()`` (CommonMiddleware,
SecurityMiddleware's HTTPS redirect, CSRF). This middleware sits first and answers the
exact health path without calling it, so the check passes whatever the Host, is never
redirected to HTTPS and does no I/O. Every other path is untouched and still validated.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse, HttpResponseBase

from keel.runtime.constants import HEALTH_PATH

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


class HealthCheckMiddleware:
    """Serve ``GET/HEAD /healthz`` with 200 before host validation; pass everything else on."""

    sync_capable = True
    async_capable = True

    def __init__(
        self,
        get_response: Callable[[HttpRequest], HttpResponseBase]
        | Callable[[HttpRequest], Awaitable[HttpResponseBase]],
    ) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponseBase | Awaitable[HttpResponseBase]:
        if self.is_async:
            return self.__acall__(request)
        return _liveness_response(request) or self.get_response(request)  # type: ignore[return-value]

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        response = _liveness_response(request)
        if response is not None:
            return response
        return await self.get_response(request)  # type: ignore[misc]
