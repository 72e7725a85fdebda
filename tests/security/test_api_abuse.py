"""The API against a real ``keel web``, abused (test_api_conformance.py fuzzes it).

One server for the module (the default ASGI mode) with a low run-creation rate, and a
user per test so the per-user throttle of one test never colours another.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.agents.cluster import cluster
from tests.processes import KeelProcess

pytestmark = pytest.mark.e2e

HOST = "app.example.com"
RATE = 5
USERS = ["eager", "patient", "bulky"]


@dataclass
class Api:
    web: KeelProcess
    tokens: dict[str, str]

    def client(self, user: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.web.url,
            headers={"Host": HOST, "Authorization": f"Token {self.tokens[user]}"},
            timeout=15,
        )


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """``keel web`` and one worker (it creates DBOS's tables and runs what is created)."""
    with cluster(
        tmp_path_factory.mktemp("abuse"), users=USERS, RUNS_CREATE_RATE=f"{RATE}/min"
    ) as keel:
        keel.start_worker()
        yield Api(web=keel.web, tokens=keel.tokens)


def test_run_creation_beyond_the_rate_is_429_with_retry_after(api: Api) -> None:
    with api.client("eager") as client:
        created = [
            client.post("/api/runs/", json={"agent": "demo", "input": {"prompt": "hi", "steps": 1}})
            for _ in range(RATE)
        ]
        assert [response.status_code for response in created] == [201] * RATE
        refused = client.post(
            "/api/runs/", json={"agent": "demo", "input": {"prompt": "hi", "steps": 1}}
        )
        assert refused.status_code == 429, refused.text
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert "throttled" in refused.json()["detail"].lower()
        # Reading is not throttled, and the runs refused were never recorded.
        listed = client.get("/api/runs/")
        assert listed.status_code == 200
        assert listed.json()["count"] == RATE
    # The limit is per user.
    with api.client("patient") as other:
        accepted = other.post(
            "/api/runs/", json={"agent": "demo", "input": {"prompt": "hi", "steps": 1}}
        )
        assert accepted.status_code == 201


def test_a_run_body_over_the_limit_is_413(api: Api) -> None:
    body = json.dumps({"agent": "demo", "input": {"prompt": "x" * 1_100_000}}).encode()
    with api.client("bulky") as client:
        response = client.post(
            "/api/runs/", content=body, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 413
        assert response.json()["error"] == "payload_too_large"
    # A new connection: the server closes one whose body it refused to read.
    with api.client("bulky") as client:
        assert client.get("/api/runs/").json()["count"] == 0
