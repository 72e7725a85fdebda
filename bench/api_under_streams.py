"""The web-runtime ADR's number: API req/s and /healthz p99 while 1,000 streams are open.

keel's default (``keel web --server asgi``) with 0 and with 1,000 open SSE streams,
against ``--server wsgi`` (gthread 2x8) the same way. The target: keel's default with
the streams open serves the sync DRF endpoint at >= 100 % of gthread's req/s without
streams, and /healthz p99 stays <= 100 ms meanwhile.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench import client, wrk
from bench.environment import base_environment
from bench.harness import Run, emit
from bench.servers import STREAM_SERVERS
from bench.stats import latency_summary, median, ratio
from bench.stream_holder import RemoteStreamHolder

NAME = "api_under_streams"
API_PATH = "/api/ping/"
STREAM_PATH = "/demo/stream/?count=1000&interval=1"
CONNECTIONS = 32
PROBE_TIMEOUT = 5.0
PROBE_INTERVAL = 0.25


async def measure(
    port: int, *, streams: int, repeats: int, seconds: float, settle: float
) -> dict[str, Any]:
    url = f"http://127.0.0.1:{port}{API_PATH}"
    await wrk.warm(
        url, connections=CONNECTIONS, initial=min(2.0, seconds), attempts=1 if seconds < 2 else 3
    )
    # The streams are held by a process of their own, as real clients would be: probes
    # sent from a loop that also read 1,000 streams timed that loop's queue as well.
    holder = RemoteStreamHolder(port, STREAM_PATH, streams)
    results: list[wrk.WrkResult] = []
    probe_seconds: list[float] = []
    failures = 0
    events_per_second = 0.0
    try:
        opened = await holder.open(settle_timeout=settle) if streams else client.StreamStats()
        events_before, started = opened.events, time.monotonic()
        for _ in range(repeats):
            probes = max(1, int(seconds / PROBE_INTERVAL) - 1)
            load = asyncio.create_task(wrk.run(url, seconds=seconds, connections=CONNECTIONS))
            probed = await client.probe(
                port, count=probes, interval=PROBE_INTERVAL, timeout=PROBE_TIMEOUT
            )
            results.append(await load)
            probe_seconds.extend(probed.seconds)
            failures += probed.failures
        if streams:
            events = (await holder.counts()).events - events_before
            events_per_second = events / (time.monotonic() - started)
    finally:
        await holder.close()
    return {
        "streams_established": opened.established,
        # Proof the streams were live while the API was measured (one tick/s each).
        "stream_events_per_s": events_per_second,
        "windows": results,
        "probe_seconds": probe_seconds,
        "probe_failures": failures,
    }


def summarise(label: str, streams: int, passes: list[dict[str, Any]]) -> dict[str, Any]:
    """One row from every pass of a case: medians over all its windows, all its probes."""
    results: list[wrk.WrkResult] = [window for one in passes for window in one["windows"]]
    probe_seconds = [seconds for one in passes for seconds in one["probe_seconds"]]
    return {
        "server": label,
        "streams_requested": streams,
        "streams_established": min(one["streams_established"] for one in passes),
        "stream_events_per_s": median(one["stream_events_per_s"] for one in passes),
        "requests_per_second": median(result.requests_per_second for result in results),
        "api_p99_ms": median(result.p99_ms for result in results),
        "api_errors": sum(result.errors + result.non_2xx for result in results),
        "repeats": [round(result.requests_per_second, 1) for result in results],
        "healthz": {
            **latency_summary(probe_seconds),
            "failures": sum(one["probe_failures"] for one in passes),
        },
    }


def run(bench: Run) -> dict[str, Any]:
    started = time.monotonic()
    streams = bench.pick(full=1000, smoke=20)
    repeats = bench.pick(full=3, smoke=1)
    seconds = bench.pick(full=3.0, smoke=1.0)
    cases = [("keel-asgi", 0), ("keel-asgi", streams), ("keel-wsgi", 0)]
    if not bench.smoke:
        # gthread with streams open: every thread holds a stream, the API gets nothing.
        cases.append(("keel-wsgi", streams))
        # The target's two cases once more, in the other order: this shared machine's
        # speed drifts over minutes, and the ratio between them is what the target reads.
        cases += [("keel-wsgi", 0), ("keel-asgi", streams)]
    passes: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for label, open_streams in cases:
        service = STREAM_SERVERS[label](base_environment(**bench.sqlite)).start()
        try:
            service.wait_healthy()
            one = asyncio.run(
                measure(
                    service.port or 0,
                    streams=open_streams,
                    repeats=repeats,
                    seconds=seconds,
                    settle=bench.pick(full=20.0, smoke=5.0),
                )
            )
        finally:
            service.stop()
        passes.setdefault((label, open_streams), []).append(one)
        print(
            f"  {label} with {open_streams} streams: "
            f"{[round(w.requests_per_second) for w in one['windows']]} req/s",
            flush=True,
        )
    rows = [summarise(label, open_streams, runs) for (label, open_streams), runs in passes.items()]
    by_case = {(row["server"], row["streams_requested"]): row for row in rows}
    keel_with_streams = by_case[("keel-asgi", streams)]
    gthread_without = by_case[("keel-wsgi", 0)]
    return emit(
        NAME,
        {
            "api_path": API_PATH,
            "stream_path": STREAM_PATH,
            "streams": streams,
            "connections": CONNECTIONS,
            "seconds_per_window": seconds,
            "rows": rows,
            "keel_with_streams_vs_gthread_without": ratio(
                keel_with_streams["requests_per_second"], gthread_without["requests_per_second"]
            ),
        },
        started=started,
    )
