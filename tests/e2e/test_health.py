"""The ALB's health check passes whatever the Host; everything else is still validated."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.processes import (
    KeelProcess,
    base_environment,
    free_port,
    keel_web,
    run_keel,
    scratch_database,
)

pytestmark = pytest.mark.e2e


def get(web: KeelProcess, path: str, host: str, method: str = "GET") -> httpx.Response:
    return httpx.request(method, web.url + path, headers={"Host": host}, timeout=10)


def test_healthz_answers_the_alb_health_checker_addressing_the_task_ip(web: KeelProcess) -> None:
    response = get(web, "/healthz", "10.0.3.17")
    assert response.status_code == 200
    assert response.text == "ok\n"


def test_healthz_answers_an_ipv6_host_with_port(web: KeelProcess) -> None:
    assert get(web, "/healthz", "[fd00::5]:8000").status_code == 200


def test_healthz_answers_head(web: KeelProcess) -> None:
    response = get(web, "/healthz", "10.0.3.17", method="HEAD")
    assert response.status_code == 200
    assert response.content == b""


def test_api_with_a_disallowed_host_is_400_json(web: KeelProcess) -> None:
    response = get(web, "/api/ping/", "10.0.3.17")
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"


@pytest.mark.parametrize("path", ["/healthz/", "/healthz?x=1/", "/HEALTHZ", "/readyz"])
def test_only_the_exact_health_path_bypasses_host_validation(web: KeelProcess, path: str) -> None:
    if "?" in path:
        # The query string is not part of the path: /healthz?x=1 is still /healthz.
        assert get(web, path, "10.0.3.17").status_code == 200
    else:
        assert get(web, path, "10.0.3.17").status_code == 400


def test_readyz_reports_each_check_when_ready(web: KeelProcess) -> None:
    response = get(web, "/readyz", "app.example.com")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["migrations"]["ok"] is True
    assert isinstance(body["checks"]["database"]["duration_ms"], float)


@pytest.mark.parametrize("server", ["asgi", "wsgi"])
def test_database_unreachable_keeps_healthz_200_and_makes_readyz_503(
    server: str, tmp_path: Path
) -> None:
    closed_port = free_port()
    secret_url = f"postgres://keel:hunter2-secret@127.0.0.1:{closed_port}/keel"
    environment = base_environment(DATABASE_URL=secret_url)
    with keel_web(environment, server=server, log_dir=tmp_path) as web:
        assert get(web, "/healthz", "10.0.3.17").status_code == 200
        response = get(web, "/readyz", "app.example.com")
        assert response.status_code == 503
        body = response.json()
        assert body["checks"]["database"]["ok"] is False
        assert body["checks"]["database"]["error"] == "OperationalError"
        assert "hunter2" not in response.text
        assert str(closed_port) not in response.text


@pytest.mark.parametrize("server", ["asgi", "wsgi"])
def test_unapplied_migrations_make_readyz_503(server: str, tmp_path: Path) -> None:
    with scratch_database(tmp_path) as database:
        environment = base_environment(**database)
        with keel_web(environment, server=server, log_dir=tmp_path) as web:
            response = get(web, "/readyz", "app.example.com")
            assert response.status_code == 503
            checks = response.json()["checks"]
            assert checks["database"]["ok"] is True
            assert checks["migrations"]["ok"] is False
            assert "keel migrate" in checks["migrations"]["error"]
            result = run_keel(["migrate"], environment)
            assert result.returncode == 0, result.stdout + result.stderr
            assert get(web, "/readyz", "app.example.com").status_code == 200


def test_healthz_does_not_queue_behind_a_busy_api_pool(
    migrated_environment: dict[str, str], tmp_path: Path
) -> None:
    environment = {**migrated_environment, "WEB_CONCURRENCY": "1", "WEB_THREADS": "1"}
    with (
        keel_web(environment, server="asgi", log_dir=tmp_path) as web,
        httpx.Client(timeout=15) as client,
        ThreadPoolExecutor(1) as pool,
    ):
        busy = pool.submit(
            client.get, f"{web.url}/test/slow/?seconds=4", headers={"Host": "app.example.com"}
        )
        time.sleep(0.5)  # the pool's only thread is now inside the slow view
        started = time.monotonic()
        response = httpx.get(f"{web.url}/healthz", headers={"Host": "10.0.3.17"}, timeout=10)
        waited = time.monotonic() - started
        assert busy.result().status_code == 200
    assert response.status_code == 200
    # Through the pool it would wait for the slow request (~3.5 s more).
    assert waited < 2.0
