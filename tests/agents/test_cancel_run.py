"""``keel manage cancel_run``: an operator cancels any user's run, through DBOS for real."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from keel.agents import services
from keel.agents.models import AgentRun, RunStatus
from keel.tasks import system_database

pytestmark = pytest.mark.django_db


@pytest.fixture
def dbos_system_database(
    tmp_path: Path, settings: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """A migrated DBOS system database of this test's own, and a fresh client for it."""
    settings.KEEL_DBOS_SYSTEM_DATABASE_URL = f"sqlite:///{tmp_path / 'dbos.sqlite3'}"  # type: ignore[attr-defined]
    monkeypatch.setattr(system_database, "_client", None)
    monkeypatch.setattr(system_database, "_engine", None)
    system_database.migrate()
    yield
    if system_database._client is not None:
        system_database._client.destroy()
    if system_database._engine is not None:
        system_database._engine.dispose()


def run_of(username: str) -> AgentRun:
    """A run recorded and enqueued the way POST /api/runs/ does it."""
    owner = User.objects.create(username=username)
    run, created = services.run_create(owner=owner, agent="demo", input={"prompt": "hello"})
    assert created
    return run


def workflow_status(run: AgentRun) -> str:
    return system_database.client().retrieve_workflow(str(run.id)).get_status().status


def cancel(*run_ids: object) -> str:
    output = StringIO()
    call_command("cancel_run", *map(str, run_ids), stdout=output)
    return output.getvalue()


@pytest.mark.usefixtures("dbos_system_database")
def test_an_operator_cancels_another_users_queued_run_and_its_workflow() -> None:
    run = run_of("alice")
    assert workflow_status(run) == "ENQUEUED"

    output = cancel(run.id)

    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED
    assert run.cancel_requested_at is not None
    assert workflow_status(run) == "CANCELLED"
    assert run.events.last().payload == {"status": "cancelled"}  # type: ignore[union-attr]
    assert output == f"run {run.id} of alice: queued -> cancelled\n"


@pytest.mark.usefixtures("dbos_system_database")
def test_a_finished_run_is_left_as_it_is() -> None:
    run = run_of("bob")
    services.run_finish(run_id=run.id, status=RunStatus.SUCCEEDED)

    output = cancel(run.id)

    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED
    assert output == f"run {run.id} of bob already succeeded; left as it is\n"


@pytest.mark.usefixtures("dbos_system_database")
def test_an_unknown_id_cancels_nothing_not_even_the_known_ones() -> None:
    run = run_of("carol")
    unknown = uuid.uuid4()

    with pytest.raises(CommandError, match=f"no run {unknown}; nothing was cancelled"):
        cancel(run.id, unknown)

    run.refresh_from_db()
    assert run.status == RunStatus.QUEUED
    assert workflow_status(run) == "ENQUEUED"


def test_an_id_that_is_not_a_uuid_is_named() -> None:
    with pytest.raises(CommandError, match="'42' is not a run id"):
        cancel("42")
