"""API errors are JSON with the right status, never HTML or a traceback."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from tests.processes import KeelProcess

pytestmark = pytest.mark.e2e

HOST = {"Host": "app.example.com"}


def test_malformed_json_is_400_json(web: KeelProcess) -> None:
    response = httpx.post(
        f"{web.url}/api/echo/",
        content=b'{"message": ',
        headers={**HOST, "Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]


def test_invalid_field_is_400_naming_the_field(web: KeelProcess) -> None:
    response = httpx.post(f"{web.url}/api/echo/", json={"message": ""}, headers=HOST, timeout=10)
    assert response.status_code == 400
    assert "message" in response.json()


def test_valid_body_is_echoed(web: KeelProcess) -> None:
    response = httpx.post(f"{web.url}/api/echo/", json={"message": "hi"}, headers=HOST, timeout=10)
    assert response.status_code == 200
    assert response.json() == {"message": "hi"}


@pytest.mark.parametrize("path", ["/api/nope/", "/nope"])
def test_unknown_route_is_404_json(web: KeelProcess, path: str) -> None:
    response = httpx.get(web.url + path, headers=HOST, timeout=10)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"] == "not_found"


def test_declared_body_over_the_limit_is_413(web: KeelProcess) -> None:
    body = json.dumps({"message": "x" * (1_048_576 + 10)}).encode()
    response = httpx.post(
        f"{web.url}/api/echo/",
        content=body,
        headers={**HOST, "Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"


def test_chunked_body_is_refused_with_411_rather_than_silently_dropped(web: KeelProcess) -> None:
    def chunks():  # type: ignore[no-untyped-def]
        yield b'{"message": "'
        for _ in range(17):
            yield b"x" * 65_536
        yield b'"}'

    response = httpx.post(
        f"{web.url}/api/echo/",
        content=chunks(),
        headers={**HOST, "Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 411
    assert response.json()["error"] == "length_required"


def test_unexpected_error_is_500_with_an_error_id_that_is_logged(web: KeelProcess) -> None:
    response = httpx.get(f"{web.url}/test/boom/", headers=HOST, timeout=10)
    assert response.status_code == 500
    body = response.json()
    assert body["error"] == "server_error"
    assert "Traceback" not in response.text
    assert "secret detail" not in response.text
    logged = [
        json.loads(line)
        for line in web.log().splitlines()
        if line.startswith("{") and body["error_id"] in line
    ]
    assert logged, "the error id is not in the log"
    assert logged[0]["error_id"] == body["error_id"]
    assert "RuntimeError" in logged[0]["exception"]


def test_access_log_is_json_with_request_and_trace_ids(web: KeelProcess) -> None:
    trace = "Root=1-5759e988-bd862e3fe1be46a994272793"
    httpx.get(
        f"{web.url}/api/ping/",
        headers={**HOST, "X-Request-ID": "req-123", "X-Amzn-Trace-Id": trace},
        timeout=10,
    )
    # The access log line is written after the response is sent: wait for it briefly.
    matching: list[dict[str, object]] = []
    deadline = time.monotonic() + 5
    while not matching and time.monotonic() < deadline:
        entries = [
            json.loads(line) for line in web.log().splitlines() if '"gunicorn.access"' in line
        ]
        matching = [entry for entry in entries if entry.get("request_id") == "req-123"]
        time.sleep(0.05)
    assert matching, "no access log entry carries the request id"
    assert matching[0]["trace_id"] == trace
    assert matching[0]["status"] == 200
    assert matching[0]["path"] == "/api/ping/"
