"""``keel worker`` supervising several processes stops cleanly at any moment of its start.

ECS may stop a task while it is still starting (a deploy replaced it, scale-in chose it).
The supervisor passes SIGTERM on to its children at once; a child still importing Django
has no handler yet, and used to die by the signal's default action (status -15), making
the supervisor exit 1. Children now start with the stop signals blocked and take them
once their handler is in place (keel.runtime.worker_processes.STOP_SIGNALS).
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from keel.constants import WORKER_GRACEFUL_TIMEOUT
from tests.processes import KeelProcess, base_environment, run_keel

pytestmark = pytest.mark.e2e


def test_a_sigterm_while_the_processes_start_drains_each_and_exits_0(tmp_path: Path) -> None:
    environment = base_environment(
        DATABASE_URL=f"sqlite:///{tmp_path / 'keel.sqlite3'}", WORKER_PROCESSES="2"
    )
    migrated = run_keel(["migrate"], environment)
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    worker = KeelProcess(
        args=["worker"], environment=environment, log_path=tmp_path / "worker.log"
    ).start()
    try:
        worker.wait_logged('"worker processes started"', interval=0.02)
        # At once: the children are still importing (a child takes over a second to start).
        worker.signal(signal.SIGTERM)
        exit_code = worker.wait(timeout=WORKER_GRACEFUL_TIMEOUT + 10)
    finally:
        worker.stop()
    log = worker.log()
    assert exit_code == 0, log
    messages = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    [stopped] = [m for m in messages if m["message"] == "worker processes stopped"]
    assert stopped["statuses"] == [0, 0], log
    # Each child took the signal through its handler and drained.
    assert [m["message"] for m in messages].count("received SIGTERM, draining") == 2, log
