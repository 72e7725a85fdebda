"""4. Stream latency and first token: a run event written by the worker -> the SSE client.

Baseline first: the demo ticker's produce -> receive latency through ``keel web`` with no
database (each tick carries the server's wall-clock time). Then keel's run events, per
database: ``keel web`` (default) and one ``keel worker`` run the demo agent; the client
POSTs /api/runs/ and follows /api/runs/{id}/events/. First token = POST sent -> first
``token`` event received. Event latency = an event's ``created_at`` (stamped by the
worker as it writes the row) -> the client receiving it; client and worker share the
machine's clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from typing import Any

from bench import client, run_streams
from bench.environment import base_environment, postgres_database
from bench.harness import Run, emit
from bench.keel_cluster import Cluster, keel_cluster
from bench.processes import rss_mb
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


def ticker_rows(bench: Run) -> list[dict[str, Any]]:
    streams = bench.pick(full=20, smoke=5)
    ticks = bench.pick(full=30, smoke=10)
    rows = []
    # Smoke keeps only keel's default: the harness check, within CI's two minutes.
    for label in bench.pick(full=("keel-asgi", "keel-wsgi"), smoke=("keel-asgi",)):
        service = STREAM_SERVERS[label](base_environment(**bench.sqlite)).start()
        try:
            service.wait_healthy()
            latencies = asyncio.run(measure(service.port or 0, streams, ticks, TICK_INTERVAL))
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
    return rows


TICK_INTERVAL = 0.1


async def measure_runs(cluster: Cluster, bench: Run) -> dict[str, Any]:
    async with run_streams.api_client(cluster.web.url, cluster.token) as api:
        await run_streams.warm_up(api, web_workers=2)
        if not bench.smoke:
            # One untimed run: the first run in each process pays one-off imports and plans.
            await run_streams.first_token(api, runs=1, jitter=0.0)
        first = await run_streams.first_token(api, runs=bench.pick(full=12, smoke=2), jitter=0.2)
        followed = await run_streams.event_latency(
            api,
            concurrent=bench.pick(full=4, smoke=2),
            rounds=bench.pick(full=2, smoke=1),
            timeout=60.0,
        )
    latencies = [latency for run in followed for latency in run.latencies]
    return {
        "first_token": latency_summary(first),
        "events": latency_summary(latencies),
        "runs_followed": len(followed),
        "runs_succeeded": sum(run.final_status == "succeeded" for run in followed),
        "events_received": sum(run.events for run in followed),
    }


@contextlib.contextmanager
def run_databases(bench: Run) -> Iterator[Iterator[tuple[str, dict[str, str]]]]:
    """Yield (label, database settings) for SQLite, then PostgreSQL when there is one."""
    with contextlib.ExitStack() as stack:

        def cases() -> Iterator[tuple[str, dict[str, str]]]:
            # The run's shared SQLite file: migrating another costs seconds of the budget.
            yield "sqlite", bench.sqlite
            if bench.postgres and not bench.smoke:
                yield "postgresql", stack.enter_context(postgres_database())

        yield cases()


def run(bench: Run) -> dict[str, Any]:
    started = time.monotonic()
    rows = ticker_rows(bench)
    with run_databases(bench) as cases:
        for label, database in cases:
            with keel_cluster(label, database) as cluster:
                measured = asyncio.run(measure_runs(cluster, bench))
                assert cluster.worker.process is not None
                worker_rss = rss_mb(cluster.worker.process.pid)
            rows.append(
                {
                    "server": "keel-asgi",
                    "database": label,
                    "source": "run events (keel worker -> database -> /api/runs/{id}/events/)",
                    "worker_ready_s": round(cluster.worker_ready_s, 2),
                    "worker_rss_mb_after_runs": worker_rss,
                    **measured,
                    **measured["events"],
                }
            )
    for row in rows:
        print(f"  {row}", flush=True)
    return emit(NAME, {"interval_s": TICK_INTERVAL, "rows": rows}, started=started)
