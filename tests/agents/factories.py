"""Factories for the agents app's models (factory_boy), for tests that need rows."""

from __future__ import annotations

from typing import Any

import factory
from django.contrib.auth.models import User

from keel.agents.models import AgentRun, EventType, RunEvent, RunStatus


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda number: f"user{number}")


class AgentRunFactory(factory.django.DjangoModelFactory[AgentRun]):
    class Meta:
        model = AgentRun

    owner = factory.SubFactory(UserFactory)
    agent = "demo"
    input: Any = factory.LazyFunction(lambda: {"prompt": "hello", "steps": 1, "step_delay": 0})
    status = RunStatus.QUEUED


class RunEventFactory(factory.django.DjangoModelFactory[RunEvent]):
    class Meta:
        model = RunEvent

    run = factory.SubFactory(AgentRunFactory)
    sequence = factory.Sequence(lambda number: number + 1)
    type = EventType.TOKEN
    payload: Any = factory.LazyFunction(lambda: {"text": "x"})
