"""7. Idle CPU: what a worker burns with nothing to do, per process, over 30 s.

Every worker is started with its defaults on its database (keel on SQLite, as ``make
run`` gives it, and on PostgreSQL; Celery on Redis; django-tasks-db's ``db_worker``),
left to finish starting, then measured over the same window side by side: idle
processes barely compete, and noise from elsewhere lands on every row at once. CPU is
user + system time from /proc, summed over the worker's process tree, divided by the
window and by the number of processes (Celery's prefork pool is 3 processes; ``keel
worker`` with ``WORKER_PROCESSES`` is several).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from bench.dispatch import databases, worker
from bench.environment import base_environment
from bench.harness import Run, emit
from bench.processes import Service, cpu_seconds, descendants

NAME = "idle_cpu"
#: What the issue measures: 30 s of nothing.
WINDOW_S = 30.0
#: Start-up (imports, migrations checks, DBOS launch) is not idling: wait this long first.
SETTLE_S = 12.0


def tree(service: Service) -> list[int]:
    assert service.process is not None
    return [service.process.pid, *descendants(service.process.pid)]


def tree_cpu(pids: list[int]) -> float:
    return sum(seconds for pid in pids if (seconds := cpu_seconds(pid)) is not None)


def percent_of_core(cpu_s: float, window_s: float, processes: int) -> float:
    """CPU seconds over a window as % of one core per process."""
    return round(100 * cpu_s / window_s / max(1, processes), 3)


def cases(
    bench: Run, database_cases: list[tuple[str, dict[str, str], str]]
) -> list[tuple[str, str, dict[str, str]]]:
    """(system, database label, environment) for each worker measured."""
    out = []
    for label, django_database, dbos_database in database_cases:
        environment = base_environment(
            DJANGO_SETTINGS_MODULE="bench.settings",
            BENCH_DBOS_DATABASE=dbos_database,
            AGENT_MODULES="bench.noop_agent",
            **django_database,
        )
        out.append(("keel", label, environment))
        if not bench.smoke:
            out.append(("django-tasks-db", label, environment))
    celery = base_environment(
        DJANGO_SETTINGS_MODULE="bench.settings",
        BENCH_CELERY_QUEUE=f"keel-bench-idle-{uuid.uuid4().hex[:8]}",
        **database_cases[0][1],
    )
    out.append(("celery", "redis", celery))
    return out


def run(bench: Run) -> dict[str, Any]:
    started = time.monotonic()
    window = bench.pick(full=WINDOW_S, smoke=2.0)
    settle = bench.pick(full=SETTLE_S, smoke=6.0)
    rows = []
    with databases(bench) as database_cases:
        measured = [
            (system, label, worker(system, environment).start())
            for system, label, environment in cases(bench, database_cases)
        ]
        try:
            time.sleep(settle)
            trees = [(system, label, service, tree(service)) for system, label, service in measured]
            before = [tree_cpu(pids) for *_, pids in trees]
            time.sleep(window)
            for (system, label, service, pids), cpu_before in zip(trees, before, strict=True):
                if not service.running():
                    raise RuntimeError(f"{system} worker exited:\n{service.log_tail()}")
                used = tree_cpu(pids) - cpu_before
                rows.append(
                    {
                        "system": system,
                        "database": label,
                        "processes": len(pids),
                        "window_s": window,
                        "cpu_s": round(used, 3),
                        "percent_of_core_per_process": percent_of_core(used, window, len(pids)),
                    }
                )
        finally:
            for *_, service in measured:
                service.stop(grace=10.0)
    for row in rows:
        print(
            f"  {row['system']:16} {row['database']:10} {row['processes']} process(es) "
            f"{row['percent_of_core_per_process']} % of a core each",
            flush=True,
        )
    return emit(NAME, {"window_s": window, "settle_s": settle, "rows": rows}, started=started)
