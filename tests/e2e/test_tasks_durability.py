"""Tasks survive their worker being killed (SIGKILL), on another worker, steps kept.

One database, twenty kills: each time a sync and an async task have completed a step
and are inside the next one on the only worker, that worker is SIGKILLed. A new worker
(a new executor), started once the victim has taken both tasks so that only recovery
can bring them to it, must resume both within 45 s; it is the next victim once they
have finished. Each step writes a start and a done line outside DBOS: a step done
before a kill must appear exactly once in the end.
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.tasks.cluster import TaskCluster, task_cluster

pytestmark = pytest.mark.e2e

KILLS = 20
STEPS = 4
STEP_DELAY = 0.8
#: What each task returns: the sum of its step numbers.
TOTAL = sum(range(1, STEPS + 1))


def wait_for(condition, timeout: float, message: str) -> float:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(message)
        time.sleep(0.02)
    return time.monotonic()


def begun(keel: TaskCluster, labels: list[str]) -> bool:
    """True once every task has started its first step (a worker has taken it)."""
    return set(labels) <= {
        label for label, what, _ in keel.side_effects() if what == "step-1-start"
    }


def inside_a_step(keel: TaskCluster, labels: list[str]) -> bool:
    """True when every task is well inside a step's sleep, with a completed step before
    it and steps left after it.

    As in the agents' SIGKILL test: never kill in the milliseconds between a step's side
    effect and its checkpoint, where at-least-once rightly runs the step again.
    """
    latest: dict[str, tuple[int, str, float]] = {}
    for label, what, at in keel.side_effects():
        if label in labels:
            number = int(what.split("-")[1])
            latest[label] = max(latest.get(label, (0, "", 0.0)), (number, what, at))
    now = time.time()
    return all(
        label in latest
        and latest[label][1].endswith("-start")
        and 2 <= latest[label][0] < STEPS
        and 0.05 <= now - latest[label][2] <= STEP_DELAY - 0.25
        for label in labels
    )


def done_steps(keel: TaskCluster) -> Counter[tuple[str, int]]:
    return Counter(
        (label, int(what.split("-")[1]))
        for label, what, _ in keel.side_effects()
        if what.endswith("-done")
    )


def test_tasks_resume_on_a_new_worker_after_each_of_20_sigkills_without_repeating_steps(
    tmp_path: Path,
) -> None:
    began = time.monotonic()
    with task_cluster(tmp_path) as keel:
        victim = keel.start_worker()
        labels_by_kill: list[list[str]] = []
        all_ids: list[str] = []
        resume_seconds: list[float] = []
        steps_done_at_kill: list[int] = []
        for kill in range(KILLS):
            labels = [f"k{kill}sync", f"k{kill}async"]
            labels_by_kill.append(labels)
            ids = [
                keel.enqueue("counted", labels[0], STEPS, STEP_DELAY),
                keel.enqueue("async_counted", labels[1], STEPS, STEP_DELAY),
            ]
            all_ids += ids
            wait_for(lambda labels=labels: begun(keel, labels), 30, "the tasks never started")
            # Booting while the victim works keeps the test short; the tasks are the
            # victim's already, so the newcomer gets them only by recovering them.
            successor = keel.start_worker(wait=False)
            wait_for(lambda labels=labels: inside_a_step(keel, labels), 30, "no kill window")
            killed_at = time.monotonic()
            victim.signal(signal.SIGKILL)
            before = done_steps(keel)
            assert victim.wait(10) == -signal.SIGKILL
            keel.wait_started(successor)
            victim = successor
            for label in labels:
                steps_done = max((number for (done, number) in before if done == label), default=0)
                steps_done_at_kill.append(steps_done)
                resumed_at = wait_for(
                    lambda label=label, steps_done=steps_done: (
                        done_steps(keel)[(label, steps_done + 1)] > 0
                    ),
                    45,
                    f"task {label} was not resumed within 45 s of kill {kill + 1}",
                )
                resume_seconds.append(resumed_at - killed_at)
            # Finished before the next kill: each task meets exactly one SIGKILL.
            keel.wait(ids, timeout=60)
        results = keel.wait(all_ids, timeout=60)
        effects = done_steps(keel)
    elapsed = time.monotonic() - began

    assert len(labels_by_kill) == KILLS
    assert len(all_ids) == 2 * KILLS
    assert {result["status"] for result in results} == {"SUCCESSFUL"}, results
    assert {result["return_value"] for result in results} == {TOTAL}
    # Two executors processed each task: the one killed and the new one that finished it.
    for result in results:
        assert len(set(result["worker_ids"])) == len(result["worker_ids"]) == 2, result
    for labels in labels_by_kill:
        for label in labels:
            assert [effects[(label, step)] for step in range(1, STEPS + 1)] == [1] * STEPS, label
    # Every kill came after a completed step, so each kill proved one was not run again.
    assert min(steps_done_at_kill) >= 1
    assert max(resume_seconds) < 45
    print(
        f"{KILLS} SIGKILLs, {len(all_ids)} tasks: resumed after max {max(resume_seconds):.1f} s, "
        f"median {sorted(resume_seconds)[len(resume_seconds) // 2]:.1f} s; "
        f"test took {elapsed:.0f} s"
    )
