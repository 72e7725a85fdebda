"""Scale-in stops a worker task of two processes mid-run: it drains, and nothing is lost.

Autoscaling ends a task as a deploy does, with SIGTERM to the task's first process (the
``keel worker`` supervisor, keel.runtime.worker_processes). Both of its processes stop
taking work and finish their steps in flight; the runs they held resume on the other
task from their last completed step, and every step's side effect happens once.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.agents.cluster import cluster
from tests.e2e.test_runs_durability import wait_for

pytestmark = pytest.mark.e2e

USERS = ["u1", "u2", "u3"]
STEPS = 12


def test_sigterm_to_a_two_process_worker_task_mid_run_loses_no_run_and_no_step(
    tmp_path: Path,
) -> None:
    with cluster(tmp_path, users=USERS, AGENT_EXECUTOR_DEAD_AFTER="60") as keel:
        leaving = keel.start_worker(WORKER_PROCESSES="2")
        runs = [
            (user, keel.create_run(user, prompt="scale-in", steps=STEPS, step_delay=1.0)["id"])
            for user in USERS
            for _ in range(2)
        ]
        # Every run is under way on the leaving task, the only one so far.
        wait_for(
            lambda: all(keel.side_effects()[(run_id, 1)] for _, run_id in runs),
            60,
            "the runs never got going",
        )
        leaving.signal(signal.SIGTERM)
        exit_code = leaving.wait(40)
        assert exit_code == 0, leaving.log()[-3000:]
        # The task that stays (already running in production; started here after, so
        # that no run can have moved to it before the signal).
        staying = keel.start_worker(WORKER_PROCESSES="2")
        finished = keel.wait_runs(runs, timeout=120)
        assert staying.process is not None
        assert staying.process.poll() is None
        log = leaving.log()

    assert [run["status"] for run in finished] == ["succeeded"] * len(runs)
    # The leaving task held runs when it was told to go: they resumed elsewhere.
    assert any(run["attempts"] == 2 for run in finished), [run["attempts"] for run in finished]
    assert log.count('"durable worker stopped"') == 2
    effects = keel.side_effects()
    for _, run_id in runs:
        assert [effects[(run_id, step)] for step in range(1, STEPS + 1)] == [1] * STEPS, run_id
