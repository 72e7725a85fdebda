from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.processes import KeelProcess, keel_web

pytestmark = pytest.mark.e2e

SERVERS = ["asgi", "wsgi"]


@pytest.fixture(scope="module", params=SERVERS)
def web(
    request: pytest.FixtureRequest,
    migrated_environment: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[KeelProcess]:
    """A ``keel web`` process in each server mode, on the shared migrated database.

    Its tests use the demo endpoints as anonymous workloads (streams, errors), so they are
    public here; tests/e2e/test_demo_access.py checks the production default.
    """
    environment = {
        **migrated_environment,
        "SSE_HEARTBEAT_INTERVAL": "0.3",
        "DEMO_ENDPOINTS_PUBLIC": "true",
    }
    log_dir = tmp_path_factory.mktemp(f"web-{request.param}")
    with keel_web(environment, server=request.param, log_dir=log_dir) as process:
        yield process
