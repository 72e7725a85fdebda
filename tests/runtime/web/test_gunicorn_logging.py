"""The JSON access line, from what gthread and gunicorn's ASGI worker each hand it."""

from __future__ import annotations

import io
import json
import logging
import types
from typing import Any

import pytest
from gunicorn.asgi.protocol import ASGIResponseInfo
from gunicorn.config import Config

from keel.runtime.web.gunicorn_logging import JsonAccessLogger

ENVIRON = {
    "REQUEST_METHOD": "GET",
    "RAW_URI": "/api/runs/?page=2",
    "PATH_INFO": "/api/runs/",
    "QUERY_STRING": "page=2",
    "SERVER_PROTOCOL": "HTTP/1.1",
    "REMOTE_ADDR": "10.0.3.17",
    "HTTP_USER_AGENT": "ELB-HealthChecker/2.0",
}
TRACE = "Root=1-5759e988-bd862e3fe1be46a994272793"


def logged(resp: Any, req: Any, environ: dict[str, str] = ENVIRON) -> dict[str, Any]:
    config = Config()
    config.set("accesslog", "-")
    logger = JsonAccessLogger(config)
    # gunicorn's "gunicorn.access" logger is process-wide: write to a stream of our own.
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    saved = logger.access_log.handlers[:]
    logger.access_log.handlers[:] = [handler]
    try:
        logger.access(resp, req, environ, types.SimpleNamespace(seconds=1, microseconds=234_500))
    finally:
        logger.access_log.handlers[:] = saved
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    entry: dict[str, Any] = json.loads(lines[0])
    return entry


def gthread_shapes() -> tuple[Any, Any]:
    # gunicorn's sync Response: status text, str headers in the application's case.
    resp = types.SimpleNamespace(status="201 Created", headers=[("X-Request-Id", "req-1")], sent=42)
    req = types.SimpleNamespace(headers=[("HOST", "app"), ("X-AMZN-TRACE-ID", TRACE)])
    return resp, req


def asgi_shapes() -> tuple[Any, Any]:
    # gunicorn's ASGI worker: an int status and the ASGI app's bytes headers, decoded.
    resp = ASGIResponseInfo(201, [(b"x-request-id", b"req-1")], 42)
    req = types.SimpleNamespace(headers=[("HOST", "app"), ("X-AMZN-TRACE-ID", TRACE)])
    return resp, req


@pytest.mark.parametrize("shapes", [gthread_shapes, asgi_shapes])
def test_the_access_line_is_the_same_json_from_both_workers(shapes: Any) -> None:
    entry = logged(*shapes())
    assert entry.pop("time").endswith("+00:00")
    assert entry.pop("pid").isdigit()
    assert entry == {
        "level": "INFO",
        "logger": "gunicorn.access",
        "message": "GET /api/runs/?page=2 HTTP/1.1",
        "method": "GET",
        "path": "/api/runs/",
        "query": "page=2",
        "status": 201,
        "bytes": 42,
        "duration_ms": 1234.5,
        "remote_addr": "10.0.3.17",
        "user_agent": "ELB-HealthChecker/2.0",
        "request_id": "req-1",
        "trace_id": TRACE,
    }


def test_missing_ids_and_query_are_null_not_an_error() -> None:
    resp = ASGIResponseInfo(200, [], 0)
    entry = logged(resp, types.SimpleNamespace(headers=[]), {**ENVIRON, "QUERY_STRING": ""})
    assert entry["request_id"] is None
    assert entry["trace_id"] is None
    assert entry["query"] is None
