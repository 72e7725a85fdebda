"""New work wakes an idle ``keel worker`` at once: its queue polls are only a safety net.

Each worker here polls its queues once an hour, far longer than any wait below, so a run
or task that starts was dispatched by a wake: NOTIFY from the system database's triggers
on PostgreSQL, a write to its WAL file on SQLite (keel.tasks.queue_wake).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.agents.cluster import cluster
from tests.tasks.cluster import task_cluster

pytestmark = pytest.mark.e2e

AN_HOUR = "3600"


def test_a_new_run_wakes_an_idle_worker_that_polls_once_an_hour(tmp_path: Path) -> None:
    with cluster(
        tmp_path,
        users=["ada"],
        AGENT_QUEUE_POLLING_INTERVAL=AN_HOUR,
        TASK_QUEUE_POLLING_INTERVAL=AN_HOUR,
    ) as keel:
        keel.start_worker()
        first = keel.create_run("ada", prompt="wake", steps=1, step_delay=0)["id"]
        (run,) = keel.wait_runs([("ada", first)], timeout=60)
        # Idle again; the next run needs a wake of its own.
        second = keel.create_run("ada", prompt="again", steps=1, step_delay=0)["id"]
        (again,) = keel.wait_runs([("ada", second)], timeout=60)

    assert (run["status"], again["status"]) == ("succeeded", "succeeded")


def test_a_run_waiting_for_its_owners_limit_starts_when_a_slot_frees(tmp_path: Path) -> None:
    # The second run is queued behind the first (one run per user at once): nothing is
    # enqueued when the first ends, so only the wake on its finish can start the second.
    with cluster(
        tmp_path,
        users=["ada"],
        AGENT_RUNS_PER_USER="1",
        AGENT_QUEUE_POLLING_INTERVAL=AN_HOUR,
        TASK_QUEUE_POLLING_INTERVAL=AN_HOUR,
    ) as keel:
        keel.start_worker()
        ids = [
            keel.create_run("ada", prompt=name, steps=2, step_delay=0.3)["id"]
            for name in ("first", "second")
        ]
        runs = keel.wait_runs([("ada", run_id) for run_id in ids], timeout=60)

    assert [run["status"] for run in runs] == ["succeeded", "succeeded"]


def test_a_new_task_wakes_an_idle_worker_that_polls_once_an_hour(tmp_path: Path) -> None:
    with task_cluster(
        tmp_path, TASK_QUEUE_POLLING_INTERVAL=AN_HOUR, AGENT_QUEUE_POLLING_INTERVAL=AN_HOUR
    ) as keel:
        keel.start_worker()
        (result,) = keel.wait([keel.enqueue("marked", "woken")], timeout=60)

    assert result["status"] == "SUCCESSFUL"
