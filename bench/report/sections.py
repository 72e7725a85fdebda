"""docs/benchmarks.md's section per benchmark: how it was measured, and its rows.

A section's text changes with its benchmark's method (bench/<name>.py); a benchmark
without results in this run has no section.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench.dispatch import system_label
from bench.report.cells import number, table


def sections(results: dict[str, Any]) -> list[str]:
    """Return the sections of the benchmarks present in ``results``, in the document's order."""
    return [
        line
        for name, section in SECTIONS
        if (result := results.get(name))
        for line in section(result)
    ]


def section_health(result: dict[str, Any]) -> list[str]:
    rows = [
        [
            row["server"],
            f"{row['streams_requested']:,}",
            f"{row['streams_established']:,}",
            number(row["healthz"]["p50_ms"], 1),
            number(row["healthz"]["p99_ms"], 1),
            f"{row['healthz']['failures']} of {row['healthz']['count']}",
            number(row.get("established_s"), 1),
            ", ".join(number(rss, 0) for rss in row.get("worker_rss_mb", [])),
            number(row.get("kb_per_stream"), 1) if row["streams_established"] >= 100 else "—",
        ]
        for row in result["rows"]
    ]
    return [
        "## 1. /healthz under open SSE streams",
        "",
        f"Streams: `{result['stream_path']}` (one tick a second, outlasting the measurement),",
        "held by a client process of their own (bench/stream_holder.py), as real clients are;",
        f"then {result['probes_per_case']} /healthz probes 0.2 s apart from the harness,",
        f"each on a new connection with a {result['probe_timeout_s']:g} s timeout like the ALB's.",
        "`keel-asgi` is `keel web --server asgi` (keel's default), `keel-wsgi` is",
        "`keel web --server wsgi` (gthread 2x8), `gunicorn-default` is `gunicorn",
        "keel.runtime.web.wsgi:application` with gunicorn's defaults (one sync worker).",
        "Only keel's default is flooded with 10,000 streams (all connects at once, as after a",
        'deploy); the others already fail at 100. "established s" is the first connect → the',
        "last stream's 200; KB per stream is the workers' RSS growth over the streams",
        "established (after a warm-up stream per worker; not shown below 100 streams).",
        "",
        *table(
            [
                "server",
                "streams asked",
                "streams established",
                "p50 ms",
                "p99 ms",
                "failed",
                "established s",
                "worker RSS MB",
                "KB per stream",
            ],
            rows,
        ),
        "![/healthz p99 under open streams](benchmarks/health_under_streams.png)",
        "",
    ]


def section_api(result: dict[str, Any]) -> list[str]:
    rows = [
        [
            row["server"],
            f"{row['streams_requested']:,}",
            f"{row['streams_established']:,}",
            number(row.get("stream_events_per_s"), 0),
            number(row["requests_per_second"]),
            number(row["api_p99_ms"], 1),
            str(row["api_errors"]),
            number(row["healthz"]["p99_ms"], 1),
            f"{row['healthz']['failures']} of {row['healthz']['count']}",
        ]
        for row in result["rows"]
    ]
    ratio_value = result.get("keel_with_streams_vs_gthread_without")
    return [
        "## API throughput while streams are open (the web-runtime ADR's number)",
        "",
        f"wrk loads `{result['api_path']}` (sync DRF view, one ORM query, SQLite, persistent",
        f"connections) with {result['connections']} connections while a client process holds the",
        'streams open (its tick count proves them live: "events/s") and the harness probes',
        "/healthz every 0.25 s (5 s timeout). Each case is 3 windows",
        f"of {result.get('seconds_per_window', 3):g} s; the target's two cases (keel with streams, gthread without)",
        "ran twice, in both orders, and their rows pool both passes' windows and probes.",
        "",
        *table(
            [
                "server",
                "streams asked",
                "streams open",
                "events/s",
                "API req/s",
                "API p99 ms",
                "API errors",
                "/healthz p99 ms",
                "/healthz failed",
            ],
            rows,
        ),
        f"keel's default with {result['streams']:,} streams open serves "
        f"**{number((ratio_value or 0) * 100)} %** of gthread's requests/s without streams.",
        "",
        "![API throughput](benchmarks/api_under_streams.png)",
        "",
    ]


