"""The demo endpoints refuse anonymous callers under production settings, in both modes.

``make run`` (DEBUG on) keeps them open for a newcomer; a deployment (DEBUG off) answers
an anonymous caller 401 like every other endpoint, so nobody holds thousands of streams
open on them. ``/api/ping/`` says nothing about accounts to anyone.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.agents.cluster import Cluster, cluster
from tests.processes import keel_web

pytestmark = pytest.mark.e2e

HOST = "app.example.com"
#: (method, path, JSON body) of each demo endpoint (example/urls.py).
DEMO = [
    ("GET", "/api/ping/", None),
    ("POST", "/api/echo/", {"message": "hi"}),
    ("GET", "/demo/json/", None),
    ("GET", "/demo/stream/?count=2&interval=0", None),
]


@pytest.fixture(scope="module", params=["asgi", "wsgi"])
def keel(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    """``keel web`` with tests.processes' production-like environment, unchanged."""
    with cluster(
        tmp_path_factory.mktemp(f"demo-{request.param}"), users=["alice"], server=request.param
    ) as running:
        yield running


@pytest.mark.parametrize(("method", "path", "body"), DEMO)
def test_an_anonymous_caller_is_refused_under_production_settings(
    keel: Cluster, method: str, path: str, body: object
) -> None:
    with keel.client(None) as anonymous:
        response = anonymous.request(method, path, json=body)
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["WWW-Authenticate"].startswith("Token")


@pytest.mark.parametrize(("method", "path", "body"), DEMO)
def test_a_caller_with_a_token_is_served(
    keel: Cluster, method: str, path: str, body: object
) -> None:
    with keel.client("alice") as alice:
        response = alice.request(method, path, json=body)
    assert response.status_code == 200, response.text


def test_ping_tells_nothing_about_accounts(keel: Cluster) -> None:
    with keel.client("alice") as alice:
        body = alice.get("/api/ping/").json()
    assert body == {"ok": True, "migrated": True}


def test_other_methods_are_405_with_allow(keel: Cluster) -> None:
    with keel.client("alice") as alice:
        stream = alice.post("/demo/stream/")
        json = alice.delete("/demo/json/")
        echo = alice.get("/api/echo/")
    assert (stream.status_code, stream.headers["Allow"]) == (405, "GET")
    assert stream.json()["error"] == "method_not_allowed"
    assert (json.status_code, json.headers["Allow"]) == (405, "GET, HEAD")
    assert echo.status_code == 405
    assert set(echo.headers["Allow"].replace(" ", "").split(",")) == {"POST", "OPTIONS"}


def test_make_runs_debug_setting_keeps_them_open(
    keel: Cluster, tmp_path_factory: pytest.TempPathFactory
) -> None:
    server = keel.web.args[keel.web.args.index("--server") + 1]
    environment = {**keel.environment, "DEBUG": "true"}
    log_dir = tmp_path_factory.mktemp("debug")
    with (
        keel_web(environment, server=server, log_dir=log_dir) as web,
        httpx.Client(base_url=web.url, headers={"Host": HOST}, timeout=15) as anonymous,
    ):
        responses = [anonymous.request(method, path, json=body) for method, path, body in DEMO]
    assert [response.status_code for response in responses] == [200] * len(DEMO)
    assert responses[0].json() == {"ok": True, "migrated": True}
