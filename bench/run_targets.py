"""The agent-run rows of docs/benchmarks.md's targets table (pure: results in, cells out).

first token, streaming, dispatch and throughput are measured on keel's own runs (the
``keel`` rows of bench/results/dispatch.json, the run-event rows of stream_latency.json)
with the anchors measured beside them in the same run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

FIRST_TOKEN_P50_MS = 150.0
STREAM_P50_MS = 50.0
STREAM_P95_MS = 200.0
DISPATCH_P50_MS = {"postgresql": 50.0, "sqlite": 100.0}
THROUGHPUT_RUNS_PER_S = 200.0

Number = Callable[[float | int | None, int], str]
Met = Callable[[bool | None], str]


def dispatch_row(results: dict[str, Any], system: str, database: str) -> dict[str, Any] | None:
    return next(
        (
            row
            for row in results.get("dispatch", {}).get("rows", [])
            if row["system"] == system and row["database"] == database and "latency" in row
        ),
        None,
    )


def run_stream_rows(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The run-event rows of stream_latency, by database."""
    return {
        row["database"]: row
        for row in results.get("stream_latency", {}).get("rows", [])
        if "database" in row and "first_token" in row
    }


def targets(results: dict[str, Any], number: Number, met: Met) -> list[list[str]]:
    rows: list[list[str]] = []
    streams = run_stream_rows(results)
    # The target is stated for production's database; SQLite is shown beside it.
    main = streams.get("postgresql") or streams.get("sqlite")
    main_label = "PostgreSQL" if "postgresql" in streams else "SQLite"
    other = streams.get("sqlite") if "postgresql" in streams else None
    ticker = next(
        (
            row
            for row in results.get("stream_latency", {}).get("rows", [])
            if "database" not in row and "p50_ms" in row
        ),
        None,
    )

    def first_token(row: dict[str, Any]) -> str:
        summary = row["first_token"]
        return (
            f"p50 {number(summary['p50_ms'], 1)} ms, p95 {number(summary['p95_ms'], 1)} ms "
            f"({summary['count']} runs)"
        )

    rows.append(
        [
            "first token: POST /api/runs/ → first token at the SSE client, p50 ≤ 150 ms",
            f"{main_label}: {first_token(main)}" if main else "not measured in this run",
            f"SQLite: {first_token(other)}" if other else "—",
            met(
                None
                if main is None or main["first_token"]["p50_ms"] is None
                else main["first_token"]["p50_ms"] <= FIRST_TOKEN_P50_MS
            ),
        ]
    )

    def events(row: dict[str, Any]) -> str:
        summary = row["events"]
        return (
            f"p50 {number(summary['p50_ms'], 1)} ms, p95 {number(summary['p95_ms'], 1)} ms "
            f"({summary['count']} events)"
        )

    postgres = streams.get("postgresql")
    anchors = [f"SQLite: {events(streams['sqlite'])}"] if "sqlite" in streams else []
    if ticker:
        anchors.append(
            f"demo ticker, no database: p50 {number(ticker['p50_ms'], 2)} ms, "
            f"p95 {number(ticker['p95_ms'], 2)} ms"
        )
    rows.append(
        [
            "streaming: worker event → SSE client p50 ≤ 50 ms, p95 ≤ 200 ms (PostgreSQL)",
            f"PostgreSQL: {events(postgres)}" if postgres else "not measured on PostgreSQL",
            "; ".join(anchors) or "—",
            met(
                None
                if postgres is None or postgres["events"]["p50_ms"] is None
                else postgres["events"]["p50_ms"] <= STREAM_P50_MS
                and (postgres["events"]["p95_ms"] or 1e9) <= STREAM_P95_MS
            ),
        ]
    )

    def latency(system: str, database: str) -> str:
        row = dispatch_row(results, system, database)
        return f"{system} ({database}) {number(row['latency']['p50_ms'], 1)} ms" if row else ""

    def rate(system: str, database: str) -> str:
        row = dispatch_row(results, system, database)
        return f"{system} ({database}) {number(row['runs_per_second'], 0)}/s" if row else ""

    keel = {
        database: row
        for database in DISPATCH_P50_MS
        if (row := dispatch_row(results, "keel", database)) is not None
    }
    measured = [
        f"keel ({database}) p50 {number(row['latency']['p50_ms'], 1)} ms, "
        f"p95 {number(row['latency']['p95_ms'], 1)} ms"
        for database, row in keel.items()
    ]
    verdicts = [
        (row["latency"]["p50_ms"] or 1e9) <= DISPATCH_P50_MS[database]
        for database, row in keel.items()
    ]
    rows.append(
        [
            "dispatch: enqueue → run start p50 ≤ 50 ms PostgreSQL, ≤ 100 ms SQLite",
            "; ".join(measured) or "not measured in this run",
            "; ".join(
                filter(
                    None,
                    [
                        latency("celery", "redis"),
                        latency("dbos", "postgresql"),
                        latency("dbos", "sqlite"),
                        latency("django-tasks-db", "postgresql"),
                        latency("django-tasks-db", "sqlite"),
                    ],
                )
            ),
            # Both databases must meet theirs; with only SQLite measured, PostgreSQL's
            # half is unknown, so the target stays pending.
            met(all(verdicts) if len(keel) == len(DISPATCH_P50_MS) or not all(verdicts) else None),
        ]
    )
    keel_postgres = keel.get("postgresql")
    keel_sqlite = keel.get("sqlite")
    rows.append(
        [
            "throughput: ≥ 200 no-op runs/s through keel's service layer, one worker, PostgreSQL",
            (
                f"keel (postgresql) {number(keel_postgres['runs_per_second'], 0)}/s"
                if keel_postgres
                else "not measured on PostgreSQL"
            )
            + (
                f"; keel (sqlite) {number(keel_sqlite['runs_per_second'], 0)}/s"
                if keel_sqlite
                else ""
            ),
            "; ".join(
                filter(
                    None,
                    [
                        rate("dbos", "postgresql"),
                        rate("celery", "redis"),
                        rate("django-tasks-db", "postgresql"),
                        rate("django-tasks-db", "sqlite"),
                    ],
                )
            ),
            met(
                None
                if keel_postgres is None
                else (keel_postgres["runs_per_second"] or 0) >= THROUGHPUT_RUNS_PER_S
            ),
        ]
    )
    return rows


