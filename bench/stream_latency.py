"""4. Stream latency: an event produced on the server -> the SSE client receiving it.

keel's run events (a worker writes an event, /api/runs/{id}/events/ delivers it) are
not built yet, so this measures the baseline every run stream will sit on: the demo
ticker's produce -> receive latency through ``keel web --server asgi`` (each tick
carries the server's wall-clock time; client and server share the machine's clock).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench import client
from bench.environment import base_environment
from bench.harness import Run, emit
from bench.servers import STREAM_SERVERS
from bench.stats import latency_summary

NAME = "stream_latency"


async def measure(port: int, streams: int, ticks: int, interval: float) -> list[float]:
    holder = client.StreamHolder(
        port, f"/demo/stream/?count={ticks}&interval={interval}", streams, record_latency=True
    )
    try:
        await holder.open(settle_timeout=10.0)
        deadline = time.monotonic() + ticks * interval + 5.0
        # Polling a counter the readers bump; an Event per tick would cost more than it saves.
        while time.monotonic() < deadline and holder.stats.events < streams * ticks:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    finally:
        await holder.close()
    return holder.stats.latencies


def run(bench: Run) -> dict[str, Any]:
    started = time.monotonic()
    streams = bench.pick(full=20, smoke=5)
    ticks = bench.pick(full=50, smoke=10)
    interval = 0.1
    rows = []
    for label in ("keel-asgi", "keel-wsgi"):
        service = STREAM_SERVERS[label](base_environment(**bench.sqlite)).start()
        try:
            service.wait_healthy()
            latencies = asyncio.run(measure(service.port or 0, streams, ticks, interval))
        finally:
            service.stop()
        rows.append(
            {
                "server": label,
                "source": "demo ticker (baseline, no database)",
                "streams": streams,
                **latency_summary(latencies),
            }
        )
    rows.append(
        {
            "server": "keel-asgi",
            "source": "run events (worker -> database -> /api/runs/{id}/events/)",
            "pending": "keel's agent runs and their event stream have not landed",
        }
    )
    for row in rows:
        print(f"  {row}", flush=True)
    return emit(NAME, {"interval_s": interval, "rows": rows}, started=started)
