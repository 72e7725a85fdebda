"""1. /healthz while N SSE streams are open: keel's default against what a team starts from."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
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


#: The issue's flood: ten thousand streams against keel's default server only (the
#: servers that fail at 1,000 are not flooded with ten times that; bounded load).
FLOOD = 10_000
FLOOD_SERVERS = ("keel-asgi",)


def settle_timeout(streams: int) -> float:
    """Seconds the holder waits for every stream: 20 s up to 1,000, 40 s for a flood."""
    return min(20.0, 3.0 + streams / 100) if streams <= 1000 else 40.0


def quiet_window(streams: int) -> float:
    """Seconds without a change after which the holder stops waiting (client.StreamHolder)."""
    return 2.0 if streams <= 1000 else 8.0


def per_stream_kb(
    before: list[float | None], after: list[float | None], streams: int
) -> float | None:
    """The workers' RSS growth per established stream, in KB (None if unmeasured)."""
    if not streams or None in before or None in after or len(before) != len(after):
        return None
    grown = sum(a for a in after if a is not None) - sum(b for b in before if b is not None)
    return round(grown * 1024 / streams, 1)


async def warm_up(port: int) -> None:
    """Serve a few one-tick streams first, so each worker has imported the stream's code
    before its memory is read (new connections: reuse_port spreads them over workers)."""
    for _ in range(8):
        await client.fetch_status(port, "/demo/stream/?count=1&interval=0", timeout=10.0)


async def measure(
    port: int, streams: int, probes: int, timeout: float, rss: Callable[[], list[float | None]]
) -> dict[str, Any]:
    # The streams are held by a process of their own, so the probes' loop does nothing
    # but probe (bench/stream_holder.py).
    holder = RemoteStreamHolder(port, STREAM_PATH, streams)
    rss_before = rss()
    try:
        opened = await holder.open(
            settle_timeout=settle_timeout(streams), quiet=quiet_window(streams)
        )
        established = opened.established
        rss_open = rss()
        events_before, started = (await holder.counts()).events, time.monotonic()
        result = await client.probe(port, count=probes, interval=PROBE_INTERVAL, timeout=timeout)
        elapsed = time.monotonic() - started
        events_per_second = ((await holder.counts()).events - events_before) / elapsed
    finally:
        await holder.close()
    return {
        "streams_requested": streams,
        "streams_established": established,
        "established_s": opened.established_s,
        "worker_rss_mb_before": rss_before,
        "worker_rss_mb": rss_open,
        "kb_per_stream": per_stream_kb(rss_before, rss_open, established),
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
    flood = bench.pick(full=[FLOOD], smoke=[])
    for label, build in STREAM_SERVERS.items():
        for streams in sizes + (flood if label in FLOOD_SERVERS else []):
            service = build(base_environment(**bench.sqlite)).start()
            try:
                service.wait_healthy()
                asyncio.run(warm_up(service.port or 0))

                def rss(service: Any = service) -> list[float | None]:
                    return [rss_mb(pid) for pid in service.worker_pids()]

                row = asyncio.run(measure(service.port or 0, streams, probes, timeout, rss))
            finally:
                service.stop()
            row["server"] = label
            rows.append(row)
            print(
                f"  {label} {streams} streams ({row['streams_established']} in "
                f"{row['established_s']} s, {row['kb_per_stream']} KB each): {row['healthz']}",
                flush=True,
            )
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
