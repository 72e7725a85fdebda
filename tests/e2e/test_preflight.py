"""``keel preflight`` fails each seeded deploy mistake with a fix, and passes a sound one."""

from __future__ import annotations

import secrets
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from keel import constants
from tests.processes import KEEL, base_environment, run_keel, scratch_database

pytestmark = pytest.mark.e2e

#: Faster than the target group's 10 s; the timeout and thresholds stay the real ones.
INTERVAL = "0.2"


def production_environment(database: dict[str, str], **overrides: str) -> dict[str, str]:
    """What a task definition gives a web task: DEBUG off, HTTPS on, a real secret."""
    if "SQLITE_PATH" in database:
        # A task always names its database; on SQLite runs of the suite, as a URL.
        database = {"DATABASE_URL": f"sqlite:///{database['SQLITE_PATH']}"}
    environment = base_environment(
        **database,
        DJANGO_SETTINGS_MODULE="example.settings",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="app.example.com",
        SECURE_SSL_REDIRECT="true",
        WEB_CONCURRENCY="1",
    )
    environment.pop("SECURE_HSTS_SECONDS", None)
    environment.update(overrides)
    return environment


@pytest.fixture(scope="module")
def deployed_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A database as the migrate task leaves it before a deploy."""
    with scratch_database(tmp_path_factory.mktemp("preflight")) as database:
        migrated = run_keel(["migrate"], production_environment(database))
        assert migrated.returncode == 0, migrated.stdout + migrated.stderr
        yield database


def preflight(environment: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    return run_keel(["preflight", "--interval", INTERVAL, *arguments], environment, timeout=180)


def finding(report: str, status: str, name: str) -> list[str]:
    """Return a report's line for ``name`` with that status, then its fix lines."""
    lines = report.splitlines()
    for index, line in enumerate(lines):
        if line.startswith(f"  {status}  {name}"):
            fix = []
            for entry in lines[index + 1 :]:
                if not entry.startswith("        "):
                    break
                fix.append(entry.strip())
            return [line, *fix]
    raise AssertionError(f"no {status} line for {name!r} in:\n{report}")


def test_preflight_passes_a_production_configuration(deployed_database: dict[str, str]) -> None:
    result = preflight(production_environment(deployed_database))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "FAIL" not in result.stdout
    assert "preflight passed" in result.stdout
    # HTTPS redirect is on, and the ALB's plain-HTTP check with an IP Host still passes.
    health = finding(result.stdout, "PASS", "ALB health check GET /healthz Host: 10.0.0.10")
    assert "200, 200" in health[0]
    assert finding(result.stdout, "PASS", "check --deploy")


def test_preflight_fails_a_health_path_answering_400_for_an_ip_host(
    deployed_database: dict[str, str],
) -> None:
    environment = production_environment(
        deployed_database, DJANGO_SETTINGS_MODULE="tests.preflight_settings_health_late"
    )
    # Under the default asgi server keel's router answers /healthz before Django, so the
    # mistake only bites a project served by gthread (or by Django's own handlers).
    result = preflight(environment, "--server", "wsgi")

    assert result.returncode == 1
    line, fix, *_ = finding(result.stdout, "FAIL", "ALB health check")
    assert line.endswith("unhealthy: the health checker saw 400, 400, 400")
    assert "answers 400 for an IP Host" in fix
    assert "HealthCheckMiddleware first in MIDDLEWARE" in fix


def test_preflight_fails_keepalive_not_above_the_alb_idle_timeout(
    deployed_database: dict[str, str],
) -> None:
    result = preflight(production_environment(deployed_database, WEB_KEEPALIVE="60"))

    assert result.returncode == 1
    line, fix = finding(result.stdout, "FAIL", "keepalive > ALB idle timeout")
    assert "keepalive > ALB idle timeout (60 s > 60 s)" in line
    assert "WEB_KEEPALIVE" in fix
    # Nothing else is wrong with this configuration.
    assert result.stdout.count("  FAIL  ") == 1


def test_preflight_fails_graceful_timeout_not_below_stop_timeout(
    deployed_database: dict[str, str],
) -> None:
    graceful = str(constants.STOP_TIMEOUT)
    result = preflight(production_environment(deployed_database, WEB_GRACEFUL_TIMEOUT=graceful))

    assert result.returncode == 1
    line, fix = finding(result.stdout, "FAIL", "web graceful timeout < stopTimeout")
    assert f"web graceful timeout < stopTimeout ({graceful} s < {graceful} s)" in line
    assert "WEB_GRACEFUL_TIMEOUT" in fix
    assert result.stdout.count("  FAIL  ") == 1


def test_preflight_fails_unapplied_migrations(tmp_path: Path) -> None:
    with scratch_database(tmp_path) as empty:
        result = preflight(production_environment(empty))

    assert result.returncode == 1
    line, fix = finding(result.stdout, "FAIL", "readiness: migrations")
    assert "unapplied migration(s)" in line
    assert "Run `keel migrate`" in fix
    # The database itself is reachable; only its schema is behind.
    assert finding(result.stdout, "PASS", "readiness: database")


def test_preflight_fails_a_missing_secret_key_without_a_traceback(tmp_path: Path) -> None:
    with scratch_database(tmp_path) as database:
        environment = production_environment(database)
        del environment["SECRET_KEY"]
        result = preflight(environment)

    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    line, fix = finding(result.stdout, "FAIL", "variable SECRET_KEY is set")
    assert "SECRET_KEY is missing or empty" in line
    assert "secrets.token_urlsafe" in fix
    settings_line, _ = finding(result.stdout, "FAIL", "settings example.settings load")
    assert "Set the environment variable SECRET_KEY." in settings_line
    assert finding(result.stdout, "SKIP", "ALB health check")


def test_preflight_stops_its_web_role_when_terminated(
    deployed_database: dict[str, str], tmp_path: Path
) -> None:
    """SIGTERM (docker stop, a cancelled CI job) must not leave its web role running."""
    environment = production_environment(deployed_database)
    with (tmp_path / "preflight.log").open("wb") as log:
        process = subprocess.Popen(
            [KEEL, "preflight", "--interval", "30"],
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        children = _wait_for_children(process.pid)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=constants.WEB_GRACEFUL_TIMEOUT + 10) == 128 + signal.SIGTERM
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert children
    # The web role's processes exit with it; a loaded machine may take a moment to reap
    # the last of them (a zombie still has a /proc entry).
    deadline = time.monotonic() + 5
    while (left := [pid for pid in children if Path(f"/proc/{pid}").exists()]) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.05)
    assert not left


def _wait_for_children(pid: int, timeout: float = 30) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        children_file = Path(f"/proc/{pid}/task/{pid}/children")
        children = [int(child) for child in children_file.read_text().split()]
        if children:
            return children
        time.sleep(0.1)
    raise AssertionError("preflight did not start the web role")
