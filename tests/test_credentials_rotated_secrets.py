"""The project's rotated secrets (``ROTATED_SECRETS``), read from Secrets Manager on
moto's server (loopback) with boto3 unchanged but for its endpoint: read on first use,
refreshed when a call is refused, AWSCURRENT then AWSPENDING, at most once a second."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from django.core.exceptions import ImproperlyConfigured

from keel import credentials
from keel.health.checks import check_rotated_secrets
from tests.moto import REGION, MotoServer, moto_server
from tests.processes import base_environment, run_keel

NAME = "PARTNER_API_KEY"
VARIABLE = f"{NAME}_SECRET_ARN"


class Unauthorized(Exception):
    """What a partner's SDK raises for a key it no longer accepts (a 401)."""


def refused(error: Exception) -> bool:
    return isinstance(error, Unauthorized)


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    with moto_server(tmp_path_factory.mktemp("moto") / "moto.log") as server:
        yield server


@pytest.fixture
def aws(moto: MotoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """boto3 in this process talks to moto; returns a Secrets Manager client."""
    for name, value in moto.environment(tmp_path).items():
        if name not in ("PATH", "HOME"):
            monkeypatch.setenv(name, value)
    monkeypatch.delenv("ROTATED_SECRETS", raising=False)
    return boto3.client("secretsmanager", region_name=REGION)


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every stage read from Secrets Manager, in order (the real read, counted)."""
    seen: list[str] = []
    real = credentials.read_secret

    def counted(arn: str, stage: str = "AWSCURRENT") -> str | None:
        seen.append(stage)
        return real(arn, stage)

    monkeypatch.setattr(credentials, "read_secret", counted)
    return seen


def declare(monkeypatch: pytest.MonkeyPatch, aws: Any, value: str, *, key: str = "") -> str:
    """Create a secret holding ``value`` and declare it as ``NAME``; return its ARN."""
    arn = aws.create_secret(Name=f"partner-{uuid.uuid4().hex}", SecretString=value)["ARN"]
    monkeypatch.setenv("ROTATED_SECRETS", NAME)
    monkeypatch.setenv(VARIABLE, f"{arn}:{key}::" if key else arn)
    return str(arn)


def stage_pending(aws: Any, arn: str, value: str) -> str:
    """A rotation's first steps: the new value staged (AWSPENDING), not yet current."""
    return str(
        aws.put_secret_value(SecretId=arn, SecretString=value, VersionStages=["AWSPENDING"])[
            "VersionId"
        ]
    )


def make_current(aws: Any, arn: str, version: str) -> None:
    """A rotation's last step: the staged version becomes AWSCURRENT."""
    stages = aws.describe_secret(SecretId=arn)["VersionIdsToStages"]
    current = next(v for v, labels in stages.items() if "AWSCURRENT" in labels)
    aws.update_secret_version_stage(
        SecretId=arn,
        VersionStage="AWSCURRENT",
        MoveToVersionId=version,
        RemoveFromVersionId=current,
    )
    # Then the staging label goes, as the next rotation's staging needs.
    aws.update_secret_version_stage(
        SecretId=arn, VersionStage="AWSPENDING", RemoveFromVersionId=version
    )


class Partner:
    """The other side: accepts one key at a time, as a provider does mid-rotation."""

    def __init__(self, accepted: str) -> None:
        self.accepted = accepted
        self.keys: list[str] = []

    def charge(self, key: str) -> str:
        self.keys.append(key)
        if key != self.accepted:
            raise Unauthorized("401: invalid API key")
        return "charged"


def test_the_value_is_read_once_on_first_use(
    monkeypatch: pytest.MonkeyPatch, aws: Any, reads: list[str]
) -> None:
    declare(monkeypatch, aws, "key-one")
    secret = credentials.secret(NAME)
    assert reads == []
    assert secret.value() == "key-one"
    assert credentials.secret(NAME).value() == "key-one"
    assert reads == ["AWSCURRENT"]


def test_a_json_key_selects_the_value(monkeypatch: pytest.MonkeyPatch, aws: Any) -> None:
    declare(monkeypatch, aws, json.dumps({"api_key": "key-one", "other": "x"}), key="api_key")
    assert credentials.secret(NAME).value() == "key-one"


def test_a_missing_json_key_names_the_variable_not_the_value(
    monkeypatch: pytest.MonkeyPatch, aws: Any
) -> None:
    declare(monkeypatch, aws, json.dumps({"other": "hidden-value"}), key="api_key")
    with pytest.raises(ImproperlyConfigured, match=VARIABLE) as raised:
        credentials.secret(NAME).value()
    assert "hidden-value" not in str(raised.value)


def test_a_staged_rotation_is_taken_when_the_current_value_is_refused(
    monkeypatch: pytest.MonkeyPatch, aws: Any, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(credentials, "REFRESH_INTERVAL", 0.0)
    arn = declare(monkeypatch, aws, "key-one")
    partner = Partner(accepted="key-one")
    secret = credentials.secret(NAME)
    assert secret.call(partner.charge, refused=refused) == "charged"

    # The provider already takes the new key; the secret has it only as AWSPENDING.
    staged = stage_pending(aws, arn, "key-two")
    partner.accepted = "key-two"
    with caplog.at_level(logging.WARNING, logger="keel.credentials"):
        assert secret.call(partner.charge, refused=refused) == "charged"
    assert partner.keys == ["key-one", "key-one", "key-two"]
    refreshed = [record for record in caplog.records if "refreshed" in record.getMessage()]
    assert [record.secret_stage for record in refreshed] == ["AWSPENDING"]  # type: ignore[attr-defined]
    assert refreshed[0].getMessage() == (f"{NAME} refreshed from its secret after a refused call")

    # Rotation finished; the next one is made current before the process is refused.
    make_current(aws, arn, staged)
    assert secret.call(partner.charge, refused=refused) == "charged"
    make_current(aws, arn, stage_pending(aws, arn, "key-three"))
    partner.accepted = "key-three"
    assert secret.call(partner.charge, refused=refused) == "charged"
    assert secret.value() == "key-three"


def test_when_both_versions_are_refused_the_error_propagates(
    monkeypatch: pytest.MonkeyPatch, aws: Any, reads: list[str]
) -> None:
    monkeypatch.setattr(credentials, "REFRESH_INTERVAL", 0.0)
    arn = declare(monkeypatch, aws, "key-one")
    stage_pending(aws, arn, "key-two")
    partner = Partner(accepted="key-nobody-has")
    with pytest.raises(Unauthorized):
        credentials.secret(NAME).call(partner.charge, refused=refused)
    # One retry with the staged value, then the caller's error: no loop.
    assert partner.keys == ["key-one", "key-two"]
    assert reads == ["AWSCURRENT", "AWSCURRENT", "AWSPENDING"]


def test_errors_that_are_not_a_refusal_are_not_retried(
    monkeypatch: pytest.MonkeyPatch, aws: Any, reads: list[str]
) -> None:
    declare(monkeypatch, aws, "key-one")

    def down(key: str) -> str:
        raise ConnectionError("the provider is down")

    with pytest.raises(ConnectionError):
        credentials.secret(NAME).call(down, refused=refused)
    assert reads == ["AWSCURRENT"]


def test_a_refused_result_is_retried_once_and_then_returned(
    monkeypatch: pytest.MonkeyPatch, aws: Any
) -> None:
    monkeypatch.setattr(credentials, "REFRESH_INTERVAL", 0.0)
    arn = declare(monkeypatch, aws, "key-one")
    secret = credentials.secret(NAME)
    secret.value()
    aws.put_secret_value(SecretId=arn, SecretString="key-two")
    statuses = {"key-two": 200}
    calls: list[str] = []

    def request(key: str) -> int:
        calls.append(key)
        return statuses.get(key, 401)

    assert secret.call(request, refused_result=lambda status: status == 401) == 200
    statuses.clear()
    aws.put_secret_value(SecretId=arn, SecretString="key-three")
    assert secret.call(request, refused_result=lambda status: status == 401) == 401
    assert calls == ["key-one", "key-two", "key-two", "key-three"]


def test_refreshes_are_rate_limited(
    monkeypatch: pytest.MonkeyPatch, aws: Any, reads: list[str]
) -> None:
    # An hour instead of a second: the test must not depend on how fast the machine is.
    monkeypatch.setattr(credentials, "REFRESH_INTERVAL", 3600.0)
    arn = declare(monkeypatch, aws, "key-one")
    partner = Partner(accepted="key-nobody-has")
    secret = credentials.secret(NAME)
    with pytest.raises(Unauthorized):
        secret.call(partner.charge, refused=refused)
    assert reads == ["AWSCURRENT", "AWSCURRENT", "AWSPENDING"]
    aws.put_secret_value(SecretId=arn, SecretString="key-two")
    for _ in range(3):
        with pytest.raises(Unauthorized):
            secret.call(partner.charge, refused=refused)
    assert reads == ["AWSCURRENT", "AWSCURRENT", "AWSPENDING"]  # no read within the interval
    assert partner.keys == ["key-one"] * 4
    assert secret.refreshed_at is not None
    secret.refreshed_at -= 3600  # the interval has passed
    partner.accepted = "key-two"
    assert secret.call(partner.charge, refused=refused) == "charged"
    assert reads[3:] == ["AWSCURRENT"]


def test_a_value_another_thread_refreshed_is_used_without_a_read(
    monkeypatch: pytest.MonkeyPatch, aws: Any, reads: list[str]
) -> None:
    monkeypatch.setattr(credentials, "REFRESH_INTERVAL", 3600.0)
    arn = declare(monkeypatch, aws, "key-one")
    secret = credentials.secret(NAME)
    secret.value()
    aws.put_secret_value(SecretId=arn, SecretString="key-two")
    assert secret.refresh("key-one")  # the first caller refused reads the new value
    assert secret.refresh("key-one")  # a second one, refused the same old value, takes it
    assert reads == ["AWSCURRENT", "AWSCURRENT"]
    assert secret.value() == "key-two"


def test_an_unknown_name_names_the_setting(monkeypatch: pytest.MonkeyPatch, aws: Any) -> None:
    declare(monkeypatch, aws, "key-one")
    with pytest.raises(ImproperlyConfigured, match="ROTATED_SECRETS") as raised:
        credentials.secret("STRIPE_API_KEY")
    assert NAME in str(raised.value)


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"ROTATED_SECRETS": NAME}, VARIABLE),
        ({"ROTATED_SECRETS": "partner-key"}, "ROTATED_SECRETS"),
        ({"ROTATED_SECRETS": NAME, VARIABLE: "partner/key"}, VARIABLE),
        (
            {
                "ROTATED_SECRETS": NAME,
                VARIABLE: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:p-AbCdEf"
                ":api_key:AWSPREVIOUS:",
            },
            "version stage",
        ),
        (
            {
                "ROTATED_SECRETS": NAME,
                NAME: "plain",
                VARIABLE: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:p-AbCdEf",
            },
            f"Set {NAME} or {VARIABLE}, not both",
        ),
    ],
)
def test_bad_configuration_is_an_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], named: str
) -> None:
    monkeypatch.delenv(NAME, raising=False)
    monkeypatch.delenv(VARIABLE, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ImproperlyConfigured, match=named):
        credentials.declared_secrets()
    [error] = check_rotated_secrets()
    assert error.id == "keel.E007"
    assert named in error.msg


def test_the_setting_may_come_from_the_project_s_settings(
    monkeypatch: pytest.MonkeyPatch, aws: Any, settings: Any
) -> None:
    arn = declare(monkeypatch, aws, "key-one")
    monkeypatch.delenv("ROTATED_SECRETS")
    settings.KEEL_ROTATED_SECRETS = [NAME]
    assert credentials.declared_secrets()[NAME].arn == arn
    assert check_rotated_secrets() == []


def test_a_developer_s_plain_value_is_used_as_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROTATED_SECRETS", NAME)
    monkeypatch.delenv(VARIABLE, raising=False)
    monkeypatch.setenv(NAME, "sk_test_local")
    secret = credentials.secret(NAME)
    assert secret.value() == "sk_test_local"
    assert not secret.refresh("sk_test_local")  # nothing to read: the refusal is the caller's


@pytest.mark.parametrize("role", ["web", "worker"])
def test_a_role_without_its_secret_s_arn_does_not_start(role: str) -> None:
    environment = base_environment(ROTATED_SECRETS=NAME)
    result = run_keel([role], environment, timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"keel {role}: configuration error: ROTATED_SECRETS names {NAME}" in result.stderr
    assert VARIABLE in result.stderr
    assert "Traceback" not in result.stderr
