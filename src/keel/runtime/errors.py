"""JSON error views for Django's handler400/403/404/500: no HTML, never a traceback."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse

from keel.runtime.middleware import json_error


def bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return json_error(400, "bad_request", "Bad request.")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return json_error(403, "forbidden", "You do not have permission to do this.")


def not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return json_error(404, "not_found", "Not found.")


def server_error(request: HttpRequest) -> JsonResponse:
    return json_error(500, "server_error", "Internal server error.")
