"""The demo endpoints in-process: the benchmark's workload and who may call them."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings
from pytest_django import DjangoAssertNumQueries

pytestmark = pytest.mark.django_db

HOST = {"host": "testserver"}


@override_settings(DEMO_ENDPOINTS_PUBLIC=True)
def test_ping_is_one_query_for_an_anonymous_caller(
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    with django_assert_num_queries(1) as captured:
        response = Client().get("/api/ping/", headers=HOST)
    assert response.status_code == 200
    assert response.json() == {"ok": True, "migrated": True}
    assert "auth_user" not in captured.captured_queries[0]["sql"]


@override_settings(DEMO_ENDPOINTS_PUBLIC=True)
def test_plain_demo_views_make_no_query_for_an_anonymous_caller(
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    with django_assert_num_queries(0):
        assert Client().get("/demo/json/", headers=HOST).json() == {"hello": "world"}


@pytest.mark.parametrize("path", ["/api/ping/", "/demo/json/", "/demo/stream/?count=1"])
def test_the_default_outside_debug_is_closed(path: str) -> None:
    response = Client().get(path, headers=HOST)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Token")


@pytest.mark.parametrize(
    ("message", "status"),
    [("hi", 200), (" ", 200), ("", 400), (0, 400), (None, 400), (["hi"], 400), ("a\x00b", 400)],
)
@override_settings(DEMO_ENDPOINTS_PUBLIC=True)
def test_echo_takes_exactly_a_nonblank_string_without_nul(message: object, status: int) -> None:
    response = Client().post(
        "/api/echo/", {"message": message}, content_type="application/json", headers=HOST
    )
    assert response.status_code == status, response.content
    if status == 200:
        assert response.json() == {"message": message}
    else:
        assert "message" in response.json()
