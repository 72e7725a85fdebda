"""The agents services: every write to runs and their events."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework import serializers

from keel.agents import services, sweeps
from keel.agents.models import AgentRun, EventType, RunEvent, RunStatus
from keel.constants import API_OUTAGE_ANSWER_BOUND
from keel.errors import DatabaseUnavailable
from tests.agents.factories import AgentRunFactory, UserFactory
from tests.bounded import ALLOWANCE, ends_within
from tests.processes import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def run() -> AgentRun:
    return AgentRunFactory.create()


def test_input_validation_names_the_field() -> None:
    with pytest.raises(serializers.ValidationError) as raised:
        services.run_input_validate(agent="demo", input={"prompt": "x", "steps": 99})
    assert "steps" in raised.value.detail["input"]  # type: ignore[index,call-overload]


def test_input_validation_rejects_an_unknown_agent() -> None:
    with pytest.raises(serializers.ValidationError) as raised:
        services.run_input_validate(agent="nope", input={})
    assert "agent" in raised.value.detail  # type: ignore[operator]


def test_events_are_numbered_without_gaps(run: AgentRun) -> None:
    for text in ["a", "b", "c"]:
        services.run_event_append(run_id=run.id, type=EventType.TOKEN, payload={"text": text})
    assert list(run.events.values_list("sequence", flat=True)) == [1, 2, 3]


def test_no_event_follows_the_final_status(run: AgentRun) -> None:
    services.run_finish(run_id=run.id, status=RunStatus.CANCELLED)
    late = services.run_event_append(run_id=run.id, type=EventType.TOKEN, payload={"text": "x"})
    assert late is None
    assert run.events.last().payload == {"status": "cancelled"}  # type: ignore[union-attr]


def test_a_finished_run_is_never_finished_again(run: AgentRun) -> None:
    assert services.run_finish(run_id=run.id, status=RunStatus.SUCCEEDED)
    assert not services.run_finish(run_id=run.id, status=RunStatus.FAILED)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED


def test_start_counts_attempts_and_marks_resumptions(run: AgentRun) -> None:
    services.run_start(run_id=run.id)
    services.run_start(run_id=run.id)
    run.refresh_from_db()
    assert (run.status, run.attempts) == (RunStatus.RUNNING, 2)
    assert run.events.last().payload == {"status": "running", "resumed": True}  # type: ignore[union-attr]


def test_start_append_and_finish_write_what_they_say_on_either_database(run: AgentRun) -> None:
    # PostgreSQL takes one statement per write (services._append_statement), SQLite the
    # ORM's transaction; CI runs this on both, so the two paths cannot drift apart.
    started = services.run_start(run_id=run.id)
    assert started is not None
    assert (started.pk, started.agent, started.input) == (run.pk, run.agent, run.input)
    assert (started.status, started.attempts, started.last_sequence) == (RunStatus.RUNNING, 1, 1)
    assert started.started_at is not None
    token = services.run_event_append(run_id=run.id, type=EventType.TOKEN, payload={"t": "é"})
    assert token is not None
    assert RunEvent.objects.get(pk=token.pk).payload == {"t": "é"}
    assert (token.run_id, token.sequence, token.type) == (run.pk, 2, EventType.TOKEN)
    again = services.run_start(run_id=run.id)
    assert again is not None
    assert (again.attempts, again.started_at) == (2, started.started_at)

    finished = services.run_finish(
        run_id=run.id,
        status=RunStatus.FAILED,
        output={"partial": [1, "two"]},
        error="boom",
        input_tokens=7,
        output_tokens=9,
    )
    assert finished
    run.refresh_from_db()
    assert (run.status, run.output, run.error) == (
        RunStatus.FAILED,
        {"partial": [1, "two"]},
        "boom",
    )
    assert (run.input_tokens, run.output_tokens, run.last_sequence) == (7, 9, 4)
    assert run.finished_at is not None
    assert run.finished_at >= started.started_at
    assert list(run.events.values_list("sequence", "type", "payload")) == [
        (1, EventType.STATUS, {"status": "running"}),
        (2, EventType.TOKEN, {"t": "é"}),
        (3, EventType.STATUS, {"status": "running", "resumed": True}),
        (4, EventType.STATUS, {"status": "failed", "error": "boom"}),
    ]
    assert services.run_start(run_id=run.id) is None
    assert services.run_event_append(run_id=run.id, type=EventType.TOKEN, payload={}) is None


def test_a_run_that_does_not_exist_is_refused_by_every_write() -> None:
    missing = "00000000-0000-0000-0000-000000000000"
    with pytest.raises(AgentRun.DoesNotExist):
        services.run_start(run_id=missing)
    with pytest.raises(AgentRun.DoesNotExist):
        services.run_finish(run_id=missing, status=RunStatus.SUCCEEDED)
    with pytest.raises(AgentRun.DoesNotExist):
        services.run_event_append(run_id=missing, type=EventType.TOKEN, payload={})
    assert not RunEvent.objects.exists()


def test_prune_deletes_only_old_finished_runs_events(run: AgentRun) -> None:
    services.run_event_append(run_id=run.id, type=EventType.TOKEN, payload={"text": "x"})
    services.run_finish(run_id=run.id, status=RunStatus.SUCCEEDED)
    active = AgentRunFactory.create(owner=run.owner)
    services.run_event_append(run_id=active.id, type=EventType.TOKEN, payload={"text": "y"})
    assert services.run_events_prune(older_than=timedelta(days=1)) == 0
    AgentRun.objects.filter(pk=run.pk).update(finished_at=timezone.now() - timedelta(days=31))
    assert services.run_events_prune() == 2
    assert list(RunEvent.objects.values_list("run_id", flat=True)) == [active.id]


def test_run_create_records_when_the_run_was_handed_over(monkeypatch: pytest.MonkeyPatch) -> None:
    from keel.tasks import system_database

    handed: list[str] = []

    class Client:
        def enqueue(self, options: dict[str, object], run_id: str) -> None:
            handed.append(run_id)

    monkeypatch.setattr(system_database, "client", Client)
    owner = UserFactory.create()
    run, created = services.run_create(owner=owner, agent="demo", input={"prompt": "x"})
    run.refresh_from_db()
    assert created
    assert handed == [str(run.id)]
    assert run.enqueued_at is not None
    assert list(run.events.values_list("sequence", "payload")) == [(1, {"status": "queued"})]
    assert run.last_sequence == 1


def test_a_cancel_ends_cancelled_even_when_the_worker_notices_it_first(
    monkeypatch: pytest.MonkeyPatch, run: AgentRun
) -> None:
    """The worker can see the cancelled workflow before run_cancel's own writes land.

    It then ends the run itself (run_interrupt), naming the cause from
    cancel_requested_at; seen empty, the run ended ``timed_out`` (a .ci/run failure).
    """
    from keel.tasks import system_database

    services.run_start(run_id=run.id)

    class Client:
        def cancel_workflow(self, workflow_id: str) -> None:
            # The worker's reaction, as fast as it can be: before this call returns.
            services.run_interrupt(run_id=workflow_id)

    monkeypatch.setattr(system_database, "client", Client)
    cancelled = services.run_cancel(run=run)
    assert cancelled.status == RunStatus.CANCELLED
    assert run.events.last().payload == {"status": "cancelled"}  # type: ignore[union-attr]


def test_a_run_recorded_while_the_system_database_is_down_is_accepted_for_the_sweep(
    system_database_at: Callable[[int], None],
) -> None:
    """Answered 201 and queued: the sweep hands it over once DBOS answers, so it runs."""
    system_database_at(free_port())
    with ends_within(API_OUTAGE_ANSWER_BOUND + ALLOWANCE):
        run, created = services.run_create(
            owner=UserFactory.create(), agent="demo", input={"prompt": "in an outage"}
        )
    assert created
    run.refresh_from_db()
    assert (run.status, run.enqueued_at, run.error) == (RunStatus.QUEUED, None, "")
    # The sweep's own hand-off fails too while DBOS is down, and is tried again.
    with ends_within(API_OUTAGE_ANSWER_BOUND + ALLOWANCE), pytest.raises(DatabaseUnavailable):
        sweeps.runs_unqueued_enqueue(grace=0)
    run.refresh_from_db()
    assert (run.status, run.enqueued_at) == (RunStatus.QUEUED, None)


def test_a_cancel_while_the_system_database_is_down_is_database_unavailable(
    system_database_at: Callable[[int], None], run: AgentRun
) -> None:
    system_database_at(free_port())
    with ends_within(API_OUTAGE_ANSWER_BOUND + ALLOWANCE), pytest.raises(DatabaseUnavailable):
        services.run_cancel(run=run)
    run.refresh_from_db()
    assert run.status == RunStatus.QUEUED
