"""keel's task backend keeps the contract Django's ``django.tasks`` documents for backends.

https://docs.djangoproject.com/en/6.1/ref/tasks/ and /topics/tasks/: what enqueueing
returns, how results are retrieved, what a backend must refuse (arguments JSON cannot
carry, priorities out of range, unknown queues, naive ``run_after``), and the capability
flags. Handing a task to the workers is replaced by a recorder here; the e2e tests run
the real thing.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.db import transaction
from django.utils import timezone

from keel.tasks import services
from keel.tasks.api import (
    InvalidTask,
    TaskResultDoesNotExist,
    TaskResultStatus,
    default_task_backend,
    task_backends,
)
from keel.tasks.backend import DurableBackend, round_tripped
from keel.tasks.models import TaskRecord, TaskStatus
from tests.tasks import durable_tasks

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def dispatched(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The task ids handed to the workers, in order (instead of enqueueing in DBOS)."""
    handed: list[str] = []
    monkeypatch.setattr(services, "task_dispatch", lambda *, task_id: handed.append(task_id))
    return handed


def test_the_backend_says_what_it_supports() -> None:
    backend = task_backends["default"]
    assert isinstance(backend, DurableBackend)
    assert backend.supports_defer
    assert backend.supports_async_task
    assert backend.supports_get_result
    assert backend.supports_priority


def test_enqueue_returns_a_ready_result_that_get_result_finds(dispatched: list[str]) -> None:
    result = durable_tasks.marked.enqueue("hello")
    assert result.status == TaskResultStatus.READY
    assert result.args == ["hello"]
    assert result.backend == "default"
    assert dispatched == [result.id]
    found = durable_tasks.marked.get_result(result.id)
    assert (found.id, found.status, found.args) == (result.id, TaskResultStatus.READY, ["hello"])
    assert found.task.func is durable_tasks.marked.func


def test_aenqueue_and_aget_result(dispatched: list[str]) -> None:
    async def enqueue_and_get() -> tuple[str, str]:
        result = await durable_tasks.async_counted.aenqueue("a", 1, 0.0)
        found = await durable_tasks.async_counted.aget_result(result.id)
        return result.id, found.id

    enqueued, found = async_to_sync(enqueue_and_get)()
    assert enqueued == found
    assert dispatched == [enqueued]


def test_an_unknown_result_id_is_task_result_does_not_exist() -> None:
    with pytest.raises(TaskResultDoesNotExist):
        default_task_backend.get_result("no-such-id")


def test_get_result_through_another_task_is_a_mismatch(dispatched: list[str]) -> None:
    from keel.tasks.api import Task

    result = durable_tasks.marked.enqueue("x")
    mismatch = Task.get_result.__globals__["TaskResultMismatch"]
    with pytest.raises(mismatch):
        durable_tasks.counted.get_result(result.id)


def test_results_report_the_records_state(dispatched: list[str]) -> None:
    result = durable_tasks.marked.enqueue("x")
    now = timezone.now()
    TaskRecord.objects.filter(pk=result.id).update(
        status=TaskStatus.SUCCESSFUL,
        started_at=now,
        finished_at=now,
        return_value={"ok": True},
        worker_ids=["executor-1"],
    )
    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == {"ok": True}
    assert result.attempts == 1
    assert result.is_finished


def test_a_failed_result_keeps_each_error(dispatched: list[str]) -> None:
    result = durable_tasks.flaky.enqueue("x", 9)
    services.task_attempt_fail(
        task_id=result.id,
        error={"exception_class_path": "builtins.ConnectionError", "traceback": "Traceback..."},
        final=True,
    )
    result.refresh()
    assert result.status == TaskResultStatus.FAILED
    assert [error.exception_class for error in result.errors] == [ConnectionError]
    with pytest.raises(ValueError, match="Task failed"):
        result.return_value  # noqa: B018


@pytest.mark.parametrize(
    "arguments",
    [
        (datetime.datetime(2026, 1, 1),),  # Django refuses what JSON has no type for
        (object(),),
    ],
)
def test_arguments_json_cannot_carry_are_refused(
    arguments: tuple[Any, ...], dispatched: list[str]
) -> None:
    with pytest.raises(TypeError):
        durable_tasks.marked.enqueue(*arguments)
    assert not TaskRecord.objects.exists()
    assert dispatched == []


@pytest.mark.parametrize("argument", [{1: "a"}, float("nan"), float("inf")])
def test_arguments_json_would_change_are_refused(argument: Any, dispatched: list[str]) -> None:
    with pytest.raises(ValueError, match="JSON"):
        durable_tasks.marked.enqueue(argument)
    assert not TaskRecord.objects.exists()


