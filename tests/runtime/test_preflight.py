"""Preflight's checks in-process: variables, timeouts read from gunicorn's config, report."""

from __future__ import annotations

import importlib
from collections.abc import Iterator

import pytest

from keel import constants
from keel.runtime.preflight import _health_fix, environment_findings, timeout_findings
from keel.runtime.preflight_report import Finding, format_report
from keel.runtime.web import gunicorn_conf

PRODUCTION = {"SECRET_KEY": "x" * 60, "ALLOWED_HOSTS": "app.example.com"}


@pytest.fixture
def reload_gunicorn_conf(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Let a test set WEB_* variables, then restore gunicorn_conf's real values."""
    yield monkeypatch
    monkeypatch.undo()
    importlib.reload(gunicorn_conf)


def by_name(findings: list[Finding]) -> dict[str, Finding]:
    return {finding.name: finding for finding in findings}


def test_a_database_url_satisfies_the_database_requirement() -> None:
    findings = by_name(environment_findings({**PRODUCTION, "DATABASE_URL": "postgres://db/keel"}))
    assert all(finding.ok for finding in findings.values())


def test_database_parts_must_all_be_present_without_a_url() -> None:
    parts = {"DATABASE_HOST": "db", "DATABASE_NAME": "keel", "DATABASE_USER": "keel"}
    finding = by_name(environment_findings({**PRODUCTION, **parts}))["database configured"]
    assert not finding.ok
    assert "DATABASE_PASSWORD" in finding.detail
    assert "DATABASE_HOST" not in finding.detail.split("nor", 1)[1]
    complete = by_name(environment_findings({**PRODUCTION, **parts, "DATABASE_PASSWORD": "p"}))
    assert complete["database configured"].ok


def test_an_empty_secret_counts_as_missing() -> None:
    environ = {**PRODUCTION, "SECRET_KEY": "  ", "DATABASE_URL": "postgres://db/keel"}
    finding = by_name(environment_findings(environ))["variable SECRET_KEY is set"]
    assert not finding.ok
    assert "Secrets Manager" in finding.fix


def test_default_timeouts_all_pass() -> None:
    assert all(finding.ok for finding in timeout_findings())


def test_timeouts_are_read_from_gunicorns_effective_configuration(
    reload_gunicorn_conf: pytest.MonkeyPatch,
) -> None:
    reload_gunicorn_conf.setenv("WEB_KEEPALIVE", str(constants.ALB_IDLE_TIMEOUT - 5))
    reload_gunicorn_conf.setenv("WEB_GRACEFUL_TIMEOUT", str(constants.STOP_TIMEOUT + 1))
    importlib.reload(gunicorn_conf)

    findings = by_name(timeout_findings())
    assert not findings["keepalive > ALB idle timeout"].ok
    assert "WEB_KEEPALIVE" in findings["keepalive > ALB idle timeout"].fix
    assert not findings["web graceful timeout < stopTimeout"].ok
    assert findings["deregistration delay < stopTimeout"].ok


@pytest.mark.parametrize(
    ("probes", "expected"),
    [
        (["400", "400", "400"], "answers 400 for an IP Host"),
        (["301 -> https://10.0.0.10/healthz"] * 3, "redirects"),
        (["timeout"] * 3, "longer than 5 s"),
        (["web role exited with status 1"], "did not answer"),
    ],
)
def test_each_health_check_failure_gets_its_own_fix(probes: list[str], expected: str) -> None:
    assert expected in _health_fix(probes)


def test_report_shows_every_fix_and_fails_on_any_failure() -> None:
    report = format_report(
        [
            Finding(name="one", ok=True, detail="fine"),
            Finding(name="two", ok=False, detail="broken", fix="do this\nthen that"),
            Finding(name="three", ok=False, skipped=True, detail="skipped: settings do not load"),
        ]
    )
    assert report.splitlines() == [
        "keel preflight",
        "  PASS  one: fine",
        "  FAIL  two: broken",
        "        fix: do this",
        "        then that",
        "  SKIP  three: skipped: settings do not load",
        "preflight FAILED: 2 of 3 checks did not pass",
    ]


def test_a_sigterm_while_the_web_role_is_being_started_waits_for_the_start_to_finish() -> None:
    """Popen forks, then returns: a SIGTERM in between must not orphan the web role."""
    import os
    import signal

    from keel.runtime.preflight_alb import exit_on_sigterm, sigterm_deferred

    def start_web_role() -> None:
        with sigterm_deferred():
            os.kill(os.getpid(), signal.SIGTERM)
            started.append("web role")

    started: list[str] = []
    previous = signal.signal(signal.SIGTERM, exit_on_sigterm)
    try:
        with pytest.raises(SystemExit) as exited:
            start_web_role()
        assert started == ["web role"]
        assert exited.value.code == 128 + signal.SIGTERM
        # Outside the block a SIGTERM exits at once, as before.
        with pytest.raises(SystemExit):
            os.kill(os.getpid(), signal.SIGTERM)
    finally:
        signal.signal(signal.SIGTERM, previous)
