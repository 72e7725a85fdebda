"""A project that installs keel.agents is told exactly which step it skipped."""

from __future__ import annotations

import pytest
from django.test import override_settings
from pytest_django.fixtures import Settings

from keel.agents.checks import (
    check_agent_modules,
    check_declared_agents,
    check_required_apps,
    check_runs_api_included,
)

#: A URLconf without the runs API.
urlpatterns: list[object] = []


def test_the_example_project_passes_every_check() -> None:
    assert check_required_apps() == []
    assert check_runs_api_included() == []
    assert check_agent_modules() == []
    assert check_declared_agents() == []


def test_drf_token_authentication_must_be_installed(settings: Settings) -> None:
    settings.INSTALLED_APPS = [
        app for app in settings.INSTALLED_APPS if app != "rest_framework.authtoken"
    ]
    [error] = check_required_apps()
    assert error.id == "keel.E010"
    assert '"rest_framework.authtoken"' in str(error.hint)


@override_settings(ROOT_URLCONF="tests.agents.test_checks")
def test_the_runs_api_must_be_included() -> None:
    [error] = check_runs_api_included()
    assert error.id == "keel.E011"
    assert 'include("keel.agents.urls")' in str(error.hint)


def test_no_agent_module_is_a_warning(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGENT_MODULES", raising=False)
    settings.KEEL_AGENT_MODULES = []
    settings.KEEL_AGENTS = {}
    [warning] = check_agent_modules()
    assert warning.id == "keel.W012"


def test_an_agent_module_that_does_not_import_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENT_MODULES", "keel.agents.demo,shop.no_such_agents")
    [error] = check_agent_modules()
    assert error.id == "keel.E013"
    assert "shop.no_such_agents" in error.msg


def test_an_agent_with_a_tool_that_is_not_a_step_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AGENT_MODULES", "tests.agents.unwrapped_agent")
    [error] = check_agent_modules()
    assert error.id == "keel.E014"
    assert "'unwrapped'" in error.msg
    assert "lookup" in error.msg
    assert "tool_step" in str(error.hint)


def test_a_declaration_with_an_unknown_key_is_named(settings: Settings) -> None:
    settings.KEEL_AGENTS = {"helper": {"model": "openai:gpt-4o", "timeout": 5}}
    [error] = check_declared_agents()
    assert error.id == "keel.E015"
    assert "KEEL_AGENTS['helper']" in error.msg
    assert "timeout" in error.msg