def section_modes(result: dict[str, Any]) -> list[str]:
    rows = [
        [
            row["server"],
            row["endpoint"],
            number(row["requests_per_second"]),
            number(row["p50_ms"], 1),
            number(row["p99_ms"], 1),
            str(row["errors"] + row["non_2xx"]),
            " / ".join(number(value) for value in row["repeats"]),
        ]
        for row in result["rows"]
    ]
    return [
        "## 2. Server modes",
        "",
        f"{result['workers']} workers each, {result['connections']} connections, "
        f"{result['repeats']} x {result['seconds_per_repeat']:g} s per cell after a warm-up, the",
        "repeats taken round-robin over all servers. Endpoints: `drf_ping` = /api/ping/ (sync",
        "DRF, one ORM query), `healthz` = /healthz, `django_json` = /demo/json/ (plain Django",
        "JsonResponse), `hello` = a framework-free app (bench/apps.py): the ceiling of each",
        "server here. `gunicorn-asgi` is Django's own ASGI handler under `gunicorn -k asgi`",
        "(the design's \"native ASGI\" row); granian's WSGI row serves keel.runtime.web.wsgi, its",
        "ASGI row Django's ASGI handler. keel's rows include keel's defaults (JSON access log,",
        "max-requests recycling); the others run their servers' defaults.",
        "",
        *table(
            ["server", "endpoint", "req/s", "p50 ms", "p99 ms", "errors", "repeats req/s"], rows
        ),
        "![Server modes](benchmarks/server_modes.png)",
        "",
    ]


def section_dispatch(result: dict[str, Any]) -> list[str]:
    rows = [dispatch_cells(row) for row in result["rows"]]
    return [
        "## 3. Agent-run dispatch",
        "",
        f"Enqueue → start: {result['latency_jobs']} jobs one at a time, each after a random",
        "0-1 s pause (so enqueues land at random phases of a polling worker). Throughput:",
        f"{result['throughput_jobs']} no-op jobs enqueued at once; runs/s = jobs / (last start -",
        "first enqueue). One worker process per system with its defaults: Celery (Redis broker,",
        "prefork, concurrency 2), django-tasks-db `db_worker` (1 s polling), raw DBOS 3.4 (queue",
        "with the default 1 s polling; SQLite through sqlean). The enqueuing client is its own",
        "process (bench/dispatch_client.py); every job records its start in Redis.",
        "`keel` is keel's own layer with its defaults: the client calls",
        "`keel.agents.services.run_create` (records the run and its first event, enqueues it",
        "with DBOSClient), one `keel worker` runs the bench-only `bench-noop` agent",
        "(bench/noop_agent.py: `run_start`, record the start, `run_finish`), the runs spread",
        "over 10 owners (keel runs at most `AGENT_RUNS_PER_USER` = 3 of one owner at once).",
        "`keel, 2 processes` is the same with `WORKER_PROCESSES=2` (one 2-vCPU worker task);",
        "its note counts the worker's processes. `keel.tasks` is keel's durable Django tasks",
        "(docs/tasks.md): django-tasks-db's no-op task (bench/django_jobs.py) on",
        "`keel.tasks.backend.DurableBackend` with its defaults, enqueued by the same client",
        "with `.enqueue()` and run by one `keel worker` (`WORKER_PROCESSES=1`).",
        "Worker RSS is read after the burst.",
        "",
        *table(["system", "database", "p50 ms", "p95 ms", "runs/s", "worker RSS MB", "note"], rows),
        "![Dispatch latency](benchmarks/dispatch.png)",
        "",
    ]


def dispatch_cells(row: dict[str, Any]) -> list[str]:
    if "pending" in row:
        return [
            system_label(row),
            row["database"],
            "pending",
            "pending",
            "pending",
            "—",
            row["pending"],
        ]
    return [
        system_label(row),
        row["database"],
        number(row["latency"]["p50_ms"], 1),
        number(row["latency"]["p95_ms"], 1),
        number(row["runs_per_second"]),
        number(row.get("worker_rss_mb"), 1),
        dispatch_note(row),
    ]


def dispatch_note(row: dict[str, Any]) -> str:
    """Say how many runs completed, and what keel's own AgentRun rows and client measured."""
    note = f"{row['completed']} of {row['runs']} runs completed"
    if "worker_processes" in row and "worker_pid_count" in row:
        note += f"; {row['worker_pid_count']} worker process(es) running"
    agent_runs = row.get("agent_runs")
    if agent_runs:
        note += (
            f"; from AgentRun rows: started_at - created_at p50 "
            f"{number(agent_runs['started_minus_created']['p50_ms'], 1)} ms, "
            f"{number(agent_runs['finished_per_second'])} runs finished/s, the worker "
            f"alone {number(agent_runs.get('worker_finished_per_second'))}/s (first start"
            " → last finish)"
        )
    if row.get("enqueue_seconds"):
        note += f"; client enqueued {number(row['runs'] / row['enqueue_seconds'])}/s"
    return note


def section_stream_latency(result: dict[str, Any]) -> list[str]:
    runs = [run_event_cells(row) for row in result["rows"] if is_run_events(row)]
    rows = [ticker_cells(row) for row in result["rows"] if not is_run_events(row)]
    out = [
        "## 5. Stream latency and first token",
        "",
        f"Baseline: each demo tick ({result['interval_s']:g} s apart) carries the server's",
        "clock when it was made; the client subtracts it on arrival (no database).",
        "",
        *table(["server", "source", "p50 ms", "p95 ms", "note"], rows),
    ]
    if runs:
        out += run_events_table(runs)
    return out