def test_tuples_become_lists_as_django_normalises_them() -> None:
    assert round_tripped([("a", 1)], {"k": (2, 3)}) == ([["a", 1]], {"k": [2, 3]})


@pytest.mark.parametrize("priority", [-101, 101, 1.5])
def test_priorities_outside_django_s_bounds_are_invalid(priority: Any) -> None:
    with pytest.raises(InvalidTask, match="priority"):
        durable_tasks.marked.using(priority=priority)


def test_priority_maps_to_dbos_order_highest_first() -> None:
    assert (
        services.PRIORITY_OFFSET - 100
        < services.PRIORITY_OFFSET - 0
        < services.PRIORITY_OFFSET + 100
    )
    assert services.PRIORITY_OFFSET - 100 >= 1  # DBOS's lowest priority number


def test_an_unknown_queue_is_invalid() -> None:
    with pytest.raises(InvalidTask, match="Queue 'nope' is not valid"):
        durable_tasks.marked.using(queue_name="nope")


def test_a_naive_run_after_is_invalid() -> None:
    with pytest.raises(InvalidTask, match="aware"):
        durable_tasks.marked.using(run_after=datetime.datetime(2030, 1, 1))


def no_context(label: str) -> None:
    """A module-level function without a ``context`` first argument."""


def test_a_context_task_needs_a_context_argument() -> None:
    from keel.tasks import task

    with pytest.raises(InvalidTask, match="context"):
        task(takes_context=True)(no_context)


def test_retries_must_be_sensible() -> None:
    from keel.tasks import task

    with pytest.raises(InvalidTask, match="retries"):
        task(retries=-1)(durable_tasks.marked.func)
    with pytest.raises(InvalidTask, match="retry_backoff"):
        task(retry_backoff=0)(durable_tasks.marked.func)


def test_a_task_enqueued_in_a_transaction_is_handed_over_at_commit(
    dispatched: list[str],
) -> None:
    with transaction.atomic():
        result = durable_tasks.marked.enqueue("x")
        assert dispatched == []
    assert dispatched == [result.id]


def test_task_enqueued_is_sent_by_enqueue_inside_the_transaction_as_django_s_backends_do(
    dispatched: list[str],
) -> None:
    from keel.tasks.api import task_enqueued

    received: list[tuple[type, str, str, list[str]]] = []

    def receiver(sender: type, task_result: Any, **kwargs: Any) -> None:
        received.append((sender, task_result.id, task_result.status, list(dispatched)))

    task_enqueued.connect(receiver)
    try:
        with transaction.atomic():
            result = durable_tasks.marked.enqueue("x")
            # Before the commit and the hand-over to the workers (docs/tasks.md, "Signals").
            assert received == [(DurableBackend, result.id, TaskResultStatus.READY, [])]
    finally:
        task_enqueued.disconnect(receiver)
    assert dispatched == [result.id]


def test_a_task_enqueued_in_a_rolled_back_transaction_leaves_nothing(
    dispatched: list[str],
) -> None:
    class Abort(Exception):
        pass

    def enqueue_then_fail() -> None:
        with transaction.atomic():
            durable_tasks.marked.enqueue("x")
            raise Abort

    with pytest.raises(Abort):
        enqueue_then_fail()
    assert dispatched == []
    assert not TaskRecord.objects.exists()


def test_deferred_tasks_carry_run_after(dispatched: list[str]) -> None:
    later = timezone.now() + datetime.timedelta(minutes=5)
    result = durable_tasks.marked.using(run_after=later).enqueue("x")
    assert TaskRecord.objects.get(pk=result.id).run_after == later
    assert result.task.run_after == later


def test_max_age_must_be_a_positive_number_of_seconds() -> None:
    from keel.tasks import task

    with pytest.raises(InvalidTask, match="max_age"):
        task(max_age=0)(durable_tasks.marked.func)
    with pytest.raises(InvalidTask, match="max_age"):
        task(max_age="1h")(durable_tasks.marked.func)


