"""The agent-run rows of docs/benchmarks.md's targets table (pure: results in, cells out).

first token, streaming, dispatch and throughput are measured on keel's own runs (the
``keel`` rows of bench/results/dispatch.json, the run-event rows of stream_latency.json)
with the anchors measured beside them in the same run; keel's durable Django tasks (the
``keel.tasks`` rows) are listed with keel's runs. One function per row.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench.report.cells import MISSING, met, number

# The targets of issue 20 (docs/benchmarks.md states them; the design's earlier ones
# were first token 150 ms, dispatch 50/100 ms and 200 runs/s).
FIRST_TOKEN_P50_MS = 50.0
STREAM_P50_MS = 50.0
STREAM_P95_MS = 200.0
DISPATCH_P50_MS = {"postgresql": 10.0, "sqlite": 50.0}
#: keel's runs/s on one 2-vCPU worker task must be at least Celery's, and this many
#: times raw DBOS's, in the same run.
THROUGHPUT_TIMES_DBOS = 2.0
IDLE_PERCENT_OF_CORE = 1.0

Row = list[str]


def targets(results: dict[str, Any]) -> list[Row]:
    return [
        first_token_target(results),
        streaming_target(results),
        dispatch_target(results),
        throughput_target(results),
        idle_target(results),
    ]


def dispatch_row(
    results: dict[str, Any], system: str, database: str, processes: int = 1
) -> dict[str, Any] | None:
    """The measured row of ``system`` on ``database`` (keel: with ``processes`` per task)."""
    return next(
        (
            row
            for row in results.get("dispatch", {}).get("rows", [])
            if row["system"] == system
            and row["database"] == database
            and "latency" in row
            and row.get("worker_processes", 1) == processes
        ),
        None,
    )


def keel_task_row(results: dict[str, Any], database: str) -> dict[str, Any] | None:
    """keel's row with the most worker processes per task on ``database``."""
    rows = [
        row
        for row in results.get("dispatch", {}).get("rows", [])
        if row["system"] == "keel" and row["database"] == database and "latency" in row
    ]
    return max(rows, key=lambda row: row.get("worker_processes", 1), default=None)


