"""Why a target is missed: what its profiles showed, written under the targets table.

This text changes when the code is profiled again; the verdicts it explains are judged
in ``bench.report.targets`` and ``bench.report.run_targets``.
"""

from __future__ import annotations

from bench.report.cells import met


def misses(target_rows: list[list[str]]) -> list[str]:
    """Explain each missed target with what its profile showed."""
    out: list[str] = []
    for row in target_rows:
        key = row[0].split(":")[0]
        if row[3] == met(False) and key in MISSES:
            out += [f"### Why {key} is not met", "", *MISSES[key], ""]
    return out


#: What the profiles showed where a run target was missed (py-spy
#: 0.4.3 on this machine, 2026-11-26, PostgreSQL, `keel worker` with keel's defaults).
#: Rendered under the targets table only while the target is not met.
MISSES = {
    "open streams": [
        "Profiled on 2026-12-01 with the flood itself (py-spy on a web worker, `ss -ltn` on "
        "the listening sockets, `/proc/PID/status`, `nstat`), docs/adr/0012-ten-thousand-"
        "streams.md. Three causes were found and fixed: Django's ASGI handler kept one OS "
        "thread per open stream (1,650 threads for 1,650 streams; now `WEB_THREADS` shared "
        "executors, src/keel/runtime/web/stream_handler.py); opening a stream took ~16 "
        "loop-thread round trips through the middleware chain (now one, the chain in sync "
        "mode: 3.0 → 1.4 ms of CPU per stream set-up); and uvloop re-listened gunicorn's "
        "socket with a backlog of 100, so a flood was dropped and retried 1, 3 and 7 s "
        "later, which is where the 1.2 s /healthz came from (now `WEB_BACKLOG`, 4096, "
        "src/keel/runtime/web/gunicorn_worker.py). On a quiet moment of this machine the "
        "same flood then established 10,000 of 10,000 in 8.2 s with /healthz p99 5.8 ms and "
        "0 failures.",
        "- What is left: once open, 10,000 streams at one tick a second cost ~0.5 of a "
        "core (~50-80 µs a tick: Django's streaming wrapper, gunicorn's chunked send, the "
        "ticker's timer). When other work takes the cores (this run: load average in the "
        "table above) the workers fall behind their ticks, set-up stretches to tens of "
        "seconds, and /healthz waits behind them on the loop. Memory is ~36 KB a stream at "
        "every size (100 to 10,000), over 32 KB; it was ~62 KB with a thread per stream. "
        "Not yet tried: a cheaper tick path (writing the encoded event to the transport "
        "without Django's per-chunk wrapper), and finding what the remaining 36 KB is "
        "(tracemalloc in a worker: the ASGIRequest, the handler's TaskGroup and disconnect "
        "task, gunicorn's protocol object).",
    ],
    "API (no streams)": [
        "Not profiled again in this change (issue 20's web work went to the streams). The "
        "ADR 0001 profile of the same endpoint shows where keel's default spends a request "
        "that granian-wsgi does not: the hand-off from the event loop to a pool thread and "
        "back, and gunicorn's Python HTTP parser and access logger, where granian parses "
        "and logs in Rust. Not yet tried: granian as keel's server for the API half.",
    ],
    "idle CPU": [
        "The worker's wake-up (LISTEN/NOTIFY instead of polling) is the other half of "
        "issue 20, on its own branch; this run measured `keel worker` before it landed. "
        "The earlier measurement (issue 20): 0.86 s of CPU every 10 s, DBOS's queue threads "
        "polling every 0.05 s.",
    ],
    "first token": [
        "First token is dispatch plus the run's first event: it moves with the dispatch "
        "row below (a run waits in DBOS's polled queue) and with the load on the machine "
        "(this run: load average in the table above).",
    ],
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
