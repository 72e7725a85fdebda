"""The backlog gauge the worker service scales on counts what it says, read from the database.

QueuedWork is the runs and tasks waiting to start (keel.tasks.worker): here runs queued
behind their owner's limit, compared with the run table and with DBOS's own queue.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from keel import constants
from tests.agents.cluster import cluster
from tests.processes import run_keel

pytestmark = pytest.mark.e2e

COUNT_IN_DATABASE = """
import json
from keel.agents.models import AgentRun
from keel.agents.services import RUN_QUEUE
from keel.tasks.services import task_gauges
from keel.tasks.system_database import client
print(json.dumps({
    "queued_runs": AgentRun.objects.filter(status="queued").count(),
    "running_runs": AgentRun.objects.filter(status="running").count(),
    "enqueued_workflows": len(client().list_queued_workflows(queue_name=RUN_QUEUE, status="ENQUEUED")),
    "queued_tasks": task_gauges()["QueuedTasks"],
}))
"""


def test_queued_work_is_the_runs_waiting_in_the_database(tmp_path: Path) -> None:
    with cluster(tmp_path, users=["ada"], AGENT_RUNS_PER_USER="1", METRICS_INTERVAL="0.5") as keel:
        worker = keel.start_worker()
        ids = [
            keel.create_run("ada", prompt=f"backlog-{index}", steps=20, step_delay=2.0)["id"]
            for index in range(4)
        ]
        keel.wait_runs([("ada", ids[0])], statuses={"running"}, timeout=60)
        result = run_keel(["manage", "shell", "-c", COUNT_IN_DATABASE], keel.environment)
        assert result.returncode == 0, result.stdout + result.stderr
        database = json.loads(result.stdout.strip().splitlines()[-1])
        published_after = time.time() * 1000
        deadline = time.monotonic() + 30
        while True:
            gauges = [
                line
                for line in (
                    json.loads(text) for text in worker.log().splitlines() if '"_aws"' in text
                )
                if constants.QUEUED_WORK in line and line["_aws"]["Timestamp"] > published_after
            ]
            if gauges or time.monotonic() > deadline:
                break
            time.sleep(0.2)

    assert gauges, "no gauge published after the database was read"
    gauge = gauges[0]
    # One run of ada's at a time: the other three wait, in keel's table and DBOS's queue.
    assert database == {
        "queued_runs": 3,
        "running_runs": 1,
        "enqueued_workflows": 3,
        "queued_tasks": 0,
    }
    assert gauge[constants.QUEUED_RUNS] == database["queued_runs"]
    assert gauge[constants.RUNNING_RUNS] == database["running_runs"]
    assert gauge[constants.QUEUED_TASKS] == database["queued_tasks"]
    assert gauge[constants.QUEUED_WORK] == database["queued_runs"] + database["queued_tasks"]
