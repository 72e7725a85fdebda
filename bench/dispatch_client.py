"""Enqueue no-op jobs into one job system and time them: ``python -m bench.dispatch_client``.

Runs as its own process (like the web role that enqueues in production), so each
system's client is set up the way its documentation says, Django included. Prints one
JSON line: enqueue->start latencies and the no-op throughput.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from collections.abc import Callable
from typing import Any

from bench.jobs import key, sink
from bench.stats import latency_summary

Enqueue = Callable[[str, int, float], None]


def celery_enqueuer() -> Enqueue:
    from bench.celery_app import noop

    def enqueue(tag: str, job: int, enqueued_at: float) -> None:
        noop.delay(tag, job, enqueued_at)

    return enqueue


def django_tasks_enqueuer() -> Enqueue:
    import django

    django.setup()
    from bench.django_jobs import noop

    def enqueue(tag: str, job: int, enqueued_at: float) -> None:
        noop.enqueue(tag, job, enqueued_at)

    return enqueue


def dbos_enqueuer() -> Enqueue:
    from dbos import DBOSClient

    from bench.dbos_app import QUEUE, WORKFLOW, system_database

    client = DBOSClient(**system_database())
    options: Any = {"queue_name": QUEUE, "workflow_name": WORKFLOW}

    def enqueue(tag: str, job: int, enqueued_at: float) -> None:
        client.enqueue(options, tag, job, enqueued_at)

    return enqueue


#: Runs are spread over this many owners: keel limits each owner to
#: ``AGENT_RUNS_PER_USER`` runs at once (a DBOS queue partition per owner), and one
#: owner's burst would measure that limit rather than the worker.
KEEL_OWNERS = 10


def keel_enqueuer(owner_count: int = KEEL_OWNERS) -> Enqueue:
    import django

    django.setup()
    from bench.noop_agent import NAME
    from keel.agents.services import api_user_create, run_create

    owners = [api_user_create(username=f"bench-owner-{index}")[0] for index in range(owner_count)]

    def enqueue(tag: str, job: int, enqueued_at: float) -> None:
        run_create(
            owner=owners[job % len(owners)],  # type: ignore[arg-type]
            agent=NAME,
            input={"tag": tag, "job": job, "enqueued_at": enqueued_at},
        )

    return enqueue


def keel_run_rows(latency_tag: str, throughput_tag: str) -> dict[str, Any]:
    """Summarise the same runs from keel's own AgentRun rows (the database's clock)."""
    from keel.agents.models import AgentRun

    def rows(tag: str) -> list[tuple[Any, Any, Any]]:
        return list(
            AgentRun.objects.filter(input__tag=tag).values_list(
                "created_at", "started_at", "finished_at"
            )
        )

    latencies = [
        (started - created).total_seconds()
        for created, started, _ in rows(latency_tag)
        if started is not None
    ]
    burst = rows(throughput_tag)
    finished = [done for _, _, done in burst if done is not None]
    first = min((created for created, _, _ in burst), default=None)
    first_start = min((started for _, started, _ in burst if started is not None), default=None)
    seconds = (max(finished) - first).total_seconds() if finished and first else None
    # The worker's own pace, whatever the enqueuing client's: first start -> last finish.
    working = (max(finished) - first_start).total_seconds() if finished and first_start else None
    return {
        "started_minus_created": latency_summary(latencies),
        "finished": len(finished),
        "finished_per_second": round(len(finished) / seconds, 1) if seconds else None,
        "worker_finished_per_second": round(len(finished) / working, 1) if working else None,
    }


ENQUEUERS: dict[str, Callable[[], Enqueue]] = {
    "celery": celery_enqueuer,
    "django-tasks-db": django_tasks_enqueuer,
    # The same task and ``.enqueue()``; DJANGO_SETTINGS_MODULE picks keel's backend.
    "keel.tasks": django_tasks_enqueuer,
    "dbos": dbos_enqueuer,
    "keel": keel_enqueuer,
}


def wait_for(tag: str, count: int, timeout: float) -> list[list[float]]:
    """Wait until ``count`` jobs of ``tag`` have started (or ``timeout``); return records."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and sink().llen(key(tag)) < count:
        time.sleep(0.005)
    return [json.loads(item) for item in sink().lrange(key(tag), 0, -1)]


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("system", choices=sorted(ENQUEUERS))
    parser.add_argument("--tag", required=True)
    parser.add_argument("--latency", type=int, default=10, help="sequential jobs timed")
    parser.add_argument("--throughput", type=int, default=100, help="jobs enqueued at once")
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--jitter", type=float, default=1.0, help="max pause between jobs (s)")
    parser.add_argument(
        "--owners", type=int, default=KEEL_OWNERS, help="keel: owners the runs are spread over"
    )
    return parser.parse_args()