def is_run_events(row: dict[str, Any]) -> bool:
    """Tell keel's measured run-event rows from the ticker's and pending rows."""
    return "pending" not in row and "first_token" in row


def ticker_cells(row: dict[str, Any]) -> list[str]:
    if "pending" in row:
        return [row["server"], row["source"], "pending", "pending", row["pending"]]
    return [
        row["server"],
        row["source"],
        number(row["p50_ms"], 2),
        number(row["p95_ms"], 2),
        f"{row['count']} events over {row['streams']} streams",
    ]


def run_event_cells(row: dict[str, Any]) -> list[str]:
    first = row["first_token"]
    return [
        row["database"],
        number(first["p50_ms"], 1),
        number(first["p95_ms"], 1),
        number(row["p50_ms"], 1),
        number(row["p95_ms"], 1),
        number(row["p99_ms"], 1),
        f"{row['count']} events timed of {row['events_received']} received; "
        f"{row['runs_succeeded']} of {row['runs_followed']} runs succeeded",
    ]


def run_events_table(runs: list[list[str]]) -> list[str]:
    """Describe how keel's own runs were timed, and list them."""
    return [
        "keel's runs: `keel web` (default, `--server asgi`, 2 workers) and one `keel",
        "worker` run the demo agent with keel's defaults (run creation rate off). First",
        "token: POST /api/runs/ (`steps` 1, `step_delay` 0) → the first `token` event at an",
        "SSE client on /api/runs/{id}/events/, runs one after another. Event latency: a few",
        "runs at once (`steps` 4, `step_delay` 0.1 s), each event's `created_at` (stamped",
        "by the worker as it writes the row) → the client receiving it; events replayed",
        "from before the stream opened are not counted. PostgreSQL streams wake on",
        "LISTEN/NOTIFY, SQLite streams poll every `AGENT_EVENT_POLL_INTERVAL` (0.05 s).",
        "",
        *table(
            [
                "database",
                "first token p50 ms",
                "first token p95 ms",
                "event p50 ms",
                "event p95 ms",
                "event p99 ms",
                "note",
            ],
            runs,
        ),
    ]


def section_cold_start(result: dict[str, Any]) -> list[str]:
    rows = [
        [
            f"`{row['process']}`",
            number(row.get("first_200_median_s", row.get("ready_median_s")), 2),
            ", ".join(
                number(value, 2) for value in row.get("first_200_all_s", row.get("ready_all_s", []))
            )
            or "—",
            number(row["master_rss_mb"], 1),
            ", ".join(number(rss, 1) for rss in row["worker_rss_mb"]) or "—",
            row.get("note", ""),
        ]
        for row in result["rows"]
    ]
    return [
        "## 6. Cold start and memory",
        "",
        "Process start → first 200 from /healthz (polled every 20 ms); RSS (VmRSS from",
        "/proc) of the gunicorn master and of each worker after 40 requests. `keel worker`:",
        "process start → its `worker started` log line (DBOS launched, run queue",
        "registered), RSS of the process then (one process, no gunicorn master).",
        "",
        *table(
            [
                "process",
                "first 200 (worker: ready) median s",
                "all starts s",
                "master RSS MB",
                "worker RSS MB",
                "note",
            ],
            rows,
        ),
    ]


def section_idle(result: dict[str, Any]) -> list[str]:
    rows = [
        [
            row["system"],
            row["database"],
            str(row["processes"]),
            number(row["cpu_s"], 3),
            number(row["percent_of_core_per_process"], 2),
        ]
        for row in result["rows"]
    ]
    return [
        "## 4. Idle worker CPU",
        "",
        f"Every worker started with its defaults, left {number(result['settle_s'])} s to finish",
        f"starting, then measured side by side over the same {number(result['window_s'])} s with",
        "nothing to do: user + system CPU from /proc over the worker's process tree, per",
        "process (bench/idle_cpu.py). keel: `keel worker` (SQLite as `make run` gives it, and",
        "PostgreSQL); Celery: prefork, concurrency 2, Redis broker; django-tasks-db: `db_worker`.",
        "",
        *table(["worker", "database", "processes", "CPU s", "% of a core per process"], rows),
        "![Idle CPU](benchmarks/idle_cpu.png)",
        "",
    ]


#: (benchmark, its section), in the document's order.
SECTIONS: list[tuple[str, Callable[[dict[str, Any]], list[str]]]] = [
    ("health_under_streams", section_health),
    ("api_under_streams", section_api),
    ("server_modes", section_modes),
    ("dispatch", section_dispatch),
    ("idle_cpu", section_idle),
    ("stream_latency", section_stream_latency),
    ("cold_start", section_cold_start),
]
