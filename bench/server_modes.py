"""2. Requests/s and p99 per server mode, same app, same worker count, side by side.

Every server is started first and the repeats go round-robin over all of them, so a
burst of noise from elsewhere on the machine lands on every row rather than on one.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench import wrk
from bench.environment import base_environment
from bench.harness import Run, emit
from bench.processes import Service, running
from bench.servers import APP_SERVERS, HELLO_SERVERS
from bench.stats import median

NAME = "server_modes"
ENDPOINTS = {
    "drf_ping": "/api/ping/",
    "healthz": "/healthz",
    "django_json": "/demo/json/",
}
HELLO_ENDPOINT = "hello"
CONNECTIONS = 32


def summarise(label: str, endpoint: str, results: list[wrk.WrkResult]) -> dict[str, Any]:
    return {
        "server": label,
        "endpoint": endpoint,
        "requests_per_second": median(result.requests_per_second for result in results),
        "p50_ms": median(result.p50_ms for result in results),
        "p99_ms": median(result.p99_ms for result in results),
        "errors": sum(result.errors for result in results),
        "non_2xx": sum(result.non_2xx for result in results),
        "repeats": [round(result.requests_per_second, 1) for result in results],
    }


Cell = tuple[str, str, Service, str]
"""One measurement: server label, endpoint name, the server, the path requested."""


def run(bench: Run) -> dict[str, Any]:
    started = time.monotonic()
    repeats = bench.pick(full=2, smoke=1)
    seconds = bench.pick(full=1.2, smoke=1.0)
    services, cells = plan(bench)
    measured = measure(services, cells, repeats=repeats, seconds=seconds)
    rows = [summarise(label, endpoint, results) for (label, endpoint), results in measured.items()]
    for row in rows:
        print(
            f"  {row['server']:28} {row['endpoint']:12} {row['requests_per_second']:>8.0f} req/s"
            f"  p99 {row['p99_ms']} ms",
            flush=True,
        )
    return emit(
        NAME,
        {
            "workers": 2,
            "connections": CONNECTIONS,
            "seconds_per_repeat": seconds,
            "repeats": repeats,
            "rows": rows,
        },
        started=started,
    )


def plan(bench: Run) -> tuple[list[Service], list[Cell]]:
    """Return the servers to start and every (server, endpoint) cell to measure on them."""
    endpoints = bench.pick(full=ENDPOINTS, smoke={"drf_ping": ENDPOINTS["drf_ping"]})
    environment = base_environment(**bench.sqlite)
    cells: list[Cell] = []
    services: list[Service] = []
    # Smoke runs keep one server of each kind, enough to prove every code path works.
    app_servers = bench.pick(
        full=APP_SERVERS, smoke={label: APP_SERVERS[label] for label in ("keel-asgi", "keel-wsgi")}
    )
    hello_servers = bench.pick(
        full=HELLO_SERVERS, smoke={"gunicorn-gthread": HELLO_SERVERS["gunicorn-gthread"]}
    )
    for label, build in app_servers.items():
        service = build(environment)
        services.append(service)
        cells.extend((label, endpoint, service, path) for endpoint, path in endpoints.items())
    for label, build in hello_servers.items():
        service = build(environment)
        services.append(service)
        cells.append((f"{label} (hello)", HELLO_ENDPOINT, service, "/"))
    return services, cells


def measure(
    services: list[Service], cells: list[Cell], *, repeats: int, seconds: float
) -> dict[tuple[str, str], list[wrk.WrkResult]]:
    """Warm every cell up, then measure them round-robin ``repeats`` times."""
    measured: dict[tuple[str, str], list[wrk.WrkResult]] = {}
    with running(services, health_path=None):
        for service in services:
            service.wait_healthy(path="/" if "hello" in service.name else "/healthz")
        for _, _, service, path in cells:
            asyncio.run(
                wrk.warm(
                    service.url + path,
                    connections=CONNECTIONS,
                    initial=1.0,
                    attempts=0,
                )
            )
        for _ in range(repeats):
            for label, endpoint, service, path in cells:
                result = asyncio.run(
                    wrk.run(service.url + path, seconds=seconds, connections=CONNECTIONS)
                )
                measured.setdefault((label, endpoint), []).append(result)
    return measured
