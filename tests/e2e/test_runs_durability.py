"""Runs survive workers being killed (SIGKILL).

Side effects of the counting agent's tool land in a file outside DBOS: a step that
completed before a worker died must appear exactly once after the run is resumed.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from tests.agents.cluster import cluster
from tests.processes import wait_for

pytestmark = pytest.mark.e2e

USERS = ["ada", "bob", "cy", "di", "ed"]
GENERATIONS = 4
STEPS = 6
#: The step each generation is killed in: the steps before it completed and checkpointed.
HELD_STEP = 3
STEP_DELAY = 0.2


def test_runs_resume_on_another_worker_after_sigkill_without_repeating_steps(
    tmp_path: Path,
) -> None:
    """20 runs, each interrupted by SIGKILL mid-run, across a chain of workers.

    Each generation's runs are held inside their third tool call (tests/agents/
    counting_agent.py) and the worker is killed there: mid-call by construction, on a
    machine however loaded, where a timed window could be missed or straddle the moment a
    tool's side effect lands before its checkpoint. A new worker must take the runs over
    from their last completed step.
    """
    with cluster(tmp_path, users=USERS, AGENT_RUNS_PER_USER="5") as keel:
        victim = keel.start_worker()
        all_runs: list[tuple[str, str]] = []
        resume_seconds: list[float] = []
        for _generation in range(GENERATIONS):
            keel.hold(HELD_STEP)
            runs = [
                (
                    user,
                    keel.create_run(user, prompt="durable", steps=STEPS, step_delay=STEP_DELAY)[
                        "id"
                    ],
                )
                for user in USERS
            ]
            run_ids = [run_id for _, run_id in runs]
            all_runs += runs
            wait_for(
                lambda run_ids=run_ids: (
                    {(run_id, HELD_STEP) for run_id in run_ids} <= keel.started_steps()
                ),
                60,
                "runs did not reach the held tool call",
                interval=0.02,
            )
            killed_at = time.monotonic()
            victim.signal(signal.SIGKILL)
            done_before = keel.side_effects()
            victim.wait(10)
            keel.hold(None)
            for run_id in run_ids:
                # The steps before the held one completed, and only those.
                assert sorted(step for (rid, step) in done_before if rid == run_id) == list(
                    range(1, HELD_STEP)
                ), run_id
            victim = keel.start_worker()
            for run_id in run_ids:
                resumed_at = wait_for(
                    lambda run_id=run_id: keel.side_effects()[(run_id, HELD_STEP)] > 0,
                    45,
                    f"run {run_id} was not resumed within 45 s",
                    interval=0.02,
                )
                resume_seconds.append(resumed_at - killed_at)
            keel.wait_runs(runs, timeout=60)
        finished = keel.wait_runs(all_runs, timeout=60)
        effects = keel.side_effects()

    assert len(all_runs) == GENERATIONS * len(USERS) == 20
    assert {run["status"] for run in finished} == {"succeeded"}
    assert [run["attempts"] for run in finished] == [2] * 20
    for _, run_id in all_runs:
        # Every step ran to its end exactly once, even those completed before the kill.
        assert [effects[(run_id, step)] for step in range(1, STEPS + 1)] == [1] * STEPS, run_id
    assert max(resume_seconds) < 45
    print(f"resume after SIGKILL: max {max(resume_seconds):.1f} s over {len(all_runs)} runs")
