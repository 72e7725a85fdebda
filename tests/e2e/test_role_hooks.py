"""``keel worker`` and ``keel migrate`` run what the installed apps provide, knowing no app.

A test app records every hook call in a file; the real roles run as the container runs
them, and the file shows what they called, in what order, with what time budget.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from tests.processes import KeelProcess, base_environment, run_keel

pytestmark = pytest.mark.e2e


def hooks_environment(tmp_path: Path, **overrides: str) -> dict[str, str]:
    return base_environment(
        DJANGO_SETTINGS_MODULE="tests.settings_hooks",
        SQLITE_PATH=str(tmp_path / "hooks.sqlite3"),
        KEEL_TEST_HOOKS_LOG=str(tmp_path / "hooks.log"),
        **overrides,
    )


def calls(tmp_path: Path) -> list[str]:
    log = tmp_path / "hooks.log"
    return log.read_text().splitlines() if log.exists() else []


def run_worker_until_stopped(tmp_path: Path, **overrides: str) -> tuple[int, list[str], str]:
    worker = KeelProcess(
        args=["worker"],
        environment=hooks_environment(tmp_path, **overrides),
        log_path=tmp_path / "worker.log",
    ).start()
    try:
        deadline = time.monotonic() + 30
        while "ready" not in calls(tmp_path):
            assert worker.process is not None
            assert worker.process.poll() is None, worker.log()
            assert time.monotonic() < deadline, worker.log()
            time.sleep(0.05)
        worker.signal(signal.SIGTERM)
        status = worker.wait(timeout=30)
    finally:
        worker.stop()
    return status, calls(tmp_path), worker.log()


def test_the_worker_drains_every_apps_service_on_sigterm(tmp_path: Path) -> None:
    status, made, log = run_worker_until_stopped(tmp_path, WORKER_GRACEFUL_TIMEOUT="7")
    assert status == 0, log
    # Started in INSTALLED_APPS order; intake stopped everywhere before anything drains;
    # the graceful timeout shared out; closed in reverse order.
    assert made[:3] == ["first start", "ready", "second start"]
    assert made[3:5] == ["first stop_intake", "second stop_intake"]
    first_drain, second_drain = made[5].split(), made[6].split()
    assert first_drain[:2] == ["first", "drain"]
    assert 6.0 <= float(first_drain[2]) <= 7.0
    assert second_drain[:2] == ["second", "drain"]
    assert made[7:] == ["second close", "first close"]
    assert '"worker stopped"' in log


def test_a_drain_past_the_graceful_timeout_still_closes_and_exits(tmp_path: Path) -> None:
    status, made, log = run_worker_until_stopped(
        tmp_path, WORKER_GRACEFUL_TIMEOUT="1", KEEL_TEST_DRAIN_SECONDS="5"
    )
    assert status == 0, log
    assert made[-2:] == ["second close", "first close"]
    # The second service gets what the first left of the budget: nothing.
    assert made[6] == "second drain 0.0"
    assert '"worker stopped at the graceful timeout"' in log


def test_a_worker_with_nothing_to_run_says_so(tmp_path: Path) -> None:
    result = run_keel(["worker"], hooks_environment(tmp_path, KEEL_TEST_NO_HOOKS="1"))
    assert result.returncode == 2
    assert "keel worker: configuration error: no installed app provides a worker service" in (
        result.stderr
    )
    # The app that provides one, not one that only contributes work to it (keel.agents).
    assert "add keel.tasks to INSTALLED_APPS" in result.stderr


def test_migrate_calls_each_apps_hook_after_djangos_migrations(tmp_path: Path) -> None:
    result = run_keel(["migrate"], hooks_environment(tmp_path))
    assert result.returncode == 0, result.stderr
    assert calls(tmp_path) == ["first migrate"]
    assert "first app migrated" in result.stdout + result.stderr
