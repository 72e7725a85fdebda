"""A worker replaced on deploy (SIGTERM) drains, and another worker finishes its run.

Not serial: SIGTERM marks the leaving worker's heartbeat stopped, so its runs are
recovered at the staying worker's next beat without waiting for the dead threshold. The
threshold is set far above the test's length, so a heartbeat delayed by a loaded machine
cannot get the staying worker declared dead.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from tests.agents.cluster import cluster
from tests.e2e.test_runs_durability import wait_for

pytestmark = pytest.mark.e2e


def test_sigterm_drains_the_worker_and_another_worker_finishes_its_run(tmp_path: Path) -> None:
    with cluster(tmp_path, users=["ada"], AGENT_EXECUTOR_DEAD_AFTER="60") as keel:
        leaving = keel.start_worker()
        run_id = keel.create_run("ada", prompt="deploy", steps=20, step_delay=1.0)["id"]
        wait_for(lambda: keel.side_effects()[(run_id, 1)] > 0, 20, "first step never ran")
        staying = keel.start_worker()
        # SIGTERM lands inside a tool call: just after one step's side effect appeared.
        done = max(step for (rid, step) in keel.side_effects() if rid == run_id)
        wait_for(lambda: keel.side_effects()[(run_id, done + 1)] > 0, 20, "run stalled")
        in_flight_step = done + 2
        wait_for(lambda: (run_id, in_flight_step) in keel.started_steps(), 20, "run stalled")
        time.sleep(0.2)
        signalled_at = time.monotonic()
        leaving.signal(signal.SIGTERM)
        # Work queued after SIGTERM must go to the staying worker, never the leaving one.
        later_id = keel.create_run("ada", prompt="after", steps=1, step_delay=0)["id"]
        exit_code = leaving.wait(20)
        exited_after = time.monotonic() - signalled_at
        assert exit_code == 0, leaving.log()[-3000:]
        # The tool call in flight (one second) finished and was checkpointed first.
        assert keel.side_effects()[(run_id, in_flight_step)] == 1
        assert in_flight_step < 20, "SIGTERM came too late to interrupt the run"
        run, later = keel.wait_runs([("ada", run_id), ("ada", later_id)], timeout=30)
        assert staying.process is not None
        assert staying.process.poll() is None

    assert exited_after < 20
    assert (run["status"], run["attempts"]) == ("succeeded", 2)
    assert (later["status"], later["attempts"]) == ("succeeded", 1)
    effects = keel.side_effects()
    assert [effects[(run_id, step)] for step in range(1, 9)] == [1] * 8
    print(f"worker exited {exited_after:.2f} s after SIGTERM")
