"""Passwords that rotate: read from the secret, kept in a libpq password file, refreshed
when PostgreSQL refuses them (the process-level proof is tests/reliability/
test_credential_rotation.py)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from keel import credentials


class Refused(Exception):
    sqlstate = "28P01"


@pytest.fixture
def secret(monkeypatch: pytest.MonkeyPatch) -> dict[str, str | None]:
    """The secret's versions by stage, as Secrets Manager would return them."""
    versions: dict[str, str | None] = {
        "AWSCURRENT": json.dumps({"username": "keel", "password": "one:two\\three"}),
        "AWSPENDING": None,
    }
    reads: list[str] = []
    monkeypatch.setattr(
        credentials,
        "read_secret",
        lambda arn, stage="AWSCURRENT": reads.append(stage) or versions[stage],
    )
    monkeypatch.setattr(credentials, "REFRESH_INTERVAL", 0.0)
    versions["reads"] = reads  # type: ignore[assignment]
    return versions


def rotating(tmp_path: Path) -> credentials.RotatingPassword:
    return credentials.RotatingPassword(
        secret_arn="arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-1",
        user="keel",
        passfile=str(tmp_path / "pgpass"),
    )


def test_the_password_file_is_private_and_escaped(tmp_path: Path, secret: dict) -> None:
    password = rotating(tmp_path)
    password.ensure()
    passfile = Path(password.passfile)
    assert passfile.read_text() == "*:*:*:keel:one\\:two\\\\three\n"
    assert stat.S_IMODE(os.stat(passfile).st_mode) == 0o600


def test_a_refused_password_is_replaced_by_the_current_version(
    tmp_path: Path, secret: dict
) -> None:
    password = rotating(tmp_path)
    password.ensure()
    secret["AWSCURRENT"] = json.dumps({"password": "rotated"})
    assert password.refresh()
    assert password.password == "rotated"
    assert Path(password.passfile).read_text() == "*:*:*:keel:rotated\n"


def test_mid_rotation_the_pending_version_is_tried(tmp_path: Path, secret: dict) -> None:
    # Rotation has set the database's password to the pending version but not yet
    # made it current: the current version still holds the password just refused.
    password = rotating(tmp_path)
    password.ensure()
    secret["AWSPENDING"] = json.dumps({"password": "staged"})
    assert password.refresh()
    assert password.password == "staged"


def test_nothing_new_in_the_secret_is_no_refresh(tmp_path: Path, secret: dict) -> None:
    password = rotating(tmp_path)
    password.ensure()
    assert not password.refresh()


def test_connect_retrying_refreshes_once_on_an_authentication_failure(
    tmp_path: Path, secret: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    password = rotating(tmp_path)
    monkeypatch.setattr(credentials, "_active", password)
    password.ensure()
    secret["AWSCURRENT"] = json.dumps({"password": "rotated"})
    attempts: list[str | None] = []

    def connect() -> str:
        attempts.append(password.password)
        if password.password != "rotated":
            raise RuntimeError("connection failed") from Refused()
        return "connected"

    assert credentials.connect_retrying(connect) == "connected"
    assert attempts == ["one:two\\three", "rotated"]


def test_other_failures_are_not_retried(tmp_path: Path, secret: dict, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    password = rotating(tmp_path)
    monkeypatch.setattr(credentials, "_active", password)

    def connect() -> None:
        raise ConnectionRefusedError("the server is down")

    with pytest.raises(ConnectionRefusedError):
        credentials.connect_retrying(connect)
    assert secret["reads"] == ["AWSCURRENT"]  # type: ignore[comparison-overlap]


def test_a_plain_string_secret_is_the_password() -> None:
    assert credentials.password_of("plain") == "plain"
    with pytest.raises(ValueError, match="password"):
        credentials.password_of(json.dumps({"user": "x"}))


def test_psycopg_s_connection_failure_is_recognised_by_its_message() -> None:
    import psycopg

    refused = psycopg.OperationalError(
        'connection failed: connection to server at "127.0.0.1", port 5432 failed: '
        'FATAL:  password authentication failed for user "keel"'
    )
    assert refused.sqlstate is None
    assert credentials.is_authentication_failure(refused)
    assert not credentials.is_authentication_failure(
        psycopg.OperationalError("connection failed: Connection refused")
    )
