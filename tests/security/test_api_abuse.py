"""The API against a real ``keel web``: fuzzed from its own schema, and abused.

One server for the module (the default ASGI mode) with a low run-creation rate, and a
user per test so the per-user throttle of one test never colours another.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import APIOperation, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.agents.cluster import cluster
from tests.processes import KeelProcess

pytestmark = pytest.mark.e2e

HOST = "app.example.com"
RATE = 5
USERS = ["eager", "patient", "bulky", "fuzzer"]
#: Examples per operation and generation mode: 6 operations with inputs x 2 modes x 100.
EXAMPLES = 100
MIN_REQUESTS = 1_000
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


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


def test_fuzzing_from_the_schema_finds_no_server_error_and_no_nonconformance(api: Api) -> None:
    """Every operation, valid and invalid inputs: > 1,000 requests, all conforming."""
    token = api.tokens["fuzzer"]
    schema = schemathesis.openapi.from_url(
        f"{api.web.url}/api/schema/", headers={"Host": HOST, "Authorization": f"Token {token}"}
    )
    session = requests.Session()
    headers = {"Host": HOST, "Authorization": f"Token {token}"}
    sent: dict[str, int] = {}

    def fuzzer(operation: APIOperation, mode: GenerationMode) -> Callable[[], None]:
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def fuzz(case: schemathesis.Case) -> None:
            case.call_and_validate(
                base_url=api.web.url, session=session, headers=headers, checks=CHECKS
            )
            sent[operation.label] = sent.get(operation.label, 0) + 1

        return fuzz

    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 7, [operation.label for operation in operations]
    with session:
        for operation in operations:
            fuzzer(operation, GenerationMode.POSITIVE)()
            try:
                fuzzer(operation, GenerationMode.NEGATIVE)()
            except Unsatisfiable:
                # An operation without parameters or a body (GET /api/ping/) has no
                # invalid request to make.
                assert not operation.body
                assert not list(operation.iter_parameters())
    total = sum(sent.values())
    print(f"schemathesis: {total} requests over {len(sent)} operations: {sent}")
    assert total >= MIN_REQUESTS, sent
    assert len(sent) == len(operations)
