"""``keel web`` plus workers on one scratch database, driving tests.tasks.durable_tasks."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.processes import KeelProcess, base_environment, keel_web, run_keel, scratch_database

FINISHED = {"SUCCESSFUL", "FAILED"}

#: Run by ``keel manage shell``: each workflow of one task queue as DBOS recorded it.
QUEUE_WORKFLOWS = """
import json
from keel.tasks.services import dbos_queue_name
from keel.tasks.system_database import client
found = client().list_workflows(queue_name=dbos_queue_name(backend="default", queue_name=%r))
print(json.dumps([[w.workflow_id, w.executor_id, w.dequeued_at, w.completed_at] for w in found]))
"""


@dataclass
class TaskCluster:
    environment: dict[str, str]
    web: KeelProcess
    log_dir: Path
    side_effect_log: Path
    workers: list[KeelProcess] = field(default_factory=list)

    def start_worker(
        self, timeout: float = 30.0, wait: bool = True, **overrides: str
    ) -> KeelProcess:
        """Start ``keel worker``; unless ``wait`` is false, wait until it has launched DBOS."""
        index = len(self.workers)
        worker = KeelProcess(
            args=["worker"],
            environment={**self.environment, **overrides},
            log_path=self.log_dir / f"worker-{index}.log",
        ).start()
        self.workers.append(worker)
        if wait:
            self.wait_started(worker, timeout)
        return worker

    def wait_started(self, worker: KeelProcess, timeout: float = 30.0) -> None:
        worker.wait_worker_started(timeout)

    def enqueue(self, task: str, *args: Any, **options: Any) -> str:
        body = {"task": task, "args": list(args), **options}
        response = httpx.post(
            f"{self.web.url}/test/tasks/",
            json=body,
            headers={"Host": "app.example.com"},
            timeout=15,
        )
        assert response.status_code == 200, response.text
        return str(response.json()["id"])

    def result(self, task_id: str) -> dict[str, Any]:
        response = httpx.get(
            f"{self.web.url}/test/tasks/{task_id}/", headers={"Host": "app.example.com"}, timeout=15
        )
        assert response.status_code in (200, 404), response.text
        return dict(response.json())

    def wait(self, task_ids: list[str], timeout: float = 60) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            results = [self.result(task_id) for task_id in task_ids]
            if all(result.get("status") in FINISHED for result in results):
                return results
            if time.monotonic() > deadline:
                waiting = [r for r in results if r.get("status") not in FINISHED]
                raise AssertionError(f"tasks not finished after {timeout} s: {waiting}")
            time.sleep(0.1)

    def side_effects(self) -> list[tuple[str, str, float]]:
        """Each side effect: label, what happened, when (unix time)."""
        if not self.side_effect_log.exists():
            return []
        found = []
        for line in self.side_effect_log.read_text().splitlines():
            parts = line.split(" ")
            if len(parts) == 3 and parts[2]:  # a line being written is skipped
                found.append((parts[0], parts[1], float(parts[2])))
        return found

    def hold(self, step: int | None) -> None:
        """Hold every counted task inside its ``step`` (None: release them)."""
        hold = Path(f"{self.side_effect_log}.hold")
        if step is None:
            hold.unlink(missing_ok=True)
            return
        # Written beside and renamed over: a step never reads half a number.
        partial = hold.with_suffix(".partial")
        partial.write_text(str(step))
        partial.replace(hold)

    def queue_workflows(self, queue_name: str) -> list[dict[str, Any]]:
        """The workflows of a task queue as DBOS recorded them: when each was dequeued
        (its queue's limits are counted on this database-clock time) and completed."""
        result = run_keel(["manage", "shell", "-c", QUEUE_WORKFLOWS % queue_name], self.environment)
        assert result.returncode == 0, result.stdout + result.stderr
        rows = json.loads(result.stdout.strip().splitlines()[-1])
        keys = ("workflow_id", "executor_id", "dequeued_at", "completed_at")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop(timeout=15)


@contextlib.contextmanager
def task_cluster(tmp_path: Path, **overrides: str) -> Iterator[TaskCluster]:
    side_effect_log = tmp_path / "task-side-effects.log"
    with scratch_database(tmp_path) as database:
        settings = dict(
            **database,
            TASKS_SIDE_EFFECT_LOG=str(side_effect_log),
            WORKER_HEARTBEAT_INTERVAL="0.5",
            WORKER_EXECUTOR_DEAD_AFTER="3",
            TASK_QUEUE_POLLING_INTERVAL="0.05",
            TASK_ENQUEUE_GRACE="2",
            WORKER_GRACEFUL_TIMEOUT="20",
            DATABASE_CONN_MAX_AGE="60",
        )
        environment = base_environment(**{**settings, **overrides})
        result = run_keel(["migrate"], environment)
        assert result.returncode == 0, result.stdout + result.stderr
        with keel_web(environment, log_dir=tmp_path) as web:
            running = TaskCluster(
                environment=environment, web=web, log_dir=tmp_path, side_effect_log=side_effect_log
            )
            try:
                yield running
            finally:
                running.stop()
