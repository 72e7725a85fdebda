"""1. /healthz while N SSE streams are open: keel's default against what a team starts from."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench import client
from bench.environment import base_environment
from bench.harness import Run, emit
from bench.processes import rss_mb
from bench.servers import STREAM_SERVERS
from bench.stats import latency_summary
from bench.stream_holder import RemoteStreamHolder

NAME = "health_under_streams"
#: A stream that outlasts the measurement: one tick a second, up to the view's limit.
STREAM_PATH = "/demo/stream/?count=1000&interval=1"
#: The ALB's health-check timeout.
PROBE_TIMEOUT = 5.0
PROBE_INTERVAL = 0.2


async def measure(port: int, streams: int, probes: int, timeout: float) -> dict[str, Any]:
    # The streams are held by a process of their own, so the probes' loop does nothing
    # but probe (bench/stream_holder.py).
    holder = RemoteStreamHolder(port, STREAM_PATH, streams)
    try:
        opened = await holder.open(settle_timeout=min(20.0, 3.0 + streams / 100))
        established = opened.established
        events_before, started = (await holder.counts()).events, time.monotonic()
        result = await client.probe(port, count=probes, interval=PROBE_INTERVAL, timeout=timeout)
        elapsed = time.monotonic() - started
        events_per_second = ((await holder.counts()).events - events_before) / elapsed
    finally:
        await holder.close()
    return {
        "streams_requested": streams,
        "streams_established": established,
        "stream_events_per_s": round(events_per_second, 1),
        "healthz": {
            **latency_summary(result.seconds),
            "failures": result.failures,
        },
    }


def run(bench: Run) -> dict[str, Any]:
    started = time.monotonic()
    sizes = bench.pick(full=[100, 500, 1000], smoke=[20])
    probes = bench.pick(full=20, smoke=5)
    # Smoke runs only prove the harness works; a short timeout keeps them under 2 minutes.
    timeout = bench.pick(full=PROBE_TIMEOUT, smoke=1.0)
    rows = []
    for label, build in STREAM_SERVERS.items():
        for streams in sizes:
            service = build(base_environment(**bench.sqlite)).start()
            try:
                service.wait_healthy()
                row = asyncio.run(measure(service.port or 0, streams, probes, timeout))
                row["worker_rss_mb"] = [rss_mb(pid) for pid in service.worker_pids()]
            finally:
                service.stop()
            row["server"] = label
            rows.append(row)
            print(f"  {label} {streams} streams: {row['healthz']}", flush=True)
    return emit(
        NAME,
        {
            "stream_path": STREAM_PATH,
            "probe_timeout_s": timeout,
            "probes_per_case": probes,
            "rows": rows,
        },
        started=started,
    )
