"""The tasks app's bookkeeping: the sweep hands over tasks recorded but never enqueued."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from keel.tasks import services
from keel.tasks.models import TaskRecord, TaskStatus
from tests.tasks.factories import TaskRecordFactory

pytestmark = pytest.mark.django_db


def test_the_sweep_hands_over_only_tasks_recorded_but_never_handed_over(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    handed: list[str] = []
    monkeypatch.setattr(services, "task_dispatch", lambda *, task_id: handed.append(task_id))
    old = timezone.now() - timedelta(seconds=60)

    def recorded(task_id: str, **fields: object) -> None:
        TaskRecordFactory.create(id=task_id)
        TaskRecord.objects.filter(pk=task_id).update(created_at=old, **fields)

    recorded("stranded")
    recorded("handed-over", enqueued_at=old)
    recorded("finished", status=TaskStatus.FAILED)
    TaskRecordFactory.create(id="just-recorded")

    assert services.tasks_unenqueued_dispatch(grace=30) == 1
    assert handed == ["stranded"]
