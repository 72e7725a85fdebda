"""The per-user limit holds across workers: audited from recorded start and finish times.

Two worker tasks, each of one process or of two (``WORKER_PROCESSES``): every process is
an executor of its own, and the limit is DBOS's, kept in the database, so four
processes in two tasks hold it as two processes did.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import pytest

from tests.agents.cluster import cluster

pytestmark = pytest.mark.e2e

USERS = ["u1", "u2", "u3", "u4", "u5"]
RUNS_PER_USER = 10
LIMIT = 2


def most_at_once(intervals: list[tuple[datetime, datetime]]) -> int:
    """The largest number of intervals open at one instant (a finish frees before a start)."""
    edges = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    open_now = highest = 0
    for _, change in edges:
        open_now += change
        highest = max(highest, open_now)
    return highest


@pytest.mark.parametrize("processes", ["1", "2"], ids=["one-process-tasks", "two-process-tasks"])
def test_fifty_runs_from_five_users_never_exceed_the_per_user_limit(
    tmp_path: Path, processes: str
) -> None:
    # Nothing here is killed: a dead threshold far above the test's length keeps a
    # heartbeat delayed by a loaded machine from re-dispatching a run that is running.
    with cluster(
        tmp_path, users=USERS, AGENT_RUNS_PER_USER=str(LIMIT), AGENT_EXECUTOR_DEAD_AFTER="60"
    ) as keel:
        executors = [
            executor
            for _ in range(2)
            for executor in keel.start_worker(WORKER_PROCESSES=processes).wait_worker_started()
        ]
        # Every run is held inside its tool call until all fifty exist and each user has
        # LIMIT of them running: the limit is reached by construction, however slowly a
        # loaded machine creates the runs (CI once created them slower than they ran).
        keel.hold(1)
        runs = [
            (user, keel.create_run(user, prompt="audit", steps=1, step_delay=0.3)["id"])
            for _ in range(RUNS_PER_USER)
            for user in USERS
        ]
        deadline = time.monotonic() + 60
        while len(keel.started_steps()) < LIMIT * len(USERS) and time.monotonic() < deadline:
            time.sleep(0.1)
        held = len(keel.started_steps())
        keel.hold(None)
        finished = keel.wait_runs(runs, timeout=120)

    assert held == LIMIT * len(USERS), held

    assert len(set(executors)) == 2 * int(processes), executors
    assert len(finished) == 50
    assert {run["status"] for run in finished} == {"succeeded"}
    by_user: dict[str, list[tuple[datetime, datetime]]] = {user: [] for user in USERS}
    for (user, _), run in zip(runs, finished, strict=True):
        by_user[user].append(
            (datetime.fromisoformat(run["started_at"]), datetime.fromisoformat(run["finished_at"]))
        )
    peaks = {user: most_at_once(intervals) for user, intervals in by_user.items()}
    assert all(peak <= LIMIT for peak in peaks.values()), peaks
    # The limit was reached, so the audit measured something.
    assert max(peaks.values()) == LIMIT, peaks
