"""The sweeps: stranded runs are handed over, overdue ones end (each agent's own limit)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from keel.agents import services, sweeps
from keel.agents.models import AgentRun, RunStatus
from tests.agents.factories import AgentRunFactory, UserFactory

pytestmark = pytest.mark.django_db


def started(agent: str, seconds_ago: float) -> AgentRun:
    return AgentRunFactory(
        agent=agent,
        status=RunStatus.RUNNING,
        started_at=timezone.now() - timedelta(seconds=seconds_ago),
    )


def test_an_agent_with_its_own_time_limit_is_swept_by_it() -> None:
    support_overdue = started("support", 300 + 31)
    support_in_time = started("support", 300 + 29)
    demo_old = started("demo", 300 + 31)
    demo_overdue = started("demo", 1800 + 31)

    ended = sweeps.runs_overdue_end(run_time_limit=1800, agent_time_limits={"support": 300})

    assert ended == 2
    statuses = {
        run.pk: AgentRun.objects.get(pk=run.pk).status
        for run in (support_overdue, support_in_time, demo_old, demo_overdue)
    }
    assert statuses == {
        support_overdue.pk: RunStatus.TIMED_OUT,
        support_in_time.pk: RunStatus.RUNNING,
        demo_old.pk: RunStatus.RUNNING,
        demo_overdue.pk: RunStatus.TIMED_OUT,
    }


def test_the_sweep_enqueues_only_runs_recorded_but_never_handed_over(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    enqueued: list[str] = []
    monkeypatch.setattr(
        services, "run_enqueue", lambda *, run: enqueued.append(run.input["prompt"])
    )
    owner = UserFactory.create()
    old = timezone.now() - timedelta(seconds=60)

    def recorded(prompt: str, **fields: object) -> None:
        run = AgentRunFactory.create(owner=owner, input={"prompt": prompt})
        AgentRun.objects.filter(pk=run.pk).update(created_at=old, **fields)

    recorded("stranded")
    recorded("handed over", enqueued_at=old)
    recorded("finished", status=RunStatus.FAILED)
    AgentRunFactory.create(owner=owner, input={"prompt": "just created"})

    assert sweeps.runs_unqueued_enqueue(grace=30) == 1
    assert enqueued == ["stranded"]