def test_a_task_past_its_max_age_is_not_attempted(dispatched: list[str]) -> None:
    import dataclasses

    from keel.tasks.execution import TaskExpired, expired_error

    short = dataclasses.replace(durable_tasks.marked, max_age=60)
    result = short.enqueue("x")
    record = TaskRecord.objects.get(pk=result.id)
    assert record.expires_at is not None
    assert (record.expires_at - record.created_at).total_seconds() == pytest.approx(60, abs=1)
    assert services.task_attempt_begin(task_id=result.id, attempt=1)["expired"] is False

    TaskRecord.objects.filter(pk=result.id).update(
        created_at=timezone.now() - datetime.timedelta(seconds=61),
        expires_at=timezone.now() - datetime.timedelta(seconds=1),
    )
    plan = services.task_attempt_begin(task_id=result.id, attempt=1)
    assert plan["expired"] is True
    services.task_attempt_fail(task_id=result.id, error=expired_error(plan), final=True)
    failed = durable_tasks.marked.get_result(result.id)
    assert failed.status == TaskResultStatus.FAILED
    assert failed.errors[0].exception_class_path == "keel.tasks.execution.TaskExpired"
    assert TaskExpired.__name__ in failed.errors[0].traceback
    assert "61 s old" in failed.errors[0].traceback


def test_a_retried_task_no_longer_expires(dispatched: list[str]) -> None:
    import dataclasses

    result = dataclasses.replace(durable_tasks.marked, max_age=60).enqueue("x")
    TaskRecord.objects.filter(pk=result.id).update(status=TaskStatus.FAILED)
    services.task_retry(task_id=result.id)
    assert TaskRecord.objects.get(pk=result.id).expires_at is None


def test_a_task_without_max_age_never_expires(dispatched: list[str]) -> None:
    result = durable_tasks.marked.enqueue("x")
    assert TaskRecord.objects.get(pk=result.id).expires_at is None
    assert services.task_attempt_begin(task_id=result.id, attempt=1)["expired"] is False


def test_a_records_attempts_count_its_failures_and_the_one_under_way(
    dispatched: list[str],
) -> None:
    result = durable_tasks.marked.enqueue("x")
    record = TaskRecord.objects.get(pk=result.id)
    assert record.attempts == 0
    for attempt in (1, 2):
        services.task_worker_join(task_id=result.id, worker_id="only-worker")
        services.task_attempt_begin(task_id=result.id, attempt=attempt)
        services.task_attempt_fail(
            task_id=result.id,
            error={"exception_class_path": "builtins.ValueError", "traceback": "x"},
            final=False,
        )
    services.task_attempt_begin(task_id=result.id, attempt=3)
    record.refresh_from_db()
    assert (record.status, record.attempts) == (TaskStatus.RUNNING, 3)
    services.task_succeed(task_id=result.id, return_value="x")
    record.refresh_from_db()
    # One worker made all three: counting workers said 1.
    assert (record.attempts, record.worker_ids) == (3, ["only-worker"])


def test_a_result_counts_attempts_made_on_one_worker_not_workers(
    dispatched: list[str],
) -> None:
    result = durable_tasks.flaky.enqueue("x", 9)
    services.task_worker_join(task_id=result.id, worker_id="only-worker")
    for attempt in (1, 2, 3):
        services.task_attempt_begin(task_id=result.id, attempt=attempt)
        assert durable_tasks.flaky.get_result(result.id).attempts == attempt
        services.task_attempt_fail(
            task_id=result.id,
            error={"exception_class_path": "builtins.ConnectionError", "traceback": "x"},
            final=attempt == 3,
        )
    failed = durable_tasks.flaky.get_result(result.id)
    assert (failed.status, failed.attempts) == (TaskResultStatus.FAILED, 3)
    # Django's own count, len(worker_ids), would say 1: the record is not made to lie.
    assert failed.worker_ids == ["only-worker"]
    result.refresh()
    assert result.attempts == 3
    async_to_sync(result.arefresh)()
    assert result.attempts == 3


def test_a_context_sees_the_attempt_under_way(dispatched: list[str]) -> None:
    from keel.tasks.api import TaskContext
    from keel.tasks.backend import task_result

    result = durable_tasks.with_context.enqueue("x")
    services.task_worker_join(task_id=result.id, worker_id="only-worker")
    services.task_attempt_begin(task_id=result.id, attempt=1)
    services.task_attempt_fail(
        task_id=result.id,
        error={"exception_class_path": "builtins.ConnectionError", "traceback": "x"},
        final=False,
    )
    plan = services.task_attempt_begin(task_id=result.id, attempt=2)
    # Recorded with the attempt's step, so a replay of this attempt sees 2 again.
    assert plan["attempts"] == 2
    record = TaskRecord.objects.get(pk=result.id)
    context = TaskContext(task_result=task_result(record, durable_tasks.with_context))
    assert context.attempt == 2
