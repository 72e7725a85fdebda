"""Django tasks through real ``keel web`` and ``keel worker`` processes.

Each task leaves side effects in a file outside DBOS (tests.tasks.durable_tasks), so a
test sees how often a step or an attempt really ran, and when.
"""

from __future__ import annotations

import itertools
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.processes import wait_for
from tests.tasks.cluster import task_cluster

pytestmark = pytest.mark.e2e


def test_tasks_of_both_kinds_run_and_report_their_results(tmp_path: Path) -> None:
    with task_cluster(tmp_path) as keel:
        keel.start_worker()
        sync_id = keel.enqueue("counted", "sync", 3, 0.05)
        async_id = keel.enqueue("async_counted", "async", 2, 0.05)
        context_id = keel.enqueue("with_context", "context")
        results = {result["id"]: result for result in keel.wait([sync_id, async_id, context_id])}
    assert results[sync_id]["return_value"] == 6
    assert results[async_id]["return_value"] == 3
    assert results[context_id]["return_value"] == {"attempt": 1, "id": context_id}
    for result in results.values():
        assert result["status"] == "SUCCESSFUL"
        assert result["attempts"] == 1
        assert len(result["worker_ids"]) == 1


def test_a_failing_task_is_retried_with_backoff_then_failed_then_retried_from_the_list(
    tmp_path: Path,
) -> None:
    with task_cluster(tmp_path) as keel:
        keel.start_worker()
        # Three attempts (retries=2), all failing: the task ends FAILED, errors kept.
        failed_id = keel.enqueue("flaky", "always", 99)
        [failed] = keel.wait([failed_id])
        assert failed["status"] == "FAILED"
        assert failed["errors"] == ["builtins.ConnectionError"] * 3
        assert "the webhook endpoint refused the connection" in failed["tracebacks"][-1]
        attempts = [
            at for label, what, at in keel.side_effects() if (label, what) == ("always", "attempt")
        ]
        assert len(attempts) == 3
        gaps = [later - earlier for earlier, later in itertools.pairwise(attempts)]
        # retry_backoff 0.5 s, doubling: at least 0.5 s, then at least 1 s between attempts.
        assert gaps[0] >= 0.5, gaps
        assert gaps[1] >= 1.0, gaps

        # The same result id, sent back from the failed list, runs again.
        listed = keel_manage(keel, "failed_tasks")
        assert failed_id in listed
        assert failed_id in keel_manage(keel, "failed_tasks", "--retry", failed_id)
        wait_for(
            lambda: (
                Counter(w for label, w, _ in keel.side_effects() if label == "always")["attempt"]
                >= 6
            ),
            30,
            "the retried task did not run again",
        )

        # A task that fails twice and then succeeds ends SUCCESSFUL on its third attempt.
        recovered_id = keel.enqueue("flaky", "twice", 2)
        [recovered] = keel.wait([recovered_id])
        assert recovered["status"] == "SUCCESSFUL"
        assert recovered["return_value"] == "twice delivered"
        assert recovered["errors"] == ["builtins.ConnectionError"] * 2


def test_context_tasks_retried_on_one_worker_see_each_attempt_and_django_s_signals_are_sent(
    tmp_path: Path,
) -> None:
    with task_cluster(tmp_path) as keel:
        keel.start_worker()
        ids = {
            "once": keel.enqueue("retried_with_context", "once", 1),
            "always": keel.enqueue("retried_with_context", "always", 9),
            "async-once": keel.enqueue("async_retried_with_context", "async-once", 1),
        }
        results = dict(zip(ids, keel.wait(list(ids.values())), strict=True))

        # task_finished is sent after the final state is committed, as Django's backends
        # send it, so a poll can see SUCCESSFUL before the receiver has written its line.
        def finished() -> list[tuple[str, str, float]]:
            return [effect for effect in keel.side_effects() if effect[1].startswith("finished:")]

        wait_for(
            lambda: len(finished()) >= 3, 30, lambda: f"task_finished seen only for {finished()}"
        )
        effects = keel.side_effects()
    # One worker made both attempts of each: attempts count attempts, not workers.
    for label in ("once", "async-once"):
        assert results[label]["status"] == "SUCCESSFUL", results[label]
        assert results[label]["return_value"] == {"attempt": 2, "attempts": 2}
    for result in results.values():
        assert (result["attempts"], len(result["worker_ids"])) == (2, 1), result
    assert results["always"]["status"] == "FAILED"
    # Django's signals, sender the backend class: task_enqueued by enqueue() in keel web,
    # task_started as each attempt begins, task_finished once, in the final state.
    for label, final in (
        ("once", "SUCCESSFUL"),
        ("always", "FAILED"),
        ("async-once", "SUCCESSFUL"),
    ):
        assert [what for name, what, _ in effects if name == label] == [
            "enqueued:DurableBackend:READY:0",
            "started:DurableBackend:RUNNING:1",
            "attempt-1",
            "started:DurableBackend:RUNNING:2",
            "attempt-2",
            f"finished:DurableBackend:{final}:2",
        ], label


