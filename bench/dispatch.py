"""3. Agent-run dispatch: enqueue -> start latency and no-op runs/s, per job system.

Each system gets one worker process with its defaults on the same machine, and the
same enqueuing client process (bench.dispatch_client): Celery with the Redis broker,
django-tasks-db's ``db_worker``, raw DBOS with a queue, keel.tasks (the same no-op
Django task as django-tasks-db's on keel's durable backend, run by ``keel worker``) and
keel's service layer (``run_create`` in the client, ``keel worker`` running the
``bench-noop`` agent).
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.environment import (
    base_environment,
    database_url,
    drop_postgres_database,
    postgres_database,
    sqlite_database,
)
from bench.harness import Run, emit
from bench.processes import BIN, RESULTS, Service, rss_mb, run_command

NAME = "dispatch"
PYTHON = sys.executable
#: keel's worker processes per task in the second keel row: one per vCPU of a 2-vCPU
#: task (``WORKER_PROCESSES``, read by ``keel worker``).
KEEL_PROCESSES = 2
#: The settings that put bench.django_jobs.noop on keel's backend (keel.tasks).
KEEL_TASKS_SETTINGS = "bench.keel_tasks_settings"


def is_keel_row(row: dict[str, Any]) -> bool:
    """keel's own rows (agent runs and keel.tasks), the ones the report highlights."""
    return row["system"] in ("keel", "keel.tasks")


def system_label(row: dict[str, Any]) -> str:
    """The system as the report names it: keel's rows say how many worker processes."""
    processes = row.get("worker_processes")
    if row["system"] == "keel" and processes:
        return f"keel, {processes} processes" if processes > 1 else "keel"
    return str(row["system"])


def worker(system: str, environment: dict[str, str]) -> Service:
    argv = {
        "celery": [
            str(BIN / "celery"),
            "-A",
            "bench.celery_app",
            "worker",
            "--loglevel",
            "WARNING",
            "--concurrency",
            "2",
        ],
        "django-tasks-db": [str(BIN / "keel"), "manage", "db_worker"],
        "dbos": [PYTHON, "-m", "bench.dbos_app"],
        "keel": [str(BIN / "keel"), "worker"],
        "keel.tasks": [str(BIN / "keel"), "worker"],
    }[system]
    return Service(
        name=f"dispatch-{system}-{uuid.uuid4().hex[:6]}", argv=argv, environment=environment
    )


def measure(
    system: str, environment: dict[str, str], latency: int, throughput: int
) -> dict[str, Any]:
    service = worker(system, environment).start()
    processes = environment.get("WORKER_PROCESSES")
    try:
        output = run_command(
            [
                PYTHON,
                "-m",
                "bench.dispatch_client",
                system,
                "--tag",
                uuid.uuid4().hex,
                "--latency",
                str(latency),
                "--throughput",
                str(throughput),
            ],
            environment=environment,
            timeout=240,
            what=f"{system} client",
        )
        summary: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
        if not summary["ready"]:
            raise RuntimeError(f"{system} worker never ran a job:\n{service.log_tail()}")
        summary["worker_pid_count"] = 1 + len(service.worker_pids())
        if processes is not None:
            summary["worker_processes"] = int(processes)
        assert service.process is not None
        # After the burst: the worker's memory once it has run every job.
        summary["worker_rss_mb"] = rss_mb(service.process.pid)
        return summary
    finally:
        service.stop()


@contextlib.contextmanager
def databases(bench: Run) -> Iterator[list[tuple[str, dict[str, str], str]]]:
    """Yield (label, Django database settings, DBOS system database) per database."""
    dbos_sqlite = RESULTS / "dispatch-dbos.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{dbos_sqlite}{suffix}").unlink(missing_ok=True)
    cases = [("sqlite", sqlite_database("dispatch"), str(dbos_sqlite))]
    if not bench.postgres or bench.smoke:
        yield cases
        return
    import psycopg

    from bench.environment import POSTGRES_ADMIN_URL

    # Created empty here so the enqueuing client can connect before DBOS migrates it.
    dbos_name = f"keel_bench_dbos_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{dbos_name}"')
    with postgres_database() as postgres:
        try:
            yield [*cases, ("postgresql", postgres, database_url(dbos_name))]
        finally:
            drop_postgres_database(dbos_name)


def systems(bench: Run, environment: dict[str, str]) -> list[tuple[str, dict[str, str]]]:
    """(system, worker and client environment) measured on one database, in table order."""
    # Smoke runs keep keel's own paths (and Celery, measured once): as in server_modes,
    # the full run is where every alternative is compared.
    alternatives = [
        (system, environment) for system in bench.pick(full=("django-tasks-db", "dbos"), smoke=())
    ]
    keel_tasks = {
        **environment,
        "DJANGO_SETTINGS_MODULE": KEEL_TASKS_SETTINGS,
        "WORKER_PROCESSES": "1",
    }
    # keel's agent runs with one worker process, then with one per vCPU of a 2-vCPU task.
    # If ``keel worker`` ignores WORKER_PROCESSES, the second row says so by its pids.
    agent_runs = [
        ("keel", {**environment, "WORKER_PROCESSES": str(processes)})
        for processes in (1, KEEL_PROCESSES)
    ]
    return [*alternatives, ("keel.tasks", keel_tasks), *agent_runs]


def run(bench: Run) -> dict[str, Any]:
    started = time.monotonic()
    latency = bench.pick(full=6, smoke=2)
    throughput = bench.pick(full=200, smoke=10)
    rows = []
    with databases(bench) as cases:
        celery_environment = base_environment(
            DJANGO_SETTINGS_MODULE="bench.settings",
            BENCH_CELERY_QUEUE=f"keel-bench-{uuid.uuid4().hex[:8]}",
            **cases[0][1],
        )
        rows.append(
            {"database": "redis", **measure("celery", celery_environment, latency, throughput)}
        )
        for label, django_database, dbos_database in cases:
            environment = base_environment(
                DJANGO_SETTINGS_MODULE="bench.settings",
                BENCH_DBOS_DATABASE=dbos_database,
                # keel's worker and client load only the no-op agent; every other
                # AGENT_* setting keeps keel's default.
                AGENT_MODULES="bench.noop_agent",
                **django_database,
            )
            for system, system_environment in systems(bench, environment):
                rows.append(
                    {
                        "database": label,
                        **measure(system, system_environment, latency, throughput),
                    }
                )
    for row in rows:
        print(
            f"  {system_label(row):16} {row['database']:10} {row.get('latency')} {row.get('runs_per_second')}/s",
            flush=True,
        )
    return emit(
        NAME,
        {"latency_jobs": latency, "throughput_jobs": throughput, "rows": rows},
        started=started,
    )