def main() -> None:
    arguments = parse_arguments()
    enqueue = (
        keel_enqueuer(arguments.owners)
        if arguments.system == "keel"
        else ENQUEUERS[arguments.system]()
    )
    warm_tag = f"{arguments.tag}-warm"
    latency_tag = f"{arguments.tag}-latency"
    throughput_tag = f"{arguments.tag}-throughput"
    ready = warm_up(enqueue, warm_tag, arguments.timeout)
    latencies = time_latency(
        enqueue, latency_tag, arguments.latency if ready else 0, arguments.jitter
    )
    burst = time_burst(
        enqueue, throughput_tag, arguments.throughput if ready else 0, arguments.timeout
    )
    for tag in (warm_tag, latency_tag, throughput_tag):
        sink().delete(key(tag))
    extra: dict[str, Any] = {}
    if arguments.system == "keel" and ready:
        # Runs finish a moment after they start; give the last ones that moment.
        time.sleep(1.0)
        extra["agent_runs"] = keel_run_rows(latency_tag, throughput_tag)
    print(
        json.dumps(
            {
                **extra,
                "system": arguments.system,
                "ready": ready,
                "latency": latency_summary(latencies),
                "runs": arguments.throughput,
                **burst,
                "pid": os.getpid(),
            }
        ),
        flush=True,
    )


def warm_up(enqueue: Enqueue, tag: str, timeout: float) -> bool:
    """Tell whether the worker ran a first job within ``timeout``: then it is up."""
    deadline = time.monotonic() + timeout
    while True:
        # The worker may still be creating its tables (DBOS migrates at launch).
        try:
            enqueue(tag, 0, time.time())
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    return bool(wait_for(tag, 1, timeout))


def time_latency(enqueue: Enqueue, tag: str, jobs: int, jitter: float) -> list[float]:
    """Enqueue ``jobs`` one at a time; return each one's enqueue → start in seconds."""
    latencies: list[float] = []
    for job in range(jobs):
        # A random pause puts each enqueue at a random phase of a polling worker;
        # enqueueing right after the previous job started would always wait a full poll.
        time.sleep(random.uniform(0.0, jitter))
        enqueue(tag, job, time.time())
        records = wait_for(tag, job + 1, 10.0)
        if len(records) <= job:
            break
        _, enqueued_at, started_at = records[job]
        latencies.append(started_at - enqueued_at)
    return latencies


def time_burst(enqueue: Enqueue, tag: str, jobs: int, timeout: float) -> dict[str, Any]:
    """Enqueue ``jobs`` at once; return how many started and how fast (first enqueue → last start)."""
    first = time.time()
    for job in range(jobs):
        enqueue(tag, job, time.time())
    enqueued_in = time.time() - first
    records = wait_for(tag, jobs, timeout) if jobs else []
    last = max((record[2] for record in records), default=first)
    completed = len(records)
    return {
        "completed": completed,
        "enqueue_seconds": round(enqueued_in, 3),
        "runs_per_second": round(completed / (last - first), 1) if completed else None,
    }


if __name__ == "__main__":
    main()
