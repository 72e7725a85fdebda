"""Reads of runs and events, always scoped to the user asking."""

from __future__ import annotations

import uuid

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet
from django.http import Http404

from keel.agents.models import AgentRun, RunEvent


def run_list(
    *,
    owner: AbstractBaseUser | AnonymousUser,
    status: str | None = None,
    agent: str | None = None,
) -> QuerySet[AgentRun]:
    runs = AgentRun.objects.filter(owner_id=owner.pk).order_by("-created_at", "-id")
    if status:
        runs = runs.filter(status=status)
    if agent:
        runs = runs.filter(agent=agent)
    return runs


def run_get(*, owner: AbstractBaseUser | AnonymousUser, run_id: uuid.UUID | str) -> AgentRun:
    """Return the owner's run; another user's run is indistinguishable from none (404)."""
    try:
        return AgentRun.objects.get(pk=run_id, owner_id=owner.pk)
    except (AgentRun.DoesNotExist, ValueError) as missing:
        raise Http404("No such run.") from missing


def run_events_after(*, run_id: uuid.UUID, after: int, limit: int = 500) -> list[RunEvent]:
    return list(
        RunEvent.objects.filter(run_id=run_id, sequence__gt=after).order_by("sequence")[:limit]
    )


async def arun_events_after(*, run_id: uuid.UUID, after: int, limit: int = 500) -> list[RunEvent]:
    query = RunEvent.objects.filter(run_id=run_id, sequence__gt=after).order_by("sequence")
    return [event async for event in query[:limit]]
