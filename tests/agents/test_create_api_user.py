"""``keel manage create_api_user`` never prints a token where ECS keeps the logs."""

from __future__ import annotations

import json
import os
import re
import stat
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token

from keel.ecs import METADATA_VARIABLE
from tests.fake_ecs import fake_metadata_server, task_document
from tests.processes import run_keel

pytestmark = pytest.mark.django_db

ECS_METADATA = "http://169.254.170.2/v4/0123"


def token_of(username: str) -> str:
    return Token.objects.get(user__username=username).key


def test_outside_ecs_the_token_is_printed_even_into_a_pipe(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(METADATA_VARIABLE, raising=False)
    output = StringIO()

    call_command("create_api_user", "alice", stdout=output)

    assert output.getvalue() == token_of("alice") + "\n"


def test_in_an_ecs_task_without_a_terminal_it_refuses_and_creates_nothing(
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setenv(METADATA_VARIABLE, ECS_METADATA)
    output = StringIO()

    with pytest.raises(CommandError, match="stdout goes to CloudWatch Logs") as refused:
        call_command("create_api_user", "alice", stdout=output)

    assert "--token-file" in str(refused.value)
    assert output.getvalue() == ""
    assert not User.objects.filter(username="alice").exists()


def test_in_an_ecs_task_a_terminal_gets_the_token(monkeypatch: pytest.MonkeyPatch):
    """An ECS Exec session is a terminal, and keel's cluster logs no session output."""
    monkeypatch.setenv(METADATA_VARIABLE, ECS_METADATA)
    controller, terminal = os.openpty()
    with os.fdopen(terminal, "w") as stdout:
        call_command("create_api_user", "alice", stdout=stdout)
    shown = os.read(controller, 1024).decode()
    os.close(controller)

    assert shown.strip() == token_of("alice")


def test_the_token_file_is_new_and_private(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv(METADATA_VARIABLE, ECS_METADATA)
    path = tmp_path / "alice.token"
    output = StringIO()

    call_command("create_api_user", "alice", "--token-file", str(path), stdout=output)

    assert path.read_text() == token_of("alice") + "\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert token_of("alice") not in output.getvalue()
    assert output.getvalue() == f"token of alice written to {path}\n"


def test_an_existing_token_file_is_never_overwritten(tmp_path: Path):
    path = tmp_path / "alice.token"
    path.write_text("someone else's\n")

    with pytest.raises(CommandError, match="cannot create"):
        call_command("create_api_user", "alice", "--token-file", str(path))

    assert path.read_text() == "someone else's\n"
    assert not User.objects.filter(username="alice").exists()


@pytest.mark.e2e
@pytest.mark.django_db(transaction=False)
def test_the_readmes_command_prints_into_a_pipe_off_ecs_and_refuses_on_ecs(
    migrated_environment: dict[str, str],
):
    """README: ``TOKEN=$(.venv/bin/keel manage create_api_user alice)``, a real process.

    Its stdout is a pipe either way; only inside an ECS task is that pipe the log driver's.
    """
    locally = run_keel(["manage", "create_api_user", "readme-alice"], migrated_environment)
    with fake_metadata_server(document=task_document("10.0.0.10")) as metadata:
        on_ecs = run_keel(
            ["manage", "create_api_user", "readme-bob"],
            {**migrated_environment, METADATA_VARIABLE: metadata},
        )

    assert locally.returncode == 0, locally.stderr
    assert re.fullmatch(r"[0-9a-f]{40}\n", locally.stdout)
    assert on_ecs.returncode == 1
    # Only keel's own JSON log lines reach stdout; no token.
    assert all("logger" in json.loads(line) for line in on_ecs.stdout.splitlines())
    assert "stdout goes to CloudWatch Logs" in on_ecs.stderr
    assert "Nothing was created" in on_ecs.stderr
