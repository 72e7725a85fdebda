"""A fake ECS task metadata endpoint (v4) on loopback, with the failure modes ECS can show."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def task_document(*ipv4: str, ipv6: tuple[str, ...] = (), cpu: float = 2.0) -> dict[str, Any]:
    return {
        "Cluster": "keel-dev",
        "TaskARN": "arn:aws:ecs:eu-west-1:123456789012:task/keel-dev/abc",
        "Limits": {"CPU": cpu, "Memory": 4096},
        "Containers": [
            {
                "Name": "web",
                "Networks": [
                    {
                        "NetworkMode": "awsvpc",
                        "IPv4Addresses": list(ipv4),
                        "IPv6Addresses": list(ipv6),
                    }
                ],
            }
        ],
    }


@contextlib.contextmanager
def fake_metadata_server(
    *,
    body: bytes | None = None,
    document: dict[str, Any] | None = None,
    status: int = 200,
    delay: float = 0.0,
    requests: list[str] | None = None,
) -> Iterator[str]:
    """Serve ``/task`` and yield the base URI to put in ECS_CONTAINER_METADATA_URI_V4.

    Each request's path is appended to ``requests`` when one is given.
    """
    payload = body if body is not None else json.dumps(document or {}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if requests is not None:
                requests.append(self.path)
            if delay:
                time.sleep(delay)
            if self.path != "/v4/abc/task":
                self.send_error(404)
                return
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            """Keep test output quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v4/abc"
    finally:
        server.shutdown()
        server.server_close()
