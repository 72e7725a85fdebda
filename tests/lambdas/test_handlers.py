"""Handlers written the way real ones are, served on their routes, behave as on Lambda.

Through Django's whole stack (middleware, URLconf, host validation) in this process;
tests/e2e/test_lambdas.py serves them from a real ``keel web``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

HOST = "app.example.com"


@pytest.fixture
def client() -> Client:
    return Client(HTTP_HOST=HOST)


def cookies_sent(response: object) -> list[str]:
    return [morsel.OutputString() for morsel in response.cookies.values()]  # type: ignore[attr-defined]


def test_a_json_body_in_a_dict_out(client: Client) -> None:
    response = client.post(
        "/orders", {"item": "tea", "quantity": 3}, content_type="application/json"
    )
    assert response.status_code == 201
    assert response["Location"] == "/orders/o-2"
    assert response.json() == {"id": "o-2", "item": "tea", "quantity": 3}
    refused = client.post("/orders", {}, content_type="application/json")
    assert (refused.status_code, refused.json()) == (400, {"error": "item is required"})


def test_a_route_answers_only_its_methods(client: Client) -> None:
    response = client.delete("/orders")
    assert response.status_code == 405
    assert response["Allow"] == "POST"


def test_path_and_query_parameters(client: Client) -> None:
    response = client.get("/orders/o-1?fields=id,item")
    assert (response.status_code, response["Content-Type"]) == (200, "application/json")
    assert response.json() == {"id": "o-1", "item": "kettle"}
    assert client.get("/orders/o-404").status_code == 404


def test_binary_with_multi_value_headers_and_cookies(client: Client) -> None:
    from tests.lambdas.handlers import PIXEL

    response = client.get("/thumbnails/2026/cat.png")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response.content == PIXEL
    assert response["Cache-Control"] == "public, max-age=60"
    assert cookies_sent(response) == [
        "seen=1; Path=/; HttpOnly",
        "theme=dark; Expires=Wed, 21 Oct 2026 07:28:00 GMT",
    ]


@pytest.mark.django_db
def test_django_authenticates_and_the_claims_reach_the_function(client: Client) -> None:
    assert client.get("/session").status_code == 403  # no signed-in user: nothing runs
    user = get_user_model().objects.create_user("alice", email="alice@example.com", password="x")
    client.force_login(user)
    client.cookies["visits"] = "1"
    response = client.get("/session")
    assert response.status_code == 200
    body = response.json()
    assert body["seen"][-1] == "visits"
    assert body["claims"] == {
        "jwt": {
            "claims": {
                "sub": str(user.pk),
                "username": "alice",
                "email": "alice@example.com",
                "is_staff": "false",
            },
            "scopes": None,
        }
    }
    assert cookies_sent(response) == ["session=abc; Secure; HttpOnly", "visits=2; Max-Age=3600"]


@pytest.mark.django_db
def test_a_rest_function_reads_the_callers_claims_as_payload_1_0_carries_them(
    client: Client,
) -> None:
    from rest_framework.authtoken.models import Token

    assert client.get("/account").status_code == 403  # no signed-in user: nothing runs
    user = get_user_model().objects.create_user(
        "bob", email="bob@example.com", password="x", is_staff=True
    )
    shape = {
        "principalId": "bob",
        "claims": {
            "sub": str(user.pk),
            "username": "bob",
            "email": "bob@example.com",
            "is_staff": "true",
        },
    }
    client.force_login(user)
    response = client.get("/account")
    assert response.status_code == 200
    assert response.json() == {"email": "bob@example.com", "staff": True, "seen": shape}
    # A DRF token is a signed-in caller too; a wrong one is nobody.
    token = Token.objects.create(user=user)
    caller = Client(HTTP_HOST=HOST)
    assert caller.get("/account", HTTP_AUTHORIZATION=f"Token {token.key}").json()["seen"] == shape
    assert caller.get("/account", HTTP_AUTHORIZATION="Token not-a-key").status_code == 403


def test_a_raising_handler_is_api_gateways_502(client: Client) -> None:
    response = client.post("/charges", {"order_id": "o-1"}, content_type="application/json")
    assert response.status_code == 502
    assert response.json() == {"message": "Internal server error"}


def test_a_host_django_does_not_allow_never_reaches_a_function(tmp_path: Path) -> None:
    response = Client(HTTP_HOST="evil.example.net").get("/orders/o-1")
    assert response.status_code == 400


def test_an_sqs_batch_handler_reports_its_partial_failures() -> None:
    from keel.lambdas import registry
    from keel.lambdas.batch import failed_ids
    from keel.lambdas.invocation import invoke

    event = json.loads(
        (Path(__file__).parents[1] / "data/lambda_events/sqs-event.json").read_text()
    )
    event["Records"].append({**event["Records"][0], "messageId": "MessageID_2"})
    event["Records"][0]["body"] = json.dumps({"label": "a", "fail": True})
    event["Records"][1]["body"] = json.dumps({"label": "b"})
    function = registry.get("process-messages")
    assert function is not None
    outcome = invoke(function, event)
    ids = [record["messageId"] for record in event["Records"]]
    assert failed_ids(outcome.result, ids) == [ids[0]]
