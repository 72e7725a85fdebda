"""Slow clients (slowloris) do not stop the default web configuration from serving.

200 connections to ``keel web`` (ASGI, the default) send their request headers one byte
at a time and never finish them, while /healthz and the API are called as the ALB and
a user would: every answer must come well inside the ALB's 5 s health-check timeout.
Loopback only, bounded in time, and every socket is closed at the end.
"""

from __future__ import annotations

import contextlib
import socket
import statistics
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from keel.constants import HEALTH_CHECK_TIMEOUT
from tests.processes import KeelProcess, keel_web

pytestmark = pytest.mark.e2e

SLOW_CONNECTIONS = 200
DURATION = 8.0
#: Seconds between bytes on each slow connection.
TRICKLE_INTERVAL = 0.25
HOST = "app.example.com"


@pytest.fixture(scope="module")
def web(
    migrated_environment: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[KeelProcess]:
    # /api/ping/ is the anonymous API workload here (public demo endpoints).
    environment = {**migrated_environment, "DEMO_ENDPOINTS_PUBLIC": "true"}
    with keel_web(environment, log_dir=tmp_path_factory.mktemp("slow")) as process:
        yield process


@contextlib.contextmanager
def slow_clients(port: int, count: int) -> Iterator[dict[str, int]]:
    """Open ``count`` connections that trickle an endless header block until exit."""
    stats = {"opened": 0, "bytes": 0, "closed_by_server": 0}
    sockets: list[socket.socket] = []
    stop = threading.Event()
    for _ in range(count):
        client = socket.create_connection(("127.0.0.1", port), timeout=5)
        client.sendall(f"POST /api/runs/ HTTP/1.1\r\nHost: {HOST}\r\n".encode())
        sockets.append(client)
        stats["opened"] += 1
    header = b"X-Slow: " + b"a" * 10_000

    def trickle() -> None:
        position = 0
        while not stop.wait(TRICKLE_INTERVAL):
            byte = header[position % len(header) : position % len(header) + 1]
            position += 1
            for client in list(sockets):
                try:
                    client.send(byte)
                    stats["bytes"] += 1
                except OSError:
                    stats["closed_by_server"] += 1
                    sockets.remove(client)
                    client.close()

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    try:
        yield stats
    finally:
        stop.set()
        thread.join(timeout=5)
        for client in sockets:
            client.close()


def test_health_and_api_answer_promptly_while_200_clients_trickle_headers(
    web: KeelProcess,
) -> None:
    assert web.port is not None
    health: list[float] = []
    api: list[float] = []
    with slow_clients(web.port, SLOW_CONNECTIONS) as stats, httpx.Client(timeout=10) as client:
        deadline = time.monotonic() + DURATION
        while time.monotonic() < deadline:
            for path, timings in (("/healthz", health), ("/api/ping/", api)):
                started = time.monotonic()
                # A new connection each time, as the ALB's health checker makes.
                response = client.get(
                    f"{web.url}{path}", headers={"Host": HOST, "Connection": "close"}
                )
                timings.append(time.monotonic() - started)
                assert response.status_code == 200, (path, response.status_code)
            time.sleep(0.1)
        assert web.process is not None
        assert web.process.poll() is None
    assert stats["opened"] == SLOW_CONNECTIONS
    # The slow clients really were connected and sending for the whole window.
    assert stats["bytes"] >= SLOW_CONNECTIONS * (DURATION / TRICKLE_INTERVAL) / 2
    assert max(health) < HEALTH_CHECK_TIMEOUT
    assert max(api) < HEALTH_CHECK_TIMEOUT
    print(
        f"slowloris x{SLOW_CONNECTIONS}: /healthz p50 {statistics.median(health) * 1000:.1f} ms "
        f"max {max(health) * 1000:.1f} ms; /api/ping/ p50 {statistics.median(api) * 1000:.1f} ms "
        f"max {max(api) * 1000:.1f} ms; {len(health)} checks; "
        f"{stats['closed_by_server']} slow connections closed by the server"
    )
