"""The system checks that make the ALB health-check failure impossible to configure."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from pytest_django.fixtures import Settings

from keel import ecs
from keel.health.checks import (
    HEALTH_MIDDLEWARE,
    check_health_middleware_first,
    check_health_urls_included,
    check_json_logs,
    check_static_root,
    check_task_ips_allowed,
)
from tests.fake_ecs import task_document


@pytest.fixture
def on_ecs(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A task whose metadata says 10.0.3.17 and fd00::5 (handed down, as keel web does)."""
    ecs.task_metadata.cache_clear()
    monkeypatch.setenv(ecs.METADATA_VARIABLE, "http://169.254.170.2/v4/abc")
    document = task_document("10.0.3.17", ipv6=("fd00::5",))
    monkeypatch.setenv(ecs.HANDED_DOWN_VARIABLE, json.dumps(document))
    yield
    ecs.task_metadata.cache_clear()


def test_health_middleware_must_come_first(settings: Settings) -> None:
    assert check_health_middleware_first() == []
    settings.MIDDLEWARE = ["django.middleware.security.SecurityMiddleware", HEALTH_MIDDLEWARE]
    [error] = check_health_middleware_first()
    assert error.id == "keel.E001"


def test_off_ecs_there_are_no_task_ips_to_allow(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ecs.METADATA_VARIABLE, raising=False)
    ecs.task_metadata.cache_clear()
    assert check_task_ips_allowed() == []


def test_on_ecs_the_tasks_ips_must_be_allowed(settings: Settings, on_ecs: None) -> None:
    settings.ALLOWED_HOSTS = ["app.example.com"]
    [error] = check_task_ips_allowed()
    assert error.id == "keel.E003"
    assert "10.0.3.17, [fd00::5]" in error.msg
    assert "keel.ecs.task_allowed_hosts()" in str(error.hint)


def test_the_settings_helper_allows_them(settings: Settings, on_ecs: None) -> None:
    settings.ALLOWED_HOSTS = ["app.example.com", *ecs.task_allowed_hosts()]
    assert check_task_ips_allowed() == []


#: A URLconf without keel's URLs, for the checks that look for them.
urlpatterns: list[object] = []


def test_readyz_must_reach_keels_view(settings: Settings) -> None:
    assert check_health_urls_included() == []
    settings.ROOT_URLCONF = "tests.health.test_checks"
    [error] = check_health_urls_included()
    assert error.id == "keel.E004"
    assert 'include("keel.health.urls")' in str(error.hint)


def test_static_files_need_a_root_to_be_collected_into(settings: Settings) -> None:
    assert check_static_root() == []
    settings.STATIC_ROOT = None
    [error] = check_static_root()
    assert error.id == "keel.E005"


def test_logs_should_be_keels_json_lines(settings: Settings) -> None:
    assert check_json_logs() == []
    settings.LOGGING = {"version": 1}
    [warning] = check_json_logs()
    assert warning.id == "keel.W006"
