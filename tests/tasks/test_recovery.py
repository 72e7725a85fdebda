"""Worker heartbeats and the sweep that recovers the workflows of dead executors."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from keel.tasks import recovery
from keel.tasks.models import WorkerHeartbeat
from tests.tasks.factories import WorkerHeartbeatFactory

pytestmark = pytest.mark.django_db


def test_a_dead_executor_is_claimed_by_exactly_one_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    from dbos import DBOS

    recovered: list[list[str]] = []
    monkeypatch.setattr(DBOS, "_recover_pending_workflows", lambda ids: recovered.append(ids) or [])
    long_ago = timezone.now() - timedelta(seconds=60)
    for name in ["dead", "live-1", "live-2"]:
        recovery.heartbeat_register(executor_id=name, application_version="v")
    WorkerHeartbeat.objects.filter(pk="dead").update(beat_at=long_ago)
    first = recovery.executors_recover(executor_id="live-1", application_version="v", dead_after=30)
    second = recovery.executors_recover(
        executor_id="live-2", application_version="v", dead_after=30
    )
    assert (first, second) == (["dead"], [])
    assert recovered == [["dead"]]
    assert not recovery.heartbeat_beat(executor_id="dead")  # it must not carry on


def test_a_stopped_executor_is_recovered_without_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    from dbos import DBOS

    monkeypatch.setattr(DBOS, "_recover_pending_workflows", lambda ids: [])
    recovery.heartbeat_register(executor_id="leaving", application_version="v")
    recovery.heartbeat_stop(executor_id="leaving")
    assert recovery.executors_recover(
        executor_id="live", application_version="v", dead_after=30
    ) == ["leaving"]


def test_other_application_versions_are_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    from dbos import DBOS

    monkeypatch.setattr(DBOS, "_recover_pending_workflows", lambda ids: [])
    recovery.heartbeat_register(executor_id="old", application_version="v0")
    recovery.heartbeat_stop(executor_id="old")
    assert (
        recovery.executors_recover(executor_id="live", application_version="v1", dead_after=30)
        == []
    )


def test_an_executor_id_names_the_ecs_task_and_is_unique_per_process() -> None:
    uri = "http://169.254.170.2/v4/0123456789abcdef-1111111111"
    first = recovery.executor_id_make({"ECS_CONTAINER_METADATA_URI_V4": uri})
    second = recovery.executor_id_make({"ECS_CONTAINER_METADATA_URI_V4": uri})
    assert first.startswith("0123456789abcdef-1111111111-")
    assert first != second


def test_a_beat_after_being_claimed_tells_the_worker_to_stop() -> None:
    heartbeat = WorkerHeartbeatFactory.create(recovered_by="another")
    assert not recovery.heartbeat_beat(executor_id=heartbeat.executor_id)
    assert recovery.heartbeat_beat(executor_id=WorkerHeartbeatFactory.create().executor_id)
