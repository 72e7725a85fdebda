"""5. Cold start and resident memory per process.

Web: process start -> first /healthz 200. Worker: process start -> its "worker started"
line (DBOS launched, queue registered), the moment it can take runs.
"""

from __future__ import annotations

import statistics
import time
import urllib.request
import uuid
from typing import Any

from bench.environment import base_environment
from bench.harness import Run, emit
from bench.keel_cluster import wait_worker_ready, worker_service
from bench.processes import Service, rss_mb
from bench.servers import STREAM_SERVERS

NAME = "cold_start"


def warm_requests(service: Service, count: int) -> None:
    """Touch the API and a JSON view so the workers' RSS includes a served request."""
    for index in range(count):
        path = "/api/ping/" if index % 2 else "/demo/json/"
        with urllib.request.urlopen(service.url + path, timeout=5) as response:
            response.read()


def run(bench: Run) -> dict[str, Any]:
    started = time.monotonic()
    starts = bench.pick(full=3, smoke=1)
    rows = [web_row(bench, label, starts) for label in ("keel-asgi", "keel-wsgi")]
    rows.append(worker_row(bench, starts))
    for row in rows:
        print(f"  {row}", flush=True)
    return emit(NAME, {"rows": rows}, started=started)


def web_row(bench: Run, label: str, starts: int) -> dict[str, Any]:
    """Start ``label`` ``starts`` times; read its memory after the last start has served."""
    times: list[float] = []
    master_rss: float | None = None
    worker_rss: list[float | None] = []
    for attempt in range(starts):
        service = STREAM_SERVERS[label](base_environment(**bench.sqlite)).start()
        try:
            times.append(service.wait_healthy(timeout=30.0))
            if attempt == starts - 1:
                warm_requests(service, 40)
                assert service.process is not None
                master_rss = rss_mb(service.process.pid)
                worker_rss = [rss_mb(pid) for pid in service.worker_pids()]
        finally:
            service.stop()
    return {
        "process": f"keel web --server {label.removeprefix('keel-')}",
        "starts": len(times),
        "first_200_median_s": round(statistics.median(times), 3),
        "first_200_all_s": [round(value, 3) for value in times],
        "master_rss_mb": master_rss,
        "worker_rss_mb": worker_rss,
    }


def worker_row(bench: Run, starts: int) -> dict[str, Any]:
    """Start ``keel worker`` ``starts`` times; read its memory once it is ready."""
    ready_times: list[float] = []
    idle_rss: float | None = None
    for _ in range(starts):
        worker = worker_service(
            f"cold-start-keel-worker-{uuid.uuid4().hex[:6]}", base_environment(**bench.sqlite)
        )
        worker.start()
        try:
            ready_times.append(wait_worker_ready(worker))
            assert worker.process is not None
            idle_rss = rss_mb(worker.process.pid)
        finally:
            worker.stop(grace=10.0)
    return {
        "process": "keel worker",
        "starts": len(ready_times),
        "ready_median_s": round(statistics.median(ready_times), 3),
        "ready_all_s": [round(value, 3) for value in ready_times],
        "note": "ready = DBOS launched and the run queue registered (idle, no run yet)",
        "master_rss_mb": idle_rss,
        "worker_rss_mb": [],
    }
