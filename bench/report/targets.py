"""docs/benchmarks.md's targets table (pure: results in, rows of cells out).

One function per row: the web targets are judged here, the agent-run targets in
``bench.report.run_targets``; each row is target, measured, anchor measured beside it,
result.
"""

from __future__ import annotations

from typing import Any

from bench.report import run_targets
from bench.report.cells import MISSING, met, number

HEALTH_P99_TARGET_MS = 100.0
#: The design's stream count, and issue 20's: ten thousand per 2-vCPU web task.
DESIGN_STREAMS = 1000
FLOOD_STREAMS = 10_000
KB_PER_STREAM = 32.0
COLD_START_S = 1.5
WEB_WORKER_RSS_MB = 120.0

Row = list[str]


def targets(results: dict[str, Any]) -> list[Row]:
    """Return the targets table's rows in the order the design states the targets."""
    rows = [
        health_target(results),
        flood_target(results),
        *run_targets.targets(results),
        api_granian_target(results),
        api_target(results),
        cold_start_target(results),
        worker_memory(results),
    ]
    return [row for row in rows if row is not None] + unmeasured_targets()


def health_rows(results: dict[str, Any]) -> dict[tuple[str, int], dict[str, Any]]:
    rows = results.get("health_under_streams", {}).get("rows", [])
    return {(row["server"], row["streams_requested"]): row for row in rows}


def health_target(results: dict[str, Any]) -> Row | None:
    health = health_rows(results)
    largest = max((streams for _, streams in health if streams <= DESIGN_STREAMS), default=0)
    keel = health.get(("keel-asgi", largest))
    if not keel:
        return None
    anchors = ", ".join(
        f"{server}: {health[(server, largest)]['healthz']['failures']} of "
        f"{health[(server, largest)]['healthz']['count']} checks failed"
        for server in ("keel-wsgi", "gunicorn-default")
        if (server, largest) in health
    )
    check = keel["healthz"]
    return [
        f"health under load: {largest:,} open SSE streams, /healthz p99 ≤ 100 ms, 0 failures",
        f"keel default: p99 {number(check['p99_ms'], 1)} ms, {check['failures']} of "
        f"{check['count']} failed ({keel['streams_established']:,} streams established)",
        anchors,
        met(healthz_met(check) and keel["streams_established"] == largest),
    ]


def flood_target(results: dict[str, Any]) -> Row | None:
    """Issue 20's streams target: 10,000 on one keel web (2 workers, a 2-vCPU task)."""
    keel = health_rows(results).get(("keel-asgi", FLOOD_STREAMS))
    if not keel:
        return None
    check = keel["healthz"]
    per_stream = keel.get("kb_per_stream")
    return [
        f"open streams: {FLOOD_STREAMS:,} per 2-vCPU web task established, /healthz p99 ≤ "
        f"100 ms, 0 failures, ≤ {KB_PER_STREAM:g} KB per stream",
        f"keel default: {keel['streams_established']:,} established in "
        f"{number(keel.get('established_s'), 1)} s; /healthz p99 {number(check['p99_ms'], 1)} ms,"
        f" {check['failures']} of {check['count']} failed; {number(per_stream, 1)} KB per stream"
        f" (worker RSS {', '.join(number(rss, 0) for rss in keel.get('worker_rss_mb', []))} MB)",
        f"the same server at {DESIGN_STREAMS:,} streams in the table below; the other servers "
        f"are not flooded (they fail at {DESIGN_STREAMS:,})",
        met(
            healthz_met(check)
            and keel["streams_established"] == FLOOD_STREAMS
            and (per_stream if per_stream is not None else MISSING) <= KB_PER_STREAM
        ),
    ]


def api_granian_target(results: dict[str, Any]) -> Row | None:
    """keel's default against granian-wsgi, the fastest WSGI server, on the DRF endpoint."""
    rows = {
        (row["server"], row["endpoint"]): row
        for row in results.get("server_modes", {}).get("rows", [])
    }
    keel, granian = rows.get(("keel-asgi", "drf_ping")), rows.get(("granian-wsgi", "drf_ping"))
    if not (keel and granian):
        return None
    keel_rate, granian_rate = keel["requests_per_second"] or 0, granian["requests_per_second"]
    return [
        "API (no streams): keel default req/s ≥ granian-wsgi's on the same endpoint (/api/ping/)",
        f"keel default {number(keel_rate)} req/s (repeats "
        f"{', '.join(number(r) for r in keel.get('repeats', []))})",
        f"granian-wsgi {number(granian_rate)} req/s (repeats "
        f"{', '.join(number(r) for r in granian.get('repeats', []))})",
        met(keel_rate >= (granian_rate or MISSING)),
    ]


