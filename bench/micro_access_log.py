"""``python -m bench.micro_access_log``: microseconds per JSON access-log line.

Not part of ``make bench``: a check of one function's cost (gunicorn's ASGI worker
writes the line on its event loop, once per request), measured in process.
"""

from __future__ import annotations

import io
import logging
import timeit
import types

from gunicorn.asgi.protocol import ASGIResponseInfo
from gunicorn.config import Config

from keel.runtime.web.gunicorn_logging import JsonAccessLogger

HEADERS = [
    (b"content-type", b"application/json"),
    (b"content-length", b"21"),
    (b"x-request-id", b"ab12cd34ef56"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"x-content-type-options", b"nosniff"),
]
ENVIRON = {
    "REQUEST_METHOD": "GET",
    "RAW_URI": "/api/ping/",
    "SERVER_PROTOCOL": "HTTP/1.1",
    "PATH_INFO": "/api/ping/",
    "QUERY_STRING": "",
    "REMOTE_ADDR": "127.0.0.1",
    "HTTP_USER_AGENT": "wrk",
    "HTTP_HOST": "127.0.0.1:8000",
    "HTTP_ACCEPT": "*/*",
}


def main(count: int = 20_000) -> None:
    config = Config()
    config.set("accesslog", "-")
    logger = JsonAccessLogger(config)
    handler = logging.StreamHandler(io.StringIO())
    logger.access_log.handlers[:] = [handler]
    resp = ASGIResponseInfo(200, HEADERS, 21)
    req = types.SimpleNamespace(
        headers=[("HOST", "127.0.0.1:8000"), ("USER-AGENT", "wrk"), ("ACCEPT", "*/*")]
    )
    elapsed = types.SimpleNamespace(seconds=0, microseconds=1234)
    seconds = timeit.timeit(lambda: logger.access(resp, req, ENVIRON, elapsed), number=count)
    print(f"{seconds / count * 1e6:.1f} µs per access line ({count:,} lines)")


if __name__ == "__main__":
    main()
