"""Write docs/benchmarks.md and its plots from bench/results/*.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench import run_targets
from bench.processes import REPO, RESULTS

DOCS = REPO / "docs"
PLOTS = DOCS / "benchmarks"
REPORT = DOCS / "benchmarks.md"
NAMES = [
    "health_under_streams",
    "server_modes",
    "api_under_streams",
    "dispatch",
    "stream_latency",
    "cold_start",
]
HEALTH_P99_TARGET_MS = 100.0


def load(results: Path = RESULTS) -> dict[str, Any]:
    """Read every result present (a partial run keeps the others' latest results)."""
    loaded: dict[str, Any] = {}
    for name in [*NAMES, "meta"]:
        path = results / f"{name}.json"
        if path.exists():
            loaded[name] = json.loads(path.read_text())
    return loaded


def number(value: float | int | None, digits: int = 0) -> str:
    if value is None:
        return "—"
    return f"{value:,.{digits}f}"


def met(condition: bool | None) -> str:
    if condition is None:
        return "pending"
    return "**met**" if condition else "**not met**"


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return [*lines, ""]


# -- targets --------------------------------------------------------------------------


def health_rows(results: dict[str, Any]) -> dict[tuple[str, int], dict[str, Any]]:
    rows = results.get("health_under_streams", {}).get("rows", [])
    return {(row["server"], row["streams_requested"]): row for row in rows}


def targets(results: dict[str, Any]) -> list[list[str]]:
    rows: list[list[str]] = []
    health = health_rows(results)
    largest = max((streams for _, streams in health), default=0)
    keel = health.get(("keel-asgi", largest))
    if keel:
        anchors = ", ".join(
            f"{server}: {health[(server, largest)]['healthz']['failures']} of "
            f"{health[(server, largest)]['healthz']['count']} checks failed"
            for server in ("keel-wsgi", "gunicorn-default")
            if (server, largest) in health
        )
        check = keel["healthz"]
        rows.append(
            [
                f"health under load: {largest:,} open SSE streams, /healthz p99 ≤ 100 ms, 0 failures",
                f"keel default: p99 {number(check['p99_ms'], 1)} ms, {check['failures']} of "
                f"{check['count']} failed ({keel['streams_established']:,} streams established)",
                anchors,
                met(
                    check["failures"] == 0
                    and (check["p99_ms"] or 1e9) <= HEALTH_P99_TARGET_MS
                    and keel["streams_established"] == largest
                ),
            ]
        )
    rows += run_targets.targets(results, number, met)
    api = results.get("api_under_streams")
    if api:
        by_case = {(row["server"], row["streams_requested"]): row for row in api["rows"]}
        with_streams = by_case.get(("keel-asgi", api["streams"]))
        gthread = by_case.get(("keel-wsgi", 0))
        if with_streams and gthread:
            ratio_value = api.get("keel_with_streams_vs_gthread_without")
            check = with_streams["healthz"]
            rows.append(
                [
                    f"API: keel default with {api['streams']:,} open streams ≥ 100 % of gthread's "
                    "req/s (sync DRF endpoint), /healthz p99 ≤ 100 ms meanwhile",
                    f"{number(with_streams['requests_per_second'])} req/s "
                    f"({with_streams['streams_established']:,} streams open) = "
                    f"{number((ratio_value or 0) * 100)} % of gthread; /healthz p99 "
                    f"{number(check['p99_ms'], 1)} ms, {check['failures']} failed",
                    f"gthread 2x8 (`keel web --server wsgi`) without streams: "
                    f"{number(gthread['requests_per_second'])} req/s",
                    met(
                        (ratio_value or 0) >= 1.0
                        and check["failures"] == 0
                        and (check["p99_ms"] or 1e9) <= HEALTH_P99_TARGET_MS
                    ),
                ]
            )
    cold = {row["process"]: row for row in results.get("cold_start", {}).get("rows", [])}
    web = cold.get("keel web --server asgi")
    if web:
        worst_worker = max((rss for rss in web["worker_rss_mb"] if rss is not None), default=None)
        other = cold.get("keel web --server wsgi")
        rows.append(
            [
                "cold start: process start → first /healthz 200 ≤ 1.5 s; ≤ 120 MB RSS per web worker",
                f"keel default: {number(web['first_200_median_s'], 2)} s (median of "
                f"{web['starts']}); worker RSS {number(worst_worker, 1)} MB",
                f"`--server wsgi`: {number(other['first_200_median_s'], 2)} s; worker RSS "
                f"{number(max(rss for rss in other['worker_rss_mb'] if rss), 1)} MB"
                if other and other["worker_rss_mb"]
                else "—",
                met(web["first_200_median_s"] <= 1.5 and (worst_worker or 1e9) <= 120),
            ]
        )
    worker = cold.get("keel worker")
    if worker and "ready_median_s" in worker:
        after_runs = [
            f"{row['database']} {number(row['worker_rss_mb_after_runs'], 1)} MB"
            for row in results.get("stream_latency", {}).get("rows", [])
            if row.get("worker_rss_mb_after_runs") is not None
        ]
        rows.append(
            [
                "worker cold start and memory (the design sets no target)",
                f"`keel worker`: ready {number(worker['ready_median_s'], 2)} s (median of "
                f"{worker['starts']}); RSS idle {number(worker['master_rss_mb'], 1)} MB",
                "RSS after demo runs: " + ", ".join(after_runs) if after_runs else "—",
                "no target",
            ]
        )
    rows.append(
        [
            "durability: SIGKILL mid-run x 20, every run finishes",
            "not measured by `make bench` (a process-level test of the worker role)",
            "—",
            met(None),
        ]
    )
    rows.append(
        [
            "deploys: rolling restart under load, 0 failed requests",
            "not measured by `make bench`",
            "—",
            met(None),
        ]
    )
    return rows


# -- plots ----------------------------------------------------------------------------


def plot(results: dict[str, Any], directory: Path = PLOTS) -> list[str]:
    """Draw the PNG plots; return their file names."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory.mkdir(parents=True, exist_ok=True)
    drawn = []
    health = results.get("health_under_streams")
    if health:
        figure, axis = plt.subplots(figsize=(7, 4))
        servers = sorted({row["server"] for row in health["rows"]})
        for server in servers:
            rows = sorted(
                (row for row in health["rows"] if row["server"] == server),
                key=lambda row: row["streams_requested"],
            )
            axis.plot(
                [row["streams_requested"] for row in rows],
                [row["healthz"]["p99_ms"] or 0 for row in rows],
                marker="o",
                label=server,
            )
        axis.axhline(HEALTH_P99_TARGET_MS, color="grey", linestyle="--", label="target 100 ms")
        axis.set_yscale("log")
        axis.set_xlabel("open SSE streams")
        axis.set_ylabel("/healthz p99 (ms, log; 5,000 = timeout)")
        axis.legend()
        axis.set_title("/healthz p99 under open streams")
        figure.tight_layout()
        figure.savefig(directory / "health_under_streams.png", dpi=100)
        plt.close(figure)
        drawn.append("health_under_streams.png")
    modes = results.get("server_modes")
    if modes:
        rows = modes["rows"]
        figure, axis = plt.subplots(figsize=(9, 4.5))
        labels = [f"{row['server']}\n{row['endpoint']}" for row in rows]
        axis.barh(labels, [row["requests_per_second"] or 0 for row in rows])
        axis.invert_yaxis()
        axis.set_xlabel("requests/s (median)")
        axis.tick_params(axis="y", labelsize=7)
        axis.set_title("Server modes, 2 workers, same app")
        figure.tight_layout()
        figure.savefig(directory / "server_modes.png", dpi=100)
        plt.close(figure)
        drawn.append("server_modes.png")
    api = results.get("api_under_streams")
    if api:
        figure, axis = plt.subplots(figsize=(7, 3.5))
        labels = [f"{row['server']}\n{row['streams_requested']} streams" for row in api["rows"]]
        axis.bar(labels, [row["requests_per_second"] or 0 for row in api["rows"]])
        axis.set_ylabel("/api/ping/ requests/s (median)")
        axis.set_title("API throughput with and without open streams")
        axis.tick_params(axis="x", labelsize=8)
        figure.tight_layout()
        figure.savefig(directory / "api_under_streams.png", dpi=100)
        plt.close(figure)
        drawn.append("api_under_streams.png")
    dispatch = results.get("dispatch")
    if dispatch:
        measured = [row for row in dispatch["rows"] if "latency" in row]
        figure, axis = plt.subplots(figsize=(7, 3.5))
        axis.bar(
            [f"{row['system']}\n{row['database']}" for row in measured],
            [row["latency"]["p50_ms"] or 0 for row in measured],
        )
        axis.set_ylabel("enqueue → start p50 (ms)")
        axis.set_title("Dispatch latency")
        axis.tick_params(axis="x", labelsize=8)
        figure.tight_layout()
        figure.savefig(directory / "dispatch.png", dpi=100)
        plt.close(figure)
        drawn.append("dispatch.png")
    return drawn


# -- markdown -------------------------------------------------------------------------


def render(results: dict[str, Any], plots: list[str]) -> str:
    """Return docs/benchmarks.md for ``results`` (pure: no I/O)."""
    meta = results.get("meta", {})
    machine = meta.get("machine", {})
    target_rows = targets(results)
    out = [
        "# Benchmarks",
        "",
        "Generated by `make bench` (`python -m bench`) from bench/results/*.json; do not edit",
        "by hand. Every comparison ran side by side in the same run on the same machine, on",
        "loopback only; figures are medians over repeats. The targets are those of the design",
        "(goals, not CI timers).",
        "",
        f"Run started {meta.get('started_at', '?')}, took {number(meta.get('duration_s'))} s "
        f"(`{meta.get('command', 'python -m bench')}`).",
        "",
        "## Machine",
        "",
        *table(
            ["what", "value"],
            [
                ["CPUs (nproc)", str(machine.get("nproc", "?"))],
                ["CPU model", str(machine.get("cpu_model", "?"))],
                ["kernel", str(machine.get("kernel", "?"))],
                ["Python", str(machine.get("python", "?"))],
                ["Django", str(machine.get("django", "?"))],
                ["gunicorn", str(machine.get("gunicorn", "?"))],
                ["granian", str(machine.get("granian", "?"))],
                ["load generator", f"wrk ({machine.get('wrk', '?')}), 1 thread, 32 connections"],
                ["open files limit", str(meta.get("open_files_limit", "?"))],
            ],
        ),
        "Other work shared these two cores while the numbers were taken; the ratios between",
        "rows measured side by side are more trustworthy than any absolute figure.",
        "",
        "## Commands",
        "",
        "```",
        "make bench          # uv sync --group bench, installs wrk if missing, python -m bench",
        "make bench-smoke    # smallest sizes, part of .ci/run; does not rewrite this file",
        ".venv/bin/python -m bench --only server_modes   # one benchmark, report regenerated",
        "```",
        "",
        "## Targets",
        "",
        *table(["target", "measured", "anchor measured beside it", "result"], target_rows),
        *misses(target_rows),
    ]
    out += section_health(results.get("health_under_streams"))
    out += section_api(results.get("api_under_streams"))
    out += section_modes(results.get("server_modes"))
    out += section_dispatch(results.get("dispatch"))
    out += section_stream_latency(results.get("stream_latency"))
    out += section_cold_start(results.get("cold_start"))
    if meta.get("failed"):
        out += ["## Failed in this run", "", ", ".join(meta["failed"]), ""]
    for name in plots:
        if f"benchmarks/{name}" not in "\n".join(out):
            out += [f"![{name}](benchmarks/{name})", ""]
    return "\n".join(out).rstrip() + "\n"


def misses(target_rows: list[list[str]]) -> list[str]:
    """Explain each missed run target with what its profile showed."""
    out: list[str] = []
    for row in target_rows:
        key = row[0].split(":")[0]
        if row[3] == met(False) and key in run_targets.MISSES:
            out += [f"### Why {key} is not met", "", *run_targets.MISSES[key], ""]
    return out


def section_health(result: dict[str, Any] | None) -> list[str]:
    if not result:
        return []
    rows = [
        [
            row["server"],
            f"{row['streams_requested']:,}",
            f"{row['streams_established']:,}",
            number(row["healthz"]["p50_ms"], 1),
            number(row["healthz"]["p99_ms"], 1),
            f"{row['healthz']['failures']} of {row['healthz']['count']}",
            ", ".join(number(rss, 0) for rss in row.get("worker_rss_mb", [])),
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
        "",
        *table(
            [
                "server",
                "streams asked",
                "streams established",
                "p50 ms",
                "p99 ms",
                "failed",
                "worker RSS MB",
            ],
            rows,
        ),
        "![/healthz p99 under open streams](benchmarks/health_under_streams.png)",
        "",
    ]


def section_api(result: dict[str, Any] | None) -> list[str]:
    if not result:
        return []
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


def section_modes(result: dict[str, Any] | None) -> list[str]:
    if not result:
        return []
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


def section_dispatch(result: dict[str, Any] | None) -> list[str]:
    if not result:
        return []
    rows = []
    for row in result["rows"]:
        if "pending" in row:
            rows.append(
                [
                    row["system"],
                    row["database"],
                    "pending",
                    "pending",
                    "pending",
                    "—",
                    row["pending"],
                ]
            )
            continue
        note = f"{row['completed']} of {row['runs']} runs completed"
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
        rows.append(
            [
                row["system"],
                row["database"],
                number(row["latency"]["p50_ms"], 1),
                number(row["latency"]["p95_ms"], 1),
                number(row["runs_per_second"]),
                number(row.get("worker_rss_mb"), 1),
                note,
            ]
        )
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
        "Worker RSS is read after the burst.",
        "",
        *table(["system", "database", "p50 ms", "p95 ms", "runs/s", "worker RSS MB", "note"], rows),
        "![Dispatch latency](benchmarks/dispatch.png)",
        "",
    ]


def section_stream_latency(result: dict[str, Any] | None) -> list[str]:
    if not result:
        return []
    rows = []
    runs = []
    for row in result["rows"]:
        if "pending" in row:
            rows.append([row["server"], row["source"], "pending", "pending", row["pending"]])
            continue
        if "first_token" in row:
            first = row["first_token"]
            runs.append(
                [
                    row["database"],
                    number(first["p50_ms"], 1),
                    number(first["p95_ms"], 1),
                    number(row["p50_ms"], 1),
                    number(row["p95_ms"], 1),
                    number(row["p99_ms"], 1),
                    f"{row['count']} events timed of {row['events_received']} received; "
                    f"{row['runs_succeeded']} of {row['runs_followed']} runs succeeded",
                ]
            )
            continue
        rows.append(
            [
                row["server"],
                row["source"],
                number(row["p50_ms"], 2),
                number(row["p95_ms"], 2),
                f"{row['count']} events over {row['streams']} streams",
            ]
        )
    out = [
        "## 4. Stream latency and first token",
        "",
        f"Baseline: each demo tick ({result['interval_s']:g} s apart) carries the server's",
        "clock when it was made; the client subtracts it on arrival (no database).",
        "",
        *table(["server", "source", "p50 ms", "p95 ms", "note"], rows),
    ]
    if runs:
        out += [
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
    return out


def section_cold_start(result: dict[str, Any] | None) -> list[str]:
    if not result:
        return []
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
        "## 5. Cold start and memory",
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


def write() -> Path:
    """Render docs/benchmarks.md and the plots from the latest results."""
    results = load()
    plots = plot(results)
    REPORT.write_text(render(results, plots))
    print(f"wrote {REPORT.relative_to(REPO)} and {len(plots)} plots", flush=True)
    return REPORT


if __name__ == "__main__":
    write()
