"""Tasks survive their worker being killed (SIGKILL), on another worker, steps kept.

Each task's checkpointed steps write a start and a done line outside DBOS: a step done
before the kill must appear exactly once after the task is resumed by a new worker (a
new executor), and the task must resume within 45 s.
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.tasks.cluster import TaskCluster, task_cluster

pytestmark = pytest.mark.e2e

GENERATIONS = 4
TASKS_PER_GENERATION = 5
STEPS = 6
STEP_DELAY = 1.0


def wait_for(condition, timeout: float, message: str) -> float:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(message)
        time.sleep(0.02)
    return time.monotonic()


def inside_a_step(keel: TaskCluster, labels: list[str]) -> bool:
    """True when every task is well inside a step's sleep, with steps left after it.

    As in the agents' SIGKILL test: never kill in the milliseconds between a step's side
    effect and its checkpoint, where at-least-once rightly runs the step again.
    """
    latest: dict[str, tuple[int, str, float]] = {}
    for label, what, at in keel.side_effects():
        number = int(what.split("-")[1])
        latest[label] = max(latest.get(label, (0, "", 0.0)), (number, what, at))
    now = time.time()
    return all(
        label in latest
        and latest[label][1].endswith("-start")
        and latest[label][0] < STEPS
        and 0.05 <= now - latest[label][2] <= STEP_DELAY - 0.25
        for label in labels
    )


def done_steps(keel: TaskCluster) -> Counter[tuple[str, int]]:
    return Counter(
        (label, int(what.split("-")[1]))
        for label, what, _ in keel.side_effects()
        if what.endswith("-done")
    )


def test_tasks_resume_on_another_worker_after_sigkill_without_repeating_steps(
    tmp_path: Path,
) -> None:
    with task_cluster(tmp_path) as keel:
        victim = keel.start_worker()
        all_ids: list[str] = []
        resume_seconds: list[float] = []
        for generation in range(GENERATIONS):
            labels = [f"g{generation}t{index}" for index in range(TASKS_PER_GENERATION)]
            ids = [keel.enqueue("counted", label, STEPS, STEP_DELAY) for label in labels]
            all_ids += ids
            wait_for(lambda labels=labels: inside_a_step(keel, labels), 30, "no kill window")
            killed_at = time.monotonic()
            victim.signal(signal.SIGKILL)
            before = done_steps(keel)
            victim.wait(10)
            victim = keel.start_worker()
            for label in labels:
                steps_done = max((number for (done, number) in before if done == label), default=0)
                resumed_at = wait_for(
                    lambda label=label, steps_done=steps_done: (
                        done_steps(keel)[(label, steps_done + 1)] > 0
                    ),
                    45,
                    f"task {label} was not resumed within 45 s",
                )
                resume_seconds.append(resumed_at - killed_at)
            keel.wait(ids, timeout=60)
        results = keel.wait(all_ids, timeout=60)
        effects = done_steps(keel)

    assert len(all_ids) == GENERATIONS * TASKS_PER_GENERATION == 20
    assert {result["status"] for result in results} == {"SUCCESSFUL"}
    assert {result["return_value"] for result in results} == {sum(range(1, STEPS + 1))}
    # Two workers processed each task: the one killed and the one that finished it.
    assert {len(result["worker_ids"]) for result in results} == {2}
    for generation in range(GENERATIONS):
        for index in range(TASKS_PER_GENERATION):
            label = f"g{generation}t{index}"
            assert [effects[(label, step)] for step in range(1, STEPS + 1)] == [1] * STEPS, label
    assert max(resume_seconds) < 45
    print(f"task resume after SIGKILL: max {max(resume_seconds):.1f} s over {len(all_ids)} tasks")
