"""Tasks and agent runs share ``keel worker`` without starving each other (ADR 0008:
each kind of work has its own DBOS queues, and the executor is sized for both).

Each test fills one kind's slots with work that cannot finish until the test allows
it, then shows the other kind still runs to its end meanwhile: ordering from recorded
times, not durations.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import pytest

from tests.agents.cluster import cluster
from tests.tasks.cluster import TaskCluster

pytestmark = pytest.mark.e2e

#: The default task queue's worker_concurrency (keel's default; tests/settings.py).
DEFAULT_QUEUE_SLOTS = 10


def tasks_through(keel, tmp_path: Path) -> TaskCluster:  # type: ignore[no-untyped-def]
    """Enqueue and read tasks through the agents cluster's web process."""
    return TaskCluster(
        environment=keel.environment,
        web=keel.web,
        log_dir=tmp_path,
        side_effect_log=tmp_path / "task-side-effects.log",
    )


def epoch(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def test_an_agent_run_starts_and_finishes_while_a_task_flood_holds_every_task_slot(
    tmp_path: Path,
) -> None:
    gate = tmp_path / "gate"
    with cluster(
        tmp_path, users=["alice"], TASKS_SIDE_EFFECT_LOG=str(tmp_path / "task-side-effects.log")
    ) as keel:
        tasks = tasks_through(keel, tmp_path)
        keel.start_worker()
        flood = [tasks.enqueue("gated", f"flood-{index}", str(gate)) for index in range(30)]
        deadline = time.monotonic() + 60
        while len(flood_starts(tasks)) < DEFAULT_QUEUE_SLOTS:
            assert time.monotonic() < deadline, "the flood never filled the task slots"
            time.sleep(0.05)

        run = keel.create_run("alice", agent="demo", prompt="hello", steps=2, step_delay=0.1)
        [finished] = keel.wait_runs([("alice", run["id"])], timeout=60)
        starts_while_running = len(flood_starts(tasks))
        gate.touch()
        opened_at = time.time()
        results = tasks.wait(flood, timeout=120)
        starts = sorted(flood_starts(tasks).values())

    assert finished["status"] == "succeeded", finished
    # The flood held every slot of its queue and had 20 tasks waiting the whole time.
    assert starts_while_running == DEFAULT_QUEUE_SLOTS
    assert epoch(finished["finished_at"]) < opened_at
    # The run started and ended before the flood drained: most of it started afterwards.
    assert epoch(finished["started_at"]) < starts[DEFAULT_QUEUE_SLOTS]
    assert epoch(finished["finished_at"]) < starts[DEFAULT_QUEUE_SLOTS]
    assert {result["status"] for result in results} == {"SUCCESSFUL"}
    assert len(starts) == 30


def flood_starts(tasks: TaskCluster) -> dict[str, float]:
    return {
        label: at
        for label, what, at in tasks.side_effects()
        if label.startswith("flood-") and what.startswith("start:")
    }


def test_a_task_runs_to_its_end_while_agent_runs_hold_every_run_slot(tmp_path: Path) -> None:
    with cluster(
        tmp_path,
        users=["alice", "bob"],
        TASKS_SIDE_EFFECT_LOG=str(tmp_path / "task-side-effects.log"),
        AGENT_WORKER_CONCURRENCY="2",
    ) as keel:
        tasks = tasks_through(keel, tmp_path)
        keel.start_worker()
        # Minutes of work each: they hold the worker's two run slots, a third one waits.
        long = {"prompt": "long", "steps": 20, "step_delay": 10}
        runs = [
            ("alice", keel.create_run("alice", agent="demo", **long)["id"]),
            ("bob", keel.create_run("bob", agent="demo", **long)["id"]),
            ("alice", keel.create_run("alice", agent="demo", **long)["id"]),
        ]
        deadline = time.monotonic() + 60
        while run_statuses(keel, runs).count("running") < 2:
            assert time.monotonic() < deadline, run_statuses(keel, runs)
            time.sleep(0.1)

        task_id = tasks.enqueue("marked", "beside-runs")
        [task] = tasks.wait([task_id], timeout=60)
        statuses = run_statuses(keel, runs)
        for user, run_id in runs:
            with keel.client(user) as api:
                api.post(f"/api/runs/{run_id}/cancel/")

    assert task["status"] == "SUCCESSFUL"
    # The task ended while both run slots were still taken and a run still waited.
    assert sorted(statuses) == ["queued", "running", "running"], statuses


def run_statuses(keel, runs: list[tuple[str, str]]) -> list[str]:  # type: ignore[no-untyped-def]
    return [keel.get_run(user, run_id)["status"] for user, run_id in runs]
