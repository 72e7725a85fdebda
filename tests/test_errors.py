"""Every error body has one shape: JSON with ``error`` and ``detail``, never a traceback."""

from __future__ import annotations

import json

from django.core.exceptions import RequestDataTooBig
from django.db.utils import OperationalError
from django.http import HttpResponse
from django.test import RequestFactory
from pytest_django.fixtures import Settings

from keel import errors
from keel.middleware import JsonErrorMiddleware


def body(response: object) -> dict[str, object]:
    return json.loads(response.content)  # type: ignore[attr-defined]


def test_django_error_views_answer_json() -> None:
    request = RequestFactory().get("/nowhere")
    for view, status, code in [
        (errors.bad_request, 400, "bad_request"),
        (errors.permission_denied, 403, "forbidden"),
        (errors.not_found, 404, "not_found"),
    ]:
        response = view(request)
        assert (response.status_code, body(response)["error"]) == (status, code)
    assert body(errors.server_error(request))["error"] == "server_error"


def test_a_database_outage_is_a_503_to_retry() -> None:
    request = RequestFactory().get("/api/runs/")
    response = errors.database_unavailable(request, OperationalError("connection refused"))
    assert response.status_code == 503
    assert response["Retry-After"] == str(errors.DATABASE_RETRY_AFTER)
    assert body(response) == {
        "error": "database_unavailable",
        "detail": "The database is unavailable; retry shortly.",
    }


def test_the_dbos_system_database_down_is_the_same_503() -> None:
    request = RequestFactory().post("/api/runs/x/cancel/")
    response = JsonErrorMiddleware(lambda request: HttpResponse()).process_exception(
        request, errors.DatabaseUnavailable("DBOS system database: OperationalError")
    )
    assert response is not None
    assert response.status_code == 503
    assert response["Retry-After"] == str(errors.DATABASE_RETRY_AFTER)
    assert body(response)["error"] == "database_unavailable"


def test_drf_reports_an_oversized_body_as_413(settings: Settings) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2048
    response = errors.exception_handler(RequestDataTooBig(), {})
    assert response is not None
    assert response.status_code == 413
    assert response.data == {
        "error": "payload_too_large",
        "detail": "The request body exceeds 2048 bytes.",
    }
