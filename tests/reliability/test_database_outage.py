"""A 30 s database outage under load, with runs in progress, and the recovery after it.

A private PostgreSQL server (never the shared one) backs ``keel web`` and ``keel
worker``. Runs of the demo agent are started, then the server is stopped as a crash
would stop it (every connection dropped) for 30 s while a client keeps calling the
health endpoints and the API. One outage, measured once, asserted many ways:

- /healthz stays 200 (the ALB keeps the task), /readyz is 503 (humans and gates see it);
- the API answers 503 JSON with Retry-After, never a 500 or a traceback;
- no process exits; when the server is back everything recovers with no action taken,
  and every run started before the outage ends (succeeded).

Runs in both CI passes: the private server does not depend on DATABASE_URL.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import psycopg
import pytest

from tests.agents.cluster import CREATE_USERS, FINISHED
from tests.capabilities import needs
from tests.processes import KeelProcess, base_environment, keel_web, run_keel
from tests.reliability import postgres
from tests.reliability.postgres import PrivatePostgres, private_postgres

pytestmark = [
    pytest.mark.e2e,
    needs(postgres.available(), "PostgreSQL 15's server binaries, to stop a private server"),
]

OUTAGE = 30.0
HOST = "app.example.com"
USERS = ["ada", "bob"]
RUNS_PER_USER = 3
#: Each run takes ~STEPS x STEP_DELAY s of tool calls: it starts before the outage and
#: cannot finish before it begins.
STEPS = 6
STEP_DELAY = 1.5
#: After the restart, how long everything may take to work again without help.
RECOVERY_LIMIT = 30.0
RUNS_FINISH_LIMIT = 120.0


@dataclass
class Sample:
    sent: float
    received: float
    method: str
    path: str
    status: int | None
    content_type: str = ""
    body: str = ""
    retry_after: str | None = None


@dataclass
class Load:
    """Steady calls to health and the API from one client thread, every response kept."""

    url: str
    token: str
    run_id: str
    samples: list[Sample] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def requests(self) -> list[tuple[str, str, dict[str, object] | None]]:
        return [
            ("GET", "/healthz", None),
            ("GET", "/readyz", None),
            ("GET", "/api/runs/", None),
            ("GET", f"/api/runs/{self.run_id}/", None),
            ("POST", "/api/runs/", {"agent": "demo", "input": {"prompt": "load", "steps": 1}}),
        ]

    def run(self) -> None:
        headers = {"Host": HOST, "Authorization": f"Token {self.token}"}
        with httpx.Client(base_url=self.url, headers=headers, timeout=15) as client:
            while not self.stop.is_set():
                for method, path, body in self.requests():
                    sent = time.monotonic()
                    try:
                        response = client.request(method, path, json=body)
                    except httpx.HTTPError as error:
                        self.samples.append(
                            Sample(sent, time.monotonic(), method, path, None, body=repr(error))
                        )
                        continue
                    self.samples.append(
                        Sample(
                            sent,
                            time.monotonic(),
                            method,
                            path,
                            response.status_code,
                            response.headers.get("content-type", ""),
                            response.text[:500],
                            response.headers.get("Retry-After"),
                        )
                    )
                self.stop.wait(0.1)


@dataclass
class Stack:
    database: PrivatePostgres
    environment: dict[str, str]
    web: KeelProcess
    worker: KeelProcess
    tokens: dict[str, str]

    def client(self, user: str) -> httpx.Client:
        headers = {"Host": HOST, "Authorization": f"Token {self.tokens[user]}"}
        return httpx.Client(base_url=self.web.url, headers=headers, timeout=15)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    log_dir = tmp_path_factory.mktemp("outage")
    with private_postgres() as database:
        with psycopg.connect(database.url(), autocommit=True) as admin:
            admin.execute("CREATE DATABASE keel")
        environment = base_environment(
            DATABASE_URL=database.url("keel"),
            DATABASE_CONN_MAX_AGE="60",
            DATABASE_CONNECT_TIMEOUT="2",
            RUNS_CREATE_RATE="off",
            AGENT_HEARTBEAT_INTERVAL="0.5",
            AGENT_QUEUE_POLLING_INTERVAL="0.05",
            WORKER_GRACEFUL_TIMEOUT="10",
        )
        result = run_keel(["migrate"], environment)
        assert result.returncode == 0, result.stdout + result.stderr
        result = run_keel(
            ["manage", "shell", "-c", CREATE_USERS % ([*USERS, "loader"],)], environment
        )
        assert result.returncode == 0, result.stdout + result.stderr
        tokens = json.loads(result.stdout.strip().splitlines()[-1])
        worker = KeelProcess(
            args=["worker"], environment=environment, log_path=log_dir / "worker.log"
        ).start()
        try:
            with keel_web(environment, log_dir=log_dir) as web:
                deadline = time.monotonic() + 60
                while '"worker started"' not in worker.log():
                    assert worker.process is not None
                    assert worker.process.poll() is None, worker.log()[-3000:]
                    assert time.monotonic() < deadline, worker.log()[-3000:]
                    time.sleep(0.1)
                yield Stack(database, environment, web, worker, tokens)
        finally:
            worker.stop(timeout=20)


def wait_until(condition, timeout: float, message: str) -> float:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, message
        time.sleep(0.1)
    return time.monotonic()


def run_statuses(stack: Stack, runs: list[tuple[str, str]]) -> dict[str, str]:
    statuses = {}
    for user, run_id in runs:
        with stack.client(user) as client:
            statuses[run_id] = client.get(f"/api/runs/{run_id}/").json()["status"]
    return statuses


def test_a_30_second_database_outage_is_survived_and_recovered_without_help(
    stack: Stack,
) -> None:
    runs: list[tuple[str, str]] = []
    for user in USERS:
        with stack.client(user) as client:
            for index in range(RUNS_PER_USER):
                response = client.post(
                    "/api/runs/",
                    json={
                        "agent": "demo",
                        "input": {
                            "prompt": f"outage {index}",
                            "steps": STEPS,
                            "step_delay": STEP_DELAY,
                        },
                    },
                )
                assert response.status_code == 201, response.text
                runs.append((user, response.json()["id"]))
    wait_until(
        lambda: set(run_statuses(stack, runs).values()) == {"running"},
        20,
        "the runs did not all start before the outage",
    )
    load = Load(url=stack.web.url, token=stack.tokens["loader"], run_id=runs[0][1])
    # The loader asks about a run it does not own: 404 when healthy, 503 in the outage.
    loader = threading.Thread(target=load.run, daemon=True)
    loader.start()
    time.sleep(1.0)

    stack.database.stop()
    outage_started = time.monotonic()
    time.sleep(OUTAGE)
    outage_ended = time.monotonic()
    stack.database.start()

    api_back = wait_until(
        lambda: any(
            sample.sent > outage_ended and sample.path == "/api/runs/" and sample.status == 200
            for sample in list(load.samples)
        ),
        RECOVERY_LIMIT,
        "the API did not recover",
    )
    ready_back = wait_until(
        lambda: any(
            sample.sent > outage_ended and sample.path == "/readyz" and sample.status == 200
            for sample in list(load.samples)
        ),
        RECOVERY_LIMIT,
        "/readyz did not recover",
    )
    finished_at = wait_until(
        lambda: set(run_statuses(stack, runs).values()) <= FINISHED,
        RUNS_FINISH_LIMIT,
        f"runs not finished after the outage: {run_statuses(stack, runs)}",
    )
    load.stop.set()
    loader.join(timeout=20)
    samples = list(load.samples)

    # During the outage (requests sent and answered inside it).
    during = [s for s in samples if s.sent > outage_started and s.received < outage_ended]
    by_path: dict[str, list[Sample]] = {}
    for sample in during:
        by_path.setdefault(sample.method + " " + sample.path.split("/api/runs/")[0], []).append(
            sample
        )
    health = [s for s in during if s.path == "/healthz"]
    ready = [s for s in during if s.path == "/readyz"]
    api = [s for s in during if s.path.startswith("/api/")]
    assert len(health) >= 10, len(health)
    assert {s.status for s in health} == {200}
    assert {s.status for s in ready} == {503}
    assert all(json.loads(s.body)["status"] == "not ready" for s in ready)
    assert len(api) >= 30, len(api)
    assert {s.status for s in api} == {503}, [(s.path, s.status, s.body) for s in api]
    for sample in api:
        assert sample.content_type == "application/json"
        assert json.loads(sample.body)["error"] == "database_unavailable"
        assert sample.retry_after is not None
        assert "Traceback" not in sample.body
    # No server error at any time, before, during or after.
    assert not [s for s in samples if s.status is None or (s.status >= 500 and s.status != 503)]

    # No process exited: the gunicorn master, its workers' replacements and the worker.
    for process in (stack.web, stack.worker):
        assert process.process is not None
        assert process.process.poll() is None, process.log()[-3000:]

    statuses = run_statuses(stack, runs)
    assert set(statuses.values()) == {"succeeded"}, statuses
    # And new work runs end to end after the outage.
    with stack.client("ada") as client:
        created = client.post(
            "/api/runs/", json={"agent": "demo", "input": {"prompt": "after", "steps": 1}}
        )
        assert created.status_code == 201, created.text
    wait_until(
        lambda: (
            run_statuses(stack, [("ada", created.json()["id"])])
            == {created.json()["id"]: "succeeded"}
        ),
        30,
        "a run created after the outage did not succeed",
    )
    print(
        f"database outage {OUTAGE:.0f} s: {len(during)} requests during it "
        f"({len(health)} /healthz 200, {len(ready)} /readyz 503, {len(api)} API 503); "
        f"API back {api_back - outage_ended:.1f} s and /readyz back "
        f"{ready_back - outage_ended:.1f} s after the restart; runs finished "
        f"{finished_at - outage_ended:.1f} s after it"
    )
