"""The agents app's settings come from the environment, else the project, else keel."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from pytest_django.fixtures import Settings

from keel.agents.conf import agent_settings
from keel.tasks.conf import APPLICATION_VERSION, durable_settings


def test_defaults_are_keels_own(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGENT_RUNS_PER_USER", raising=False)
    config = agent_settings()
    assert config.runs_per_user == 3
    assert durable_settings().application_version == APPLICATION_VERSION


def test_the_example_project_names_its_agent_module(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGENT_MODULES", raising=False)
    assert agent_settings().agent_modules == ("keel.agents.demo",)


def test_a_variable_overrides_the_project(
    monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    settings.KEEL_AGENT_RUNS_PER_USER = 5
    assert agent_settings().runs_per_user == 5
    monkeypatch.setenv("AGENT_RUNS_PER_USER", "7")
    monkeypatch.setenv("AGENT_MODULES", "one, two")
    config = agent_settings()
    assert (config.runs_per_user, config.agent_modules) == (7, ("one", "two"))


def test_a_bad_value_is_refused_with_its_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENT_QUEUE_POLLING_INTERVAL", "7200")
    with pytest.raises(
        ImproperlyConfigured, match="AGENT_QUEUE_POLLING_INTERVAL=7200 must be at most 3600"
    ):
        agent_settings()
