"""Runs survive workers being killed (SIGKILL).

Side effects of the counting agent's tool land in a file outside DBOS: a step that
completed before a worker died must appear exactly once after the run is resumed.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from tests.agents.cluster import Cluster, cluster

pytestmark = pytest.mark.e2e

USERS = ["ada", "bob", "cy", "di", "ed"]
GENERATIONS = 4
STEPS = 6
STEP_DELAY = 1.0


def wait_for(condition, timeout: float, message: str) -> float:  # type: ignore[no-untyped-def]
    """Poll ``condition`` until true; return when it became true (monotonic)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(message)
        time.sleep(0.02)
    return time.monotonic()


def in_a_tool_call(keel: Cluster, run_ids: list[str]) -> bool:
    """True when every run is well inside a tool call's sleep: its last side effect is
    0.05 s to STEP_DELAY - 0.25 s old (the sleep lasts STEP_DELAY), and it has steps left.

    Killing there, never just after a side effect, keeps the kill out of the few
    milliseconds between a tool's side effect and DBOS checkpointing it, when DBOS's
    at-least-once step semantics would rightly run the step again. The 0.25 s left
    covers this process being descheduled between the check and the kill on a loaded
    machine (the suite runs files in parallel); one-second tool calls leave a window of
    0.7 s that all five runs must share, wide enough for runs that drift apart under load.
    """
    latest: dict[str, tuple[int, float]] = {}
    for run_id, step, finished_at in keel.side_effect_lines():
        latest[run_id] = max(latest.get(run_id, (0, 0.0)), (step, finished_at))
    now = time.time()
    return all(
        run_id in latest
        and latest[run_id][0] < STEPS - 1
        and 0.05 <= now - latest[run_id][1] <= STEP_DELAY - 0.25
        for run_id in run_ids
    )


def test_runs_resume_on_another_worker_after_sigkill_without_repeating_steps(
    tmp_path: Path,
) -> None:
    """20 runs, each interrupted by SIGKILL mid-run, across a chain of workers.

    Each generation's runs start together on an otherwise idle worker (so they stay in
    step with each other); the worker is killed inside a tool call, a new worker starts
    and must take the runs over from their last completed step.
    """
    with cluster(tmp_path, users=USERS, AGENT_RUNS_PER_USER="5") as keel:
        victim = keel.start_worker()
        all_runs: list[tuple[str, str]] = []
        resume_seconds: list[float] = []
        for _generation in range(GENERATIONS):
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
            wait_for(lambda run_ids=run_ids: in_a_tool_call(keel, run_ids), 30, "no kill window")
            killed_at = time.monotonic()
            victim.signal(signal.SIGKILL)
            done_before = keel.side_effects()
            victim.wait(10)
            victim = keel.start_worker()
            for run_id in run_ids:
                steps_done = max(step for (rid, step) in done_before if rid == run_id)
                resumed_at = wait_for(
                    lambda run_id=run_id, steps_done=steps_done: (
                        keel.side_effects()[(run_id, steps_done + 1)] > 0
                    ),
                    45,
                    f"run {run_id} was not resumed within 45 s",
                )
                resume_seconds.append(resumed_at - killed_at)
            # The next generation starts on an idle worker, in step.
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