def keel_manage(keel, *arguments: str) -> str:  # type: ignore[no-untyped-def]
    from tests.processes import run_keel

    result = run_keel(["manage", *arguments], keel.environment)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_deferred_tasks_wait_for_run_after(tmp_path: Path) -> None:
    with task_cluster(tmp_path) as keel:
        keel.start_worker()
        enqueued = time.time()
        deferred_id = keel.enqueue("marked", "later", run_after_in=3)
        now_id = keel.enqueue("marked", "now")
        keel.wait([deferred_id, now_id], timeout=30)
        ran = {label: at for label, what, at in keel.side_effects() if what == "ran"}
    assert ran["later"] >= enqueued + 3
    assert ran["now"] < ran["later"]


def test_a_task_older_than_its_max_age_fails_without_running(tmp_path: Path) -> None:
    with task_cluster(tmp_path) as keel:
        keel.start_worker()
        stale_id = keel.enqueue("perishable", "stale", run_after_in=2)
        fresh_id = keel.enqueue("perishable", "fresh")
        stale, fresh = keel.wait([stale_id, fresh_id], timeout=30)
        ran = [label for label, what, _ in keel.side_effects() if what == "ran"]
    assert (fresh["status"], stale["status"]) == ("SUCCESSFUL", "FAILED")
    assert stale["errors"] == ["keel.tasks.execution.TaskExpired"]
    assert "past its max_age: not attempted" in stale["tracebacks"][0]
    assert ran == ["fresh"]


def test_a_task_enqueued_in_a_rolled_back_transaction_never_runs(tmp_path: Path) -> None:
    with task_cluster(tmp_path) as keel:
        keel.start_worker()
        response_id = keel.enqueue("marked", "rolled-back", rollback=True)
        committed_id = keel.enqueue("marked", "committed")
        keel.wait([committed_id])
        # Longer than the sweep's grace (2 s here) plus a heartbeat: nothing ran, no record.
        time.sleep(3.5)
        labels = {label for label, _, _ in keel.side_effects()}
        assert keel.result(response_id) == {"error": "not_found"}
    assert "committed" in labels
    assert "rolled-back" not in labels


@pytest.mark.parametrize("processes", ["1", "2"], ids=["one-process-tasks", "two-process-tasks"])
def test_per_queue_concurrency_holds_across_two_workers(tmp_path: Path, processes: str) -> None:
    # Two worker tasks of one or two processes each (WORKER_PROCESSES): every process
    # dequeues on its own, and the queue's limit is DBOS's, kept in the database.
    # tests-audit allows two at once globally and two per worker, so each worker alone
    # could take two: only the global limit keeps the pair of them at two.
    gate = tmp_path / "gate"
    labels = [f"audit-{index}" for index in range(10)]
    with task_cluster(tmp_path) as keel:
        keel.start_worker(WORKER_PROCESSES=processes)
        keel.start_worker(WORKER_PROCESSES=processes)
        ids = [
            keel.enqueue("gated", label, str(gate), queue_name="tests-audit") for label in labels
        ]
        # Gated tasks hold their slots until the gate opens, so the limit is reached by
        # construction however slowly the machine enqueues; the eight others stay queued
        # while every worker process is woken by them and polls.
        wait_for(
            lambda: len(starts(keel.side_effects())) >= 2,
            60,
            "the queue's two slots were never taken",
            interval=0.05,
        )
        time.sleep(1.0)  # a window in which a third start would show, were it allowed
        before_gate = starts(keel.side_effects())
        gate.touch()
        results = keel.wait(ids, timeout=60)
        effects = keel.side_effects()
    assert len(before_gate) == 2, before_gate
    assert {result["status"] for result in results} == {"SUCCESSFUL"}
    events = sorted(
        (at, +1 if what.startswith("start:") else -1)
        for label, what, at in effects
        if label in labels
    )
    running = most = 0
    for _, change in events:
        running += change
        most = max(most, running)
    # The queue allows two at once, globally: both workers together never ran three.
    assert most == 2, events
    assert len([change for _, change in events if change == 1]) == 10


def starts(effects: list[tuple[str, str, float]]) -> list[str]:
    """The labels of the gated tasks that have started."""
    return [label for label, what, _ in effects if what.startswith("start:")]


def test_the_worker_publishes_its_gauges_as_valid_emf(tmp_path: Path) -> None:
    import json

    from keel import constants
    from tests.test_metrics import assert_valid_emf

    with task_cluster(
        tmp_path, METRICS_INTERVAL="0.5", KEEL_METRICS_SERVICE="keel-test-worker"
    ) as keel:
        worker = keel.start_worker()
        # Deferred: READY meanwhile, but not waiting to start, so not queued work.
        deferred = keel.enqueue("marked", "gauge", run_after_in=60)
        deadline = time.monotonic() + 30
        while True:
            lines = [json.loads(line) for line in worker.log().splitlines() if '"_aws"' in line]
            gauges = [line for line in lines if constants.QUEUED_TASKS in line]
            if len(gauges) >= 2 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert keel.result(deferred)["status"] == "READY"
    assert gauges, "the worker published no gauges"
    for line in lines:
        assert_valid_emf(line)
    assert (gauges[-1][constants.QUEUED_TASKS], gauges[-1][constants.QUEUED_WORK]) == (0, 0)
    assert gauges[-1][constants.METRIC_SERVICE_DIMENSION] == "keel-test-worker"
