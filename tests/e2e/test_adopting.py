"""A team's existing project adopts keel by following docs/adopting.md, as written.

For the oldest and the newest Django keel supports: keel's wheel in a fresh virtual
environment, a project made with ``django-admin startproject`` plus a DRF app of its own,
docs/adopting.md's settings and URL blocks applied and its commands run, then the
project served with ``keel web`` and ``keel worker`` (tests/adopting.py builds it all).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from packaging.version import Version

from tests.adopting import (
    FLAVOURS,
    HOST,
    MIGRATE_STEP,
    Environment,
    adopt,
    build_wheel,
    flavour_range,
    make_environment,
    make_project,
    project_environment,
    run,
    shell_commands,
    supported,
)
from tests.processes import KeelProcess, free_port

# Builds its own environments and databases: the same in every CI phase.
pytestmark = [pytest.mark.e2e, pytest.mark.once]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_wheel(tmp_path_factory)


@dataclass
class Adopted:
    root: Path
    environment: Environment
    web: KeelProcess
    worker: KeelProcess
    init_output: str
    preflight_output: str


@pytest.fixture(scope="module", params=sorted(FLAVOURS))
def adopted(
    request: pytest.FixtureRequest, wheel: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Adopted]:
    directory = tmp_path_factory.mktemp(f"adopt-{request.param}")
    environment = make_environment(wheel, directory, request.param)
    root = make_project(environment, directory)
    adopt(root)
    # A task gets DATABASE_URL or DATABASE_HOST from the stack; here, a file of its own.
    env = project_environment(root, DATABASE_URL=f"sqlite:///{root / 'var' / 'db.sqlite3'}")
    env.pop("SQLITE_PATH")
    assert shell_commands(11) == ["keel init"]
    init = run([environment.keel, "init"], cwd=root, env=env)
    assert init.returncode == 0, init.stderr
    assert shell_commands(MIGRATE_STEP) == ["keel migrate"]
    migrate = run([environment.keel, "migrate"], cwd=root, env=env)
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    assert shell_commands(13) == ["keel preflight"]
    preflight = run([environment.keel, "preflight", "--interval", "0.2"], cwd=root, env=env)
    assert preflight.returncode == 0, preflight.stdout + preflight.stderr
    port = free_port()
    # Plain HTTP on loopback: no ALB in front to say the client used HTTPS.
    serving = {**env, "SECURE_SSL_REDIRECT": "false"}
    web = KeelProcess(
        args=["web", "--bind", f"127.0.0.1:{port}"],
        environment=serving,
        log_path=directory / "web.log",
        port=port,
        keel=environment.keel,
        cwd=root,
    ).start()
    worker = KeelProcess(
        args=["worker"],
        environment=serving,
        log_path=directory / "worker.log",
        keel=environment.keel,
        cwd=root,
    ).start()
    try:
        web.wait_healthy(timeout=60)
        yield Adopted(root, environment, web, worker, init.stdout, preflight.stdout)
    finally:
        web.stop()
        worker.stop()


def test_each_environment_holds_the_django_and_drf_it_stands_for(adopted: Adopted) -> None:
    versions = adopted.environment.versions()
    allowed = flavour_range(adopted.environment.flavour)
    assert all(versions[name] in allowed[name] for name in versions), (versions, allowed)
    if adopted.environment.flavour == "lts":
        # The lowest keel supports: the release series of its own lower bounds (5.2, 3.16).
        for name, version in versions.items():
            [floor] = [spec.version for spec in supported()[name] if spec.operator == ">="]
            assert Version(version).release[:2] == Version(floor).release[:2], (name, version)


def test_keel_init_found_the_project_and_wrote_its_files(adopted: Adopted) -> None:
    assert "settings module   shop.settings (from manage.py)" in adopted.init_output
    assert "WSGI application  shop.wsgi.application" in adopted.init_output
    assert "ASGI application  shop.asgi.application" in adopted.init_output
    for path in ("Dockerfile", ".dockerignore", "infra/__main__.py", "infra/Pulumi.dev.yaml"):
        assert (adopted.root / path).is_file()
    again = run(
        [adopted.environment.keel, "init"], cwd=adopted.root, env=project_environment(adopted.root)
    )
    assert again.returncode == 0
    assert "wrote" not in again.stdout


def test_preflight_is_green_after_the_steps(adopted: Adopted) -> None:
    assert "preflight passed" in adopted.preflight_output
    assert "FAIL" not in adopted.preflight_output


def test_healthz_answers_any_host_and_the_projects_own_api_keeps_host_validation(
    adopted: Adopted,
) -> None:
    url = adopted.web.url
    assert httpx.get(f"{url}/healthz", headers={"Host": "10.1.2.3"}, timeout=10).status_code == 200
    created = httpx.post(
        f"{url}/catalog/products/",
        json={"name": "kettle", "price_cents": 2500},
        headers={"Host": HOST},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    listed = httpx.get(f"{url}/catalog/products/", headers={"Host": HOST}, timeout=10)
    assert [product["name"] for product in listed.json()] == ["kettle"]
    assert (
        httpx.get(
            f"{url}/catalog/products/", headers={"Host": "evil.example.com"}, timeout=10
        ).status_code
        == 400
    )


def test_the_projects_own_streaming_view_streams(adopted: Adopted) -> None:
    url = adopted.web.url
    for name in ("lamp", "rug", "sofa"):
        httpx.post(
            f"{url}/catalog/products/",
            json={"name": name, "price_cents": 1},
            headers={"Host": HOST},
            timeout=10,
        )
    arrivals: list[tuple[float, float]] = []
    with httpx.stream(
        "GET", f"{url}/catalog/export/", headers={"Host": HOST}, timeout=20
    ) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line:
                arrivals.append((time.time(), float(line.split()[1])))
    assert len(arrivals) >= 3
    # Each line reached the client as it was made, not all at the end.
    assert all(arrived - made < 0.3 for arrived, made in arrivals)
    assert arrivals[-1][0] - arrivals[0][0] > 0.7


def test_a_demo_agent_run_streams_over_sse(adopted: Adopted) -> None:
    token = run(
        [adopted.environment.keel, "manage", "create_api_user", "alice"],
        cwd=adopted.root,
        env=project_environment(adopted.root),
    )
    assert token.returncode == 0, token.stderr
    headers = {"Host": HOST, "Authorization": f"Token {token.stdout.strip()}"}
    # The demo streams its first tokens, then spends steps x step_delay seconds in tool
    # calls before the run's final status: that long, by construction, for the first
    # token to reach the client while the run is still going.
    steps, step_delay = 3, 1.0
    created = httpx.post(
        f"{adopted.web.url}/api/runs/",
        json={
            "agent": "demo",
            "input": {"prompt": "hello", "steps": steps, "step_delay": step_delay},
        },
        headers=headers,
        # The first run a web process creates imports the agent modules (pydantic-ai: a few
        # seconds of CPU, many more on a loaded two-core machine); later ones are quick.
        timeout=60,
    )
    assert created.status_code == 201, created.text
    # (type, when the client read it, when the worker stored it), both unix time.
    events: list[tuple[str, float, float]] = []
    with httpx.stream(
        "GET",
        f"{adopted.web.url}/api/runs/{created.json()['id']}/events/",
        headers=headers,
        timeout=60,
    ) as response:
        for line in response.iter_lines():
            if line.startswith("data: "):
                event = json.loads(line[6:])
                stored = datetime.fromisoformat(event["created_at"]).timestamp()
                events.append((event["type"], time.time(), stored))
    types = [kind for kind, _, _ in events]
    assert "token" in types
    assert types.count("tool_call") == steps
    assert types[-1] == "status"
    # Streamed, not buffered: the first token reached the client before the worker had
    # stored the run's final status. A response held back until its end would deliver
    # every event after that one.
    first_token_read = next(read for kind, read, _ in events if kind == "token")
    finished = events[-1][2]
    assert first_token_read < finished, (
        f"first token read {first_token_read - finished:+.2f} s after the run finished"
    )
