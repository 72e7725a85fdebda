"""On ECS the task's private IPs are allowed hosts, learnt from the metadata endpoint at start-up."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.fake_ecs import fake_metadata_server, task_document
from tests.processes import keel_web

pytestmark = pytest.mark.e2e

#: These tests call /api/ping/ anonymously to see which hosts pass host validation; it
#: answers anonymous callers where the demo endpoints are public.
PUBLIC_PING = {"DEMO_ENDPOINTS_PUBLIC": "true"}


@pytest.mark.parametrize("server", ["asgi", "wsgi"])
def test_task_private_ip_is_an_allowed_host(
    server: str, migrated_environment: dict[str, str], tmp_path: Path
) -> None:
    document = task_document("10.0.3.17", ipv6=("fd00::5",))
    with fake_metadata_server(document=document) as uri:
        environment = {**migrated_environment, "ECS_CONTAINER_METADATA_URI_V4": uri, **PUBLIC_PING}
        with keel_web(environment, server=server, log_dir=tmp_path) as web:
            by_ip = httpx.get(f"{web.url}/api/ping/", headers={"Host": "10.0.3.17"}, timeout=10)
            by_ipv6 = httpx.get(
                f"{web.url}/api/ping/", headers={"Host": "[fd00::5]:8000"}, timeout=10
            )
            other = httpx.get(f"{web.url}/api/ping/", headers={"Host": "10.0.3.18"}, timeout=10)
    assert by_ip.status_code == 200
    assert by_ipv6.status_code == 200
    assert other.status_code == 400


def test_broken_metadata_endpoint_does_not_stop_start_up(
    migrated_environment: dict[str, str], tmp_path: Path
) -> None:
    with fake_metadata_server(body=b"{broken", status=500) as uri:
        environment = {**migrated_environment, "ECS_CONTAINER_METADATA_URI_V4": uri, **PUBLIC_PING}
        with keel_web(environment, server="asgi", log_dir=tmp_path) as web:
            assert httpx.get(f"{web.url}/healthz", timeout=10).status_code == 200
            assert "ECS task metadata unavailable" in web.log()


def test_the_endpoint_is_read_once_per_start_whatever_the_worker_count(
    migrated_environment: dict[str, str], tmp_path: Path
) -> None:
    # No WEB_CONCURRENCY: the worker count comes from the task's CPU limit (2 here). The
    # start-up check, gunicorn's master and both workers all need the document.
    requests: list[str] = []
    document = task_document("10.0.3.17", cpu=2.0)
    with fake_metadata_server(document=document, requests=requests) as uri:
        environment = {**migrated_environment, "ECS_CONTAINER_METADATA_URI_V4": uri, **PUBLIC_PING}
        del environment["WEB_CONCURRENCY"]
        with keel_web(environment, server="asgi", log_dir=tmp_path) as web:
            by_ip = httpx.get(f"{web.url}/api/ping/", headers={"Host": "10.0.3.17"}, timeout=10)
            assert "with 2 worker(s)" in web.log()
    assert by_ip.status_code == 200
    assert requests == ["/v4/abc/task"]