def keel_dispatch_rows(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """keel's measured dispatch rows, by database (in ``DISPATCH_P50_MS`` order)."""
    return {
        database: row
        for database in DISPATCH_P50_MS
        if (row := dispatch_row(results, "keel", database)) is not None
    }


def run_stream_rows(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The run-event rows of stream_latency, by database."""
    return {
        row["database"]: row
        for row in results.get("stream_latency", {}).get("rows", [])
        if "database" in row and "first_token" in row
    }


def ticker_row(results: dict[str, Any]) -> dict[str, Any] | None:
    """The demo ticker's row of stream_latency (no database involved)."""
    return next(
        (
            row
            for row in results.get("stream_latency", {}).get("rows", [])
            if "database" not in row and "p50_ms" in row
        ),
        None,
    )


def summary(measured: dict[str, Any], counted: str) -> str:
    return (
        f"p50 {number(measured['p50_ms'], 1)} ms, p95 {number(measured['p95_ms'], 1)} ms "
        f"({measured['count']} {counted})"
    )


def first_token_target(results: dict[str, Any]) -> Row:
    streams = run_stream_rows(results)
    # The target is stated for production's database; SQLite is shown beside it.
    main = streams.get("postgresql") or streams.get("sqlite")
    main_label = "PostgreSQL" if "postgresql" in streams else "SQLite"
    other = streams.get("sqlite") if "postgresql" in streams else None
    return [
        "first token: POST /api/runs/ → first token at the SSE client, p50 ≤ 50 ms (PostgreSQL)",
        f"{main_label}: {summary(main['first_token'], 'runs')}"
        if main
        else "not measured in this run",
        f"SQLite: {summary(other['first_token'], 'runs')}" if other else "—",
        met(
            None
            if main is None or main["first_token"]["p50_ms"] is None
            else main["first_token"]["p50_ms"] <= FIRST_TOKEN_P50_MS
        ),
    ]


def streaming_target(results: dict[str, Any]) -> Row:
    streams = run_stream_rows(results)
    postgres = streams.get("postgresql")
    anchors = (
        [f"SQLite: {summary(streams['sqlite']['events'], 'events')}"] if "sqlite" in streams else []
    )
    ticker = ticker_row(results)
    if ticker:
        anchors.append(
            f"demo ticker, no database: p50 {number(ticker['p50_ms'], 2)} ms, "
            f"p95 {number(ticker['p95_ms'], 2)} ms"
        )
    return [
        "streaming: worker event → SSE client p50 ≤ 50 ms, p95 ≤ 200 ms (PostgreSQL)",
        f"PostgreSQL: {summary(postgres['events'], 'events')}"
        if postgres
        else "not measured on PostgreSQL",
        "; ".join(anchors) or "—",
        met(
            None
            if postgres is None or postgres["events"]["p50_ms"] is None
            else postgres["events"]["p50_ms"] <= STREAM_P50_MS
            and (postgres["events"]["p95_ms"] or MISSING) <= STREAM_P95_MS
        ),
    ]


def anchors(
    results: dict[str, Any], cases: list[tuple[str, str]], cell: Callable[[dict[str, Any]], str]
) -> str:
    """Join "system (database) ``cell``" over the anchors measured in this run."""
    return "; ".join(
        f"{system} ({database}) {cell(row)}"
        for system, database in cases
        if (row := dispatch_row(results, system, database))
    )


#: The anchors measured beside keel's dispatch latency and throughput, in table order.
LATENCY_ANCHORS = [
    ("celery", "redis"),
    ("dbos", "postgresql"),
    ("dbos", "sqlite"),
    ("django-tasks-db", "postgresql"),
    ("django-tasks-db", "sqlite"),
]
RATE_ANCHORS = [
    ("dbos", "postgresql"),
    ("celery", "redis"),
    ("django-tasks-db", "postgresql"),
    ("django-tasks-db", "sqlite"),
]


def dispatch_target(results: dict[str, Any]) -> Row:
    keel = keel_dispatch_rows(results)
    # keel.tasks is listed beside keel's runs; the target is stated for agent runs.
    measured = [
        f"{system} ({database}) p50 {number(row['latency']['p50_ms'], 1)} ms, "
        f"p95 {number(row['latency']['p95_ms'], 1)} ms"
        for database in DISPATCH_P50_MS
        for system in ("keel", "keel.tasks")
        if (row := dispatch_row(results, system, database))
    ]
    verdicts = [
        (row["latency"]["p50_ms"] or MISSING) <= DISPATCH_P50_MS[database]
        for database, row in keel.items()
    ]
    return [
        "dispatch: enqueue → run start p50 ≤ 10 ms PostgreSQL, ≤ 50 ms SQLite",
        "; ".join(measured) or "not measured in this run",
        anchors(results, LATENCY_ANCHORS, lambda row: f"{number(row['latency']['p50_ms'], 1)} ms"),
        # Both databases must meet theirs; with only SQLite measured, PostgreSQL's
        # half is unknown, so the target stays pending.
        met(all(verdicts) if len(keel) == len(DISPATCH_P50_MS) or not all(verdicts) else None),
    ]


def throughput_target(results: dict[str, Any]) -> Row:
    """keel on one 2-vCPU task (its N-process row) against Celery and 2 x raw DBOS."""
    keel = keel_task_row(results, "postgresql")
    celery = dispatch_row(results, "celery", "redis")
    dbos = dispatch_row(results, "dbos", "postgresql")
    measured = [
        f"{task_label(row)} ({database}) {number(row['runs_per_second'], 0)}/s"
        for database in DISPATCH_P50_MS
        for row in [
            dispatch_row(results, "keel", database),
            keel_task_row(results, database),
            dispatch_row(results, "keel.tasks", database),
        ]
        if row
    ]
    verdict: bool | None = None
    if keel and celery and dbos:
        rate = keel["runs_per_second"] or 0
        verdict = rate >= (
            celery["runs_per_second"] or MISSING
        ) and rate >= THROUGHPUT_TIMES_DBOS * (dbos["runs_per_second"] or MISSING)
    return [
        "throughput: no-op runs/s, one 2-vCPU worker task, PostgreSQL, ≥ Celery's and "
        "≥ 2x raw DBOS's in the same run",
        "; ".join(dict.fromkeys(measured)) or "not measured on PostgreSQL",
        anchors(results, RATE_ANCHORS, lambda row: f"{number(row['runs_per_second'], 0)}/s"),
        met(verdict),
    ]


def task_label(row: dict[str, Any]) -> str:
    if row["system"] != "keel":
        return str(row["system"])
    processes = row.get("worker_processes", 1)
    return "keel" if processes == 1 else f"keel, {processes} processes"


def idle_rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    return list(results.get("idle_cpu", {}).get("rows", []))


def idle_target(results: dict[str, Any]) -> Row:
    rows = idle_rows(results)
    keel = [row for row in rows if row["system"] == "keel"]

    def cell(row: dict[str, Any]) -> str:
        return (
            f"{row['system']} ({row['database']}) "
            f"{number(row['percent_of_core_per_process'], 2)} % "
            f"({row['processes']} process{'es' if row['processes'] != 1 else ''})"
        )

    window = rows[0]["window_s"] if rows else None
    return [
        "idle CPU: a worker process ≤ 1 % of a core"
        + (f" (over {number(window)} s)" if window else ""),
        "; ".join(cell(row) for row in keel) or "not measured in this run",
        "; ".join(cell(row) for row in rows if row["system"] != "keel") or "—",
        met(
            all(row["percent_of_core_per_process"] <= IDLE_PERCENT_OF_CORE for row in keel)
            if keel
            else None
        ),
    ]
