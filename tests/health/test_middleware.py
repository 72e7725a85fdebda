"""/healthz in-process: before host validation, never redirected, exact path only."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from django.core.checks import run_checks
from django.test import AsyncClient, Client, override_settings

from keel.health.checks import HEALTH_MIDDLEWARE


@pytest.mark.parametrize("host", ["10.0.3.17", "[fd00::5]:8000", "evil.example", "a b"])
def test_healthz_ignores_the_host(host: str) -> None:
    response = Client().get("/healthz", headers={"host": host})
    assert response.status_code == 200


@override_settings(SECURE_SSL_REDIRECT=True)
def test_healthz_is_not_redirected_to_https() -> None:
    assert Client().get("/healthz", headers={"host": "10.0.3.17"}).status_code == 200
    assert Client().get("/api/ping/", headers={"host": "app.example.com"}).status_code == 301


def test_healthz_refuses_other_methods() -> None:
    response = Client().post("/healthz", headers={"host": "10.0.3.17"})
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"


def test_healthz_in_async_mode() -> None:
    async def fetch() -> int:
        response = await AsyncClient().get("/healthz", headers={"host": "10.0.3.17"})
        return response.status_code

    assert async_to_sync(fetch)() == 200


@pytest.mark.django_db  # model checks ask the database about JSON support
def test_system_check_requires_the_health_middleware_first(settings) -> None:  # type: ignore[no-untyped-def]
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != HEALTH_MIDDLEWARE] + [
        HEALTH_MIDDLEWARE
    ]
    assert [error.id for error in run_checks()] == ["keel.E001"]


@pytest.mark.django_db  # model checks ask the database about JSON support
def test_system_check_refuses_djangos_gzip_middleware(settings) -> None:  # type: ignore[no-untyped-def]
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "django.middleware.gzip.GZipMiddleware"]
    assert [error.id for error in run_checks()] == ["keel.E002"]


@pytest.mark.django_db  # model checks ask the database about JSON support
def test_shipped_settings_pass_the_system_checks() -> None:
    assert run_checks() == []
