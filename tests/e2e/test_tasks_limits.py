"""Each task queue's limits hold in real ``keel worker`` processes: per-worker
concurrency, the rate limit, and priority order (queues of tests/settings.py).

Audits read recorded times, never how fast anything ran: the side effects the tasks
write (tests.tasks.durable_tasks) and the dequeue times DBOS records.
"""

from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path

import pytest

from tests.tasks.cluster import TaskCluster, task_cluster

pytestmark = pytest.mark.e2e


def most_at_once(intervals: list[tuple[float, float]]) -> int:
    """The most intervals open at one instant (an end at t closes before a start at t)."""
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    running = most = 0
    for _, change in events:
        running += change
        most = max(most, running)
    return most


def wait_for_starts(keel: TaskCluster, labels: set[str], count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while len(started(keel, labels)) < count:
        assert time.monotonic() < deadline, f"fewer than {count} of {len(labels)} tasks started"
        time.sleep(0.05)


def started(keel: TaskCluster, labels: set[str]) -> dict[str, tuple[float, str]]:
    """Each started task's label -> (when, the worker process that ran it)."""
    return {
        label: (at, what.partition(":")[2])
        for label, what, at in keel.side_effects()
        if label in labels and what.startswith("start:")
    }


def test_worker_concurrency_holds_on_each_of_two_workers(tmp_path: Path) -> None:
    """tests-per-worker allows two at once per worker and sets no global limit."""
    gate = tmp_path / "gate"
    with task_cluster(tmp_path) as keel:
        keel.start_worker()
        keel.start_worker()
        labels = [f"slot-{index}" for index in range(7)]
        ids = [
            keel.enqueue("gated", label, str(gate), queue_name="tests-per-worker")
            for label in labels
        ]
        # Gated tasks never finish, so the slots stay taken: exactly 2 + 2 can start.
        wait_for_starts(keel, set(labels), 4)
        before_gate = started(keel, set(labels))
        gate.touch()
        results = keel.wait(ids, timeout=60)
        effects = keel.side_effects()

    assert {result["status"] for result in results} == {"SUCCESSFUL"}
    # Both workers filled their two slots, and none took a fifth task while they were held.
    assert sorted(
        [pid for _, pid in before_gate.values()].count(pid)
        for pid in {pid for _, pid in before_gate.values()}
    ) == [2, 2], before_gate
    per_worker: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for label, what, at in effects:
        pid = what.partition(":")[2]
        if label in labels:
            per_worker[pid][label].append(at)
    assert len(per_worker) == 2
    for pid, times in per_worker.items():
        intervals = [(start, end) for start, end in times.values()]
        assert most_at_once(intervals) == 2, (pid, sorted(intervals))
    assert sum(len(times) for times in per_worker.values()) == len(labels)


def test_a_rate_limited_queue_never_starts_more_than_its_limit_in_any_period(
    tmp_path: Path,
) -> None:
    """tests-rate: at most 3 starts in any 1 s, counted across two workers.

    The limiter counts the start DBOS records when a worker takes a task off the queue
    (its dequeue time, on the database's clock), so that is the time audited. A task's own
    first line comes a scheduling delay later, which varies from task to task, so its
    timestamps cannot show the window exactly; each must still follow its dequeue.
    """
    limit, period_ms, count = 3, 1000, 12
    with task_cluster(tmp_path) as keel:
        keel.start_worker()
        keel.start_worker()
        ids = [
            keel.enqueue("marked", f"rate-{index}", queue_name="tests-rate")
            for index in range(count)
        ]
        results = keel.wait(ids, timeout=120)
        workflows = {row["workflow_id"]: row for row in keel.queue_workflows("tests-rate")}
        ran = {label: at for label, what, at in keel.side_effects() if what == "ran"}

    assert {result["status"] for result in results} == {"SUCCESSFUL"}
    mine = [workflows[f"{task_id}:0"] for task_id in ids]
    assert None not in [row["dequeued_at"] for row in mine]
    dequeued = sorted(row["dequeued_at"] for row in mine)
    # Any `limit + 1` consecutive starts span at least one period: no window holds more.
    for earlier, later in zip(dequeued, dequeued[limit:], strict=False):
        assert later - earlier >= period_ms, dequeued
    # Both workers took part, so the limit is shared, not per process.
    assert len({row["executor_id"] for row in mine}) == 2
    for index, task_id in enumerate(ids):
        assert ran[f"rate-{index}"] * 1000 >= workflows[f"{task_id}:0"]["dequeued_at"] - 1


def test_higher_priority_tasks_start_first_on_a_worker_started_after_enqueueing(
    tmp_path: Path,
) -> None:
    """tests-serial runs one task at a time per worker: the start order is the priority
    order, highest first, and enqueue order among equals."""
    priorities = [0, 10, -5, 100, 50, -100, 10, 0, 99]
    with task_cluster(tmp_path) as keel:
        ids = [
            keel.enqueue("marked", f"p{index}", queue_name="tests-serial", priority=priority)
            for index, priority in enumerate(priorities)
        ]
        assert {keel.result(task_id)["status"] for task_id in ids} == {"READY"}
        keel.start_worker()
        results = keel.wait(ids, timeout=60)
        ran = [label for label, what, _ in keel.side_effects() if what == "ran"]

    assert {result["status"] for result in results} == {"SUCCESSFUL"}
    expected = sorted(range(len(priorities)), key=lambda index: (-priorities[index], index))
    assert ran == [f"p{index}" for index in expected]
