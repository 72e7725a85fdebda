"""The run console's pages, in process: sign-in, forms from serializers, tenancy, CSP.

The browser behaviour (streaming, reconnecting, cancelling, keyboard) is tested against
real processes in tests/e2e/test_console_browser.py.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from rest_framework import serializers

from keel.agents import services
from keel.agents.console.csp import POLICY
from keel.agents.console.forms import UnrenderableInput, input_form_class, run_input
from keel.agents.fields import StrictCharField, StrictFloatField, StrictIntegerField
from keel.agents.models import AgentRun, RunStatus
from tests.agents.factories import AgentRunFactory, UserFactory

pytestmark = pytest.mark.django_db

HOST = "app.example.com"


@pytest.fixture
def alice() -> User:
    user = UserFactory.create(username="alice")
    user.set_password("correct horse battery staple")
    user.save()
    return user


@pytest.fixture
def signed_in(alice: User) -> Client:
    client = Client(HTTP_HOST=HOST)
    client.force_login(alice)
    return client


@pytest.fixture
def enqueued(monkeypatch: pytest.MonkeyPatch) -> list[AgentRun]:
    """Record runs handed to the workers instead of reaching DBOS."""
    handed: list[AgentRun] = []
    monkeypatch.setattr(services, "run_enqueue", lambda *, run: handed.append(run))
    return handed


def test_every_page_needs_a_session_and_sends_the_strict_policy() -> None:
    anonymous = Client(HTTP_HOST=HOST)
    run = AgentRunFactory.create()
    for path in ["/console/", "/console/new/demo/", f"/console/runs/{run.id}/"]:
        response = anonymous.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/console/login/?next=")
        assert response["Content-Security-Policy"] == POLICY
    login = anonymous.get("/console/login/")
    assert login.status_code == 200
    assert login["Content-Security-Policy"] == POLICY
    assert "script-src 'self'" in POLICY
    assert "unsafe-inline" not in POLICY


def test_signing_in_with_the_form_opens_the_runs_list(alice: User) -> None:
    client = Client(HTTP_HOST=HOST, enforce_csrf_checks=True)
    page = client.get("/console/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token is not None
    response = client.post(
        "/console/login/",
        {
            "username": "alice",
            "password": "correct horse battery staple",
            "csrfmiddlewaretoken": token.group(1),
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/console/"
    assert client.get("/console/").status_code == 200
    wrong = Client(HTTP_HOST=HOST).post(
        "/console/login/", {"username": "alice", "password": "wrong"}
    )
    assert wrong.status_code == 200
    assert "Please enter a correct username and password" in wrong.text


def test_pages_carry_no_inline_script_or_style(signed_in: Client, alice: User) -> None:
    run = AgentRunFactory.create(owner=alice)
    for path in ["/console/", "/console/new/demo/", f"/console/runs/{run.id}/", "/console/login/"]:
        html = signed_in.get(path).text
        assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == [], path
        assert "<style" not in html, path
        assert " style=" not in html, path
        assert re.search(r"\son[a-z]+=", html) is None, path


def test_the_list_shows_only_the_users_own_runs(signed_in: Client, alice: User) -> None:
    own = AgentRunFactory.create(owner=alice)
    other = AgentRunFactory.create(owner=UserFactory.create(username="mallory"))
    html = signed_in.get("/console/").text
    assert str(own.id) in html
    assert str(other.id) not in html
    assert 'href="/console/new/demo/"' in html


def test_another_users_run_is_404_to_read_and_to_cancel(signed_in: Client) -> None:
    other = AgentRunFactory.create(owner=UserFactory.create(username="mallory"))
    assert signed_in.get(f"/console/runs/{other.id}/").status_code == 404
    assert signed_in.post(f"/console/runs/{other.id}/cancel/").status_code == 404
    other.refresh_from_db()
    assert other.status == RunStatus.QUEUED
    assert signed_in.get("/console/new/no-such-agent/").status_code == 404


def test_the_demo_form_has_a_labelled_control_per_input_field(signed_in: Client) -> None:
    html = signed_in.get("/console/new/demo/").text
    for name in ["prompt", "steps", "step_delay"]:
        assert f'<label for="id_{name}"' in html, name
        assert f'id="id_{name}"' in html, name
    assert re.search(r'<input type="number" name="steps" value="3"[^>]*min="1"[^>]*max="20"', html)
    assert re.search(r'<textarea name="prompt"[^>]*maxlength="10000"[^>]*required', html)


def test_submitting_the_form_creates_the_run_and_shows_it(
    signed_in: Client, enqueued: list[AgentRun]
) -> None:
    response = signed_in.post("/console/new/demo/", {"prompt": "hi there", "steps": "2"})
    assert response.status_code == 302
    run = AgentRun.objects.get()
    assert response["Location"] == f"/console/runs/{run.id}/"
    # Typed as the strict serializer wants; the blank delay took the agent's default.
    assert run.input == {"prompt": "hi there", "steps": 2, "step_delay": 0.2}
    assert enqueued == [run]
    page = signed_in.get(response["Location"]).text
    assert f'data-events-url="/api/runs/{run.id}/events/"' in page


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"prompt": "x", "steps": "21"}, "steps"),
        ({"prompt": "x", "steps": "many"}, "steps"),
        ({"prompt": "", "steps": "2"}, "prompt"),
        ({"prompt": "x", "step_delay": "11"}, "step_delay"),
    ],
)
def test_invalid_input_is_400_with_the_error_on_its_field(
    signed_in: Client, enqueued: list[AgentRun], data: dict[str, str], field: str
) -> None:
    response = signed_in.post("/console/new/demo/", data)
    assert response.status_code == 400
    assert f'id="id_{field}_error"' in response.text
    assert re.search(rf'<(?=[^>]*id="id_{field}")(?=[^>]*aria-invalid="true")[^>]+>', response.text)
    assert not AgentRun.objects.exists()


def test_the_services_errors_land_on_the_form(
    signed_in: Client, enqueued: list[AgentRun], settings: Any
) -> None:
    settings.KEEL_AGENT_MAX_INPUT_BYTES = 1024
    response = signed_in.post("/console/new/demo/", {"prompt": "x" * 2000})
    assert response.status_code == 400
    assert "at most 1024 bytes" in response.text
    assert not AgentRun.objects.exists()


def test_the_creation_rate_applies_to_the_console_too(
    signed_in: Client, alice: User, enqueued: list[AgentRun], settings: Any
) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"runs": "1/min"},
    }
    assert signed_in.post("/console/new/demo/", {"prompt": "one"}).status_code == 302
    again = signed_in.post("/console/new/demo/", {"prompt": "two"})
    assert again.status_code == 429
    assert "Too many runs started recently" in again.text
    assert AgentRun.objects.count() == 1


def test_cancel_answers_json_to_the_script_and_redirects_a_plain_form(
    signed_in: Client, alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    cancelled: list[AgentRun] = []

    def cancel(*, run: AgentRun) -> AgentRun:
        cancelled.append(run)
        run.status = RunStatus.CANCELLED
        return run

    monkeypatch.setattr(services, "run_cancel", cancel)
    run = AgentRunFactory.create(owner=alice)
    scripted = signed_in.post(f"/console/runs/{run.id}/cancel/", HTTP_ACCEPT="application/json")
    assert scripted.status_code == 200
    assert scripted.json()["status"] == "cancelled"
    plain = signed_in.post(f"/console/runs/{run.id}/cancel/")
    assert plain.status_code == 302
    assert plain["Location"] == f"/console/runs/{run.id}/"
    assert [item.id for item in cancelled] == [run.id, run.id]
    assert signed_in.get(f"/console/runs/{run.id}/cancel/").status_code == 405


def test_a_form_is_built_from_any_serializer_of_plain_fields() -> None:
    class Input(serializers.Serializer[Any]):
        question = StrictCharField(max_length=80, help_text="What to ask.")
        depth = StrictIntegerField(min_value=0, max_value=5, required=False)
        temperature = StrictFloatField(min_value=0, max_value=1, default=0.5)
        tone = serializers.ChoiceField(choices=["plain", "formal"], default="plain")
        cite = serializers.BooleanField(default=False)

    form_class = input_form_class(Input)
    form = form_class({"question": "why?", "temperature": "0.25", "tone": "formal"})
    assert form.is_valid(), form.errors
    assert run_input(form) == {
        "question": "why?",
        "temperature": 0.25,
        "tone": "formal",
        "cite": False,
    }
    assert Input(data=run_input(form)).is_valid()
    assert 'step="any"' in str(form["temperature"])
    assert "What to ask." in str(form["question"].help_text)


def test_a_required_field_without_a_control_is_refused_by_name() -> None:
    class Input(serializers.Serializer[Any]):
        documents = serializers.ListField(child=serializers.CharField())

    with pytest.raises(UnrenderableInput, match="'documents'"):
        input_form_class(Input)