def healthz_met(check: dict[str, Any]) -> bool:
    """Tell whether /healthz answered every probe within the target p99."""
    return check["failures"] == 0 and (check["p99_ms"] or MISSING) <= HEALTH_P99_TARGET_MS


def api_target(results: dict[str, Any]) -> Row | None:
    api = results.get("api_under_streams")
    if not api:
        return None
    by_case = {(row["server"], row["streams_requested"]): row for row in api["rows"]}
    with_streams = by_case.get(("keel-asgi", api["streams"]))
    gthread = by_case.get(("keel-wsgi", 0))
    if not (with_streams and gthread):
        return None
    ratio_value = api.get("keel_with_streams_vs_gthread_without")
    check = with_streams["healthz"]
    return [
        f"API: keel default with {api['streams']:,} open streams ≥ 100 % of gthread's "
        "req/s (sync DRF endpoint), /healthz p99 ≤ 100 ms meanwhile",
        f"{number(with_streams['requests_per_second'])} req/s "
        f"({with_streams['streams_established']:,} streams open) = "
        f"{number((ratio_value or 0) * 100)} % of gthread; /healthz p99 "
        f"{number(check['p99_ms'], 1)} ms, {check['failures']} failed",
        f"gthread 2x8 (`keel web --server wsgi`) without streams: "
        f"{number(gthread['requests_per_second'])} req/s",
        met((ratio_value or 0) >= 1.0 and healthz_met(check)),
    ]


def cold_start_rows(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["process"]: row for row in results.get("cold_start", {}).get("rows", [])}


def cold_start_target(results: dict[str, Any]) -> Row | None:
    cold = cold_start_rows(results)
    web = cold.get("keel web --server asgi")
    if not web:
        return None
    worst_worker = max((rss for rss in web["worker_rss_mb"] if rss is not None), default=None)
    other = cold.get("keel web --server wsgi")
    return [
        "cold start: process start → first /healthz 200 ≤ 1.5 s; ≤ 120 MB RSS per web worker",
        f"keel default: {number(web['first_200_median_s'], 2)} s (median of "
        f"{web['starts']}); worker RSS {number(worst_worker, 1)} MB",
        f"`--server wsgi`: {number(other['first_200_median_s'], 2)} s; worker RSS "
        f"{number(max(rss for rss in other['worker_rss_mb'] if rss), 1)} MB"
        if other and other["worker_rss_mb"]
        else "—",
        met(
            web["first_200_median_s"] <= COLD_START_S
            and (worst_worker or MISSING) <= WEB_WORKER_RSS_MB
        ),
    ]


def worker_memory(results: dict[str, Any]) -> Row | None:
    """Report the worker's start-up and memory, for which the design sets no target."""
    worker = cold_start_rows(results).get("keel worker")
    if not (worker and "ready_median_s" in worker):
        return None
    after_runs = [
        f"{row['database']} {number(row['worker_rss_mb_after_runs'], 1)} MB"
        for row in results.get("stream_latency", {}).get("rows", [])
        if row.get("worker_rss_mb_after_runs") is not None
    ]
    return [
        "worker cold start and memory (the design sets no target)",
        f"`keel worker`: ready {number(worker['ready_median_s'], 2)} s (median of "
        f"{worker['starts']}); RSS idle {number(worker['master_rss_mb'], 1)} MB",
        "RSS after demo runs: " + ", ".join(after_runs) if after_runs else "—",
        "no target",
    ]


def unmeasured_targets() -> list[Row]:
    """Return the design's targets that `make bench` does not measure: pending, always."""
    return [
        [
            "durability: SIGKILL mid-run x 20, every run finishes",
            "not measured by `make bench` (a process-level test of the worker role)",
            "—",
            met(None),
        ],
        [
            "deploys: rolling restart under load, 0 failed requests",
            "not measured by `make bench`",
            "—",
            met(None),
        ],
    ]
