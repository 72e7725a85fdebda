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
        "without Django's per-chunk wrapper).",
        "- Where the memory goes (tracemalloc, 6 frames, in one `keel web` worker holding "
        "964 demo streams beyond a 23-stream baseline, 2026-12-01): 34 KB of Python "
        "allocations per stream. gunicorn's ASGI protocol 9.1 KB (per-connection dicts and "
        "deques: `_finishing_calls` 1.6 KB, the chunk deque 0.8 KB, the request and "
        "connection tasks 1.8 KB, the scope 0.5 KB) and its worker's serve loop 1.6 KB; "
        "Django's ASGI handler 6.0 KB, of which 1.7 KB is the `RequestProcessed` exception "
        "class Django defines anew inside every request's `handle()` and 0.9 KB the scope's "
        "copy into META; the response's headers 2.3 KB; asyncio's locks 1.5 KB (an "
        "`Event`'s waiter deque per connection); URL resolving 1.5 KB (the resolver's "
        "`tried` lists); gunicorn's parser 1.2 KB; keel's SSE generator 1.2 KB. So 2-4 KB "
        "would have to go from code keel does not own (gunicorn's protocol, Django's "
        "handler) to meet 32 KB; keel's own share is its 1.2 KB. Not tried yet.",
    ],
    "API (no streams)": [
        "Not profiled again in this change (issue 20's web work went to the streams). The "
        "ADR 0001 profile of the same endpoint shows where keel's default spends a request "
        "that granian-wsgi does not: the hand-off from the event loop to a pool thread and "
        "back, and gunicorn's Python HTTP parser and access logger, where granian parses "
        "and logs in Rust. Not yet tried: granian as keel's server for the API half.",
    ],
    "idle CPU": [
        "Since 2026-12-01 the worker's queue threads sleep until woken (LISTEN/NOTIFY on PostgreSQL, inotify on SQLite) instead of polling every 0.05 s (0.86 s of CPU every 10 s before). What is left when idle is DBOS's own 1-second loops (its background jobs, its queue manager, its internal queue's poll) and, in the example project, the rate-limited `webhooks` queue, which must look once per limit period.",
    ],
    "first token": [
        "First token is dispatch plus the agent's first step and its event: the dispatch row below and an event reaching the client in a few milliseconds on PostgreSQL (the streaming row) leave the run's own start (`run_start`, the scripted model's first request, its first event written and NOTIFYed). Since 2026-12-01 `run_start` and each event are one PostgreSQL statement instead of a six-round-trip transaction (see dispatch); first token moves with dispatch and with the load on the machine (load average in the table above).",
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
        "Measured on 2026-12-01 (issue 20) with the worker's queue threads asleep until woken: on PostgreSQL a trigger on DBOS's `workflow_status` NOTIFYs `keel_queue_wake` when work is enqueued or a slot frees, on SQLite inotify watches the system database's WAL; the 5 s poll is only a safety net (src/keel/tasks/queue_wake.py, ADR 0002). The issue's baseline was 52 ms (PostgreSQL) and 59 ms (SQLite) with a 0.05 s poll; the runs since have measured 25-30 ms on PostgreSQL (86 ms in one run on a loaded machine) and 24-58 ms on SQLite, which moves across its 50 ms target with the machine's load.",
        "- Tried on 2026-12-01: keel's own part of a start. `run_start` was a transaction of six round trips (BEGIN, SELECT … FOR UPDATE, UPDATE, INSERT event, pg_notify, COMMIT); on PostgreSQL it is now one data-modifying statement (`UPDATE … RETURNING`, the event's INSERT and `pg_notify` in one, src/keel/agents/services.py `_append_statement`). 300 calls on a quiet machine, three alternating passes: 3.1-6.2 → 1.3-2.0 ms wall, 1.9-3.5 → 0.6-0.9 ms of CPU. That is 2-4 ms of the ~30: what is left is DBOS's woken claim cycle (~5 round trips plus ~5 per owner with queued runs: `get_queue_partitions`, then per partition a pending count, version check, select and claim; at most one woken poll per 5 ms per queue) and the hand-offs between its threads (listener → queue thread → executor → the workflow's event loop → `run_start`'s thread). Not yet tried: claiming for the woken partition only instead of DBOS's whole cycle (deeper into DBOS internals).",
    ],
    "throughput": [
        "A py-spy `--gil` profile on 2026-12-01 of one worker draining 300 queued no-op runs on PostgreSQL: DBOS's queue thread claiming work 31 % of the GIL, DBOS's workflow machinery (status rows, checkpoints, the executor) 25 %, keel's `run_start` 12 % and `run_finish` 11 % (43 % together in the earlier profile; both rewritten since, below). The process is CPU-bound (/proc utime + stime over the burst), not waiting on limits: spreading the burst over 1, 10 or 50 owners or raising `AGENT_WORKER_CONCURRENCY` stayed inside the same band.",
        "- Two worker processes per task (`WORKER_PROCESSES=2`, the rows above) did not raise it on this machine: the benchmark's client, PostgreSQL and both processes share two cores, so the second process takes CPU the first was using. On a 2-vCPU Fargate task the database is elsewhere; that case is not measured here.",
        "- Not met by a wide margin against Celery (a Redis list pop and an ack per job, no durable state): a keel run is a DBOS workflow with its status, input and output checkpointed in the database plus keel's run row and events. Tried on 2026-12-01: `run_start`, `run_finish` and every event are one PostgreSQL statement each instead of a six-round-trip ORM transaction, which cut their CPU from ~2 ms to ~0.5 ms a call (the dispatch note above); one process went from 32-104/s in earlier runs to 82/s in this one, inside the spread this machine shows between runs, so the rest of the time is DBOS's (its queue thread's claim cycle and its workflow bookkeeping). Left to try: fewer DBOS round trips per no-op workflow; a longer gap between woken polls while a queue is busy (each finished run wakes the queue, and a poll of a partitioned queue is a query per owner).",
    ],
}
