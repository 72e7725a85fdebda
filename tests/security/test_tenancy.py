"""Tenancy: a user reaches only their own runs, and only with a live token.

In-process (Django's test client): the same code path as a real server, minus sockets.
Token checks hit the database on every request, so a revoked key fails on the very next
request; a cache in front of authentication would make the revocation test fail.
"""

from __future__ import annotations

import uuid
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from keel.agents.models import AgentRun
from keel.agents.services import api_user_create

pytestmark = pytest.mark.django_db

HOST = "app.example.com"
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
#: Every run endpoint, with the methods it serves; {id} is a run id.
RUN_ENDPOINTS = {
    "/api/runs/{id}/": {"GET", "HEAD"},
    "/api/runs/{id}/cancel/": {"POST"},
    "/api/runs/{id}/events/": {"GET"},
}
COLLECTION = "/api/runs/"


def request(client: Client, method: str, path: str, token: str | None) -> tuple[int, bytes]:
    headers = {"HTTP_AUTHORIZATION": f"Token {token}"} if token else {}
    response = client.generic(
        method, path, data=b"{}", content_type="application/json", HTTP_HOST=HOST, **headers
    )
    body = b"" if response.streaming else response.content
    return response.status_code, body


@pytest.fixture
def tokens() -> dict[str, str]:
    return {name: api_user_create(username=name)[1] for name in ("owner", "intruder")}


@pytest.fixture
def owners_run(tokens: dict[str, str]) -> AgentRun:
    from django.contrib.auth import get_user_model

    owner = get_user_model().objects.get(username="owner")
    return AgentRun.objects.create(owner=owner, agent="demo", input={"prompt": "mine"})


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("template", sorted(RUN_ENDPOINTS))
def test_another_users_run_is_indistinguishable_from_a_missing_one(
    client: Client, tokens: dict[str, str], owners_run: AgentRun, template: str, method: str
) -> None:
    theirs = request(client, method, template.format(id=owners_run.id), tokens["intruder"])
    missing = request(client, method, template.format(id=uuid.uuid4()), tokens["intruder"])
    assert theirs == missing
    if method in RUN_ENDPOINTS[template]:
        assert theirs[0] == 404
    else:
        assert theirs[0] in {200, 405}, theirs  # OPTIONS describes the endpoint, not the run
    assert str(owners_run.id).encode() not in theirs[1]
    assert b"mine" not in theirs[1]


def test_another_users_runs_are_not_listed(
    client: Client, tokens: dict[str, str], owners_run: AgentRun
) -> None:
    status, body = request(client, "GET", COLLECTION, tokens["intruder"])
    assert status == 200
    assert str(owners_run.id).encode() not in body
    status, body = request(client, "GET", COLLECTION, tokens["owner"])
    assert (status, str(owners_run.id).encode() in body) == (200, True)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("template", [COLLECTION, *sorted(RUN_ENDPOINTS)])
@pytest.mark.parametrize("token", [None, "0" * 40], ids=["no-token", "unknown-token"])
def test_every_run_endpoint_and_method_without_a_valid_token_is_401(
    client: Client, owners_run: AgentRun, template: str, method: str, token: str | None
) -> None:
    status, body = request(client, method, template.format(id=owners_run.id), token)
    assert status == 401, body
    assert b"mine" not in body


def test_a_revoked_token_is_refused_on_the_next_request(
    client: Client, tokens: dict[str, str], owners_run: AgentRun
) -> None:
    path = f"/api/runs/{owners_run.id}/"
    assert request(client, "GET", path, tokens["owner"])[0] == 200
    output = StringIO()
    call_command("revoke_api_token", "owner", stdout=output)
    assert "revoked 1 token" in output.getvalue()
    for template in [COLLECTION, *RUN_ENDPOINTS]:
        method = "POST" if template.endswith("cancel/") else "GET"
        assert request(client, method, template.format(id=owners_run.id), tokens["owner"])[0] == 401
    # The other user's token is untouched.
    assert request(client, "GET", COLLECTION, tokens["intruder"])[0] == 200
