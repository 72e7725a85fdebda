"""SIGTERM (every ECS deploy) lets requests in flight finish, then the process exits."""

from __future__ import annotations

import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from keel.constants import WEB_GRACEFUL_TIMEOUT
from tests.processes import keel_web

pytestmark = pytest.mark.e2e

IN_FLIGHT = 8
REQUEST_SECONDS = 3.0


@pytest.mark.parametrize("server", ["asgi", "wsgi"])
def test_sigterm_completes_requests_in_flight_and_exits_within_graceful_timeout(
    server: str, migrated_environment: dict[str, str], tmp_path: Path
) -> None:
    started = tmp_path / "started"
    started.mkdir()
    environment = {
        **migrated_environment,
        "KEEL_TEST_STARTED_DIR": str(started),
        "WEB_CONCURRENCY": "2",
    }
    with keel_web(environment, server=server, log_dir=tmp_path) as web:
        url = f"{web.url}/test/slow/?seconds={REQUEST_SECONDS}"
        headers = {"Host": "app.example.com"}

        def call(_: int) -> int:
            return httpx.get(url, headers=headers, timeout=WEB_GRACEFUL_TIMEOUT + 10).status_code

        with ThreadPoolExecutor(IN_FLIGHT) as pool:
            futures = [pool.submit(call, index) for index in range(IN_FLIGHT)]
            # Signal only once every request is inside the view.
            deadline = time.monotonic() + 20
            while len(list(started.iterdir())) < IN_FLIGHT:
                assert time.monotonic() < deadline, "requests never reached the view"
                time.sleep(0.02)
            signalled = time.monotonic()
            web.signal(signal.SIGTERM)
            exit_code = web.wait(timeout=WEB_GRACEFUL_TIMEOUT + 10)
            exited_after = time.monotonic() - signalled
            statuses = [future.result() for future in futures]

    assert statuses == [200] * IN_FLIGHT
    assert exit_code == 0
    assert exited_after < WEB_GRACEFUL_TIMEOUT


def test_sigterm_while_workers_are_still_booting_stops_them_promptly(
    migrated_environment: dict[str, str], tmp_path: Path
) -> None:
    """An ECS task stopped right after it started (a deploy rolled back, a scale-in).

    uvloop hands a signal to the worker's handler only while its loop runs: a SIGTERM
    that reached a worker still importing the application was lost, and the master
    waited graceful_timeout before killing the worker.
    """
    environment = {
        **migrated_environment,
        "DJANGO_SETTINGS_MODULE": "tests.settings_slow_boot",
        "WEB_CONCURRENCY": "2",
    }
    with keel_web(environment, server="asgi", log_dir=tmp_path, wait=False) as web:
        deadline = time.monotonic() + 20
        while web.log().count("Booting worker with pid") < 2:
            assert time.monotonic() < deadline, web.log()
            time.sleep(0.05)
        time.sleep(0.5)  # inside the workers' three-second import of the settings
        assert "ASGI server listening" not in web.log()
        signalled = time.monotonic()
        web.signal(signal.SIGTERM)
        assert web.wait(timeout=WEB_GRACEFUL_TIMEOUT + 10) == 0
        stopped_after = time.monotonic() - signalled
    assert stopped_after < 10, f"{stopped_after:.1f} s: the booting workers missed SIGTERM"
    assert web.log().count("Worker exiting") == 2
