"""keel.lambdas' system checks: each names what the project lacks."""

from __future__ import annotations

import pytest
from django.test import override_settings
from pytest_django.fixtures import Settings

from keel.lambdas import checks


def test_the_suites_project_passes_them() -> None:
    assert checks.check_tasks_installed() == []
    assert checks.check_urls_included() == []
    assert checks.check_task_queue() == []
    assert checks.check_invoke_credentials() == []
    assert checks.check_routes_reachable() == []


def test_keel_tasks_not_installed(settings: Settings) -> None:
    settings.INSTALLED_APPS = [app for app in settings.INSTALLED_APPS if app != "keel.tasks"]
    (error,) = checks.check_tasks_installed()
    assert error.id == "keel.E030"
    assert '"keel.tasks"' in error.hint


@override_settings(ROOT_URLCONF="tests.lambdas.urls_without_functions")
def test_urls_not_included() -> None:
    (error,) = checks.check_urls_included()
    assert error.id == "keel.E031"
    assert 'include("keel.lambdas.urls")' in error.hint


@override_settings(ROOT_URLCONF="tests.lambdas.urls_shadowed")
def test_a_route_shadowed_by_an_earlier_pattern_is_named() -> None:
    found = checks.check_routes_reachable()
    assert [warning.id for warning in found] == ["keel.W034"]
    assert "KEEL_LAMBDAS['get-order']: /orders/{order_id} is served by" in found[0].msg


def test_an_undeclared_task_queue(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAMBDA_TASK_QUEUE", "lambdas")
    (error,) = checks.check_task_queue()
    assert error.id == "keel.E032"
    assert "'lambdas'" in error.msg


def test_malformed_credentials_are_named_without_the_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LAMBDA_INVOKE_CREDENTIALS", "AKIAGOODCALLER000001:short")
    (error,) = checks.check_invoke_credentials()
    assert error.id == "keel.E033"
    assert "entry 1 must be ACCESS_KEY_ID:SECRET" in error.msg
    assert "short" not in error.msg