#: What the profiles showed where a run target was missed (py-spy
#: 0.4.3 on this machine, 2026-11-26, PostgreSQL, `keel worker` with keel's defaults).
#: Rendered under the targets table only while the target is not met.
MISSES = {
    "API": [
        "py-spy `--gil` profiles of one `keel web` worker at full API load, SQLite, "
        "2026-11-26. With a2wsgi (keel's first WSGI pool) each pool thread waited for the "
        "event loop three times per request (start_response, body, end of body): 237 of "
        "272 pool-thread samples with 1,000 streams open. Done: keel's own pool "
        "(src/keel/runtime/web/wsgi_pool.py) hands a finished response back in one piece, and "
        "the worker's loop is uvloop; together they took keel with 1,000 streams from "
        "~80 % to ~100-120 % of gthread in the runs of that day.",
        "- What is left is the streams' own work: with them open the event loop's share "
        "of the worker's GIL time rose from 32 % to 42 % (uvloop's timers and writes for "
        "500 events/s per worker, Django's ASGI handler 3 %), and the machine was already "
        "saturated (wrk, the 1,000-stream client and both workers on two cores). Single "
        "3-second windows of one case ranged 2,040-2,888 req/s on this shared VM, so the "
        "ratio moves by ±15 % between runs.",
    ],
    "dispatch": [
        "Timestamps of the same runs (AgentRun.created_at → DBOS "
        "`workflow_status.created_at` → `started_at_epoch_ms` → AgentRun.started_at), "
        "medians of 15 runs on PostgreSQL before the changes below: recording and "
        "enqueueing 5-9 ms, waiting in the DBOS queue 23-57 ms, dequeue → `run_start` "
        "11-30 ms.",
        "- Queue wait: `keel worker` polls its database-backed, partitioned queue "
        "(`AGENT_QUEUE_POLLING_INTERVAL` 0.05 s). One poll cycle is ~5 round trips plus "
        "~5 per owner with queued runs (`get_queue` reload, `get_queue_partitions`, then "
        "per partition a pending count, version check, select and claim). At 0.01 s "
        "polling the median wait only fell to ~20 ms: the cycle's own queries dominate. "
        "Done: the worker's DBOS engine no longer pings before every checkout on "
        "PostgreSQL (`db_engine_kwargs`, src/keel/runtime/worker.py; 11 % of the queue "
        "thread's wall time was `do_ping`); tests/reliability proves a restarted "
        "database is still survived.",
        "- Dequeue → start: `run_start` was 7 round trips. Done: the run's changed fields "
        "and its `last_sequence` are one UPDATE (`_append` in src/keel/agents/services.py), "
        "so BEGIN, SELECT … FOR UPDATE, UPDATE, INSERT event, SELECT pg_notify, COMMIT. "
        "Left: one conditional `UPDATE … RETURNING` in place of the SELECT and UPDATE, "
        "and `pg_notify` folded into the INSERT (`WITH e AS (INSERT … RETURNING run_id) "
        "SELECT pg_notify(…) FROM e`), which needs raw SQL.",
    ],
    "throughput": [
        "The worker is the limit, not the enqueuing client: ~10 ms of Python per no-op run "
        "on one core (the GIL) before the changes below, where raw DBOS in the same run "
        "needs ~5 ms; the process is CPU-bound (/proc utime + stime over a 300-run burst). "
        "A py-spy `--gil` profile of a burst: keel's `run_start` + `run_finish` held the "
        "GIL 43 % of the time (the Django ORM building and compiling ~10 statements per "
        "run), DBOS's queue thread 21 %, the event loop 9 %, DBOS's checkpoints ~3 %.",
        "- Spreading the burst over 1, 10 or 50 owners, `AGENT_RUNS_PER_USER` 1, 3, 20 or "
        "100, or `AGENT_WORKER_CONCURRENCY` 100 all stayed inside the same band: the "
        "process is CPU-bound, not waiting on limits.",
        "- Done: one UPDATE per status change instead of two, no `pg_notify` for a run's "
        "first event (nothing can be streaming a run that did not exist), no DBOS "
        "pre-ping: 62 → 70 runs/s on PostgreSQL and 54 → 78 on SQLite in the runs of "
        "2026-11-26. Left: raw SQL for `run_start`/`run_finish` (`UPDATE … RETURNING`) to "
        "skip most of the ORM's per-call query building. Past that the ceiling is DBOS's "
        "own ~5 ms per workflow (raw DBOS ~200/s here), so 200 runs/s through keel needs a "
        "second worker process per task.",
    ],
}
