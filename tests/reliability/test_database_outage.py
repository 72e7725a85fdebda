"""Database outages under load, with runs in progress, and the recovery after them.

A private PostgreSQL server (never the shared one) backs ``keel web`` and ``keel
worker``, while a client keeps calling the health endpoints and the API. Two outages:

- the server stopped as a crash would stop it (every connection dropped) for 30 s, with
  runs in progress: /healthz stays 200 (the ALB keeps the task), /readyz is 503, the API
  answers 503 JSON with Retry-After, never a 500 or a traceback; no process exits; when
  the server is back everything recovers with no action taken, and every run started
  before the outage ends (succeeded);
- only the DBOS system database refusing connections for 10 s: keel's own tables still
  answer, so a new run is recorded and answered 201, and runs once DBOS is back.

In both, every request that overlapped the outage is answered within keel's documented
bound (``keel.constants``; docs/operations.md), and no run the API accepted is lost.

Runs in both CI passes: the private server does not depend on DATABASE_URL.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import psycopg
import pytest

from tests.agents.cluster import CREATE_USERS, FINISHED
from tests.capabilities import needs
from tests.processes import KeelProcess, base_environment, keel_web, run_keel, wait_for
from tests.reliability import postgres
from tests.reliability.outage_load import HOST, Load, Sample, late_answers, slowest
from tests.reliability.postgres import PrivatePostgres, private_postgres

pytestmark = [
    pytest.mark.e2e,
    needs(postgres.available(), "PostgreSQL 15's server binaries, to stop a private server"),
]

OUTAGE = 30.0
USERS = ["ada", "bob"]
RUNS_PER_USER = 3
#: Each run takes ~STEPS x STEP_DELAY s of tool calls: it starts before the outage and
#: cannot finish before it begins.
STEPS = 6
STEP_DELAY = 1.5
#: After the restart, how long everything may take to work again without help.
RECOVERY_LIMIT = 30.0
RUNS_FINISH_LIMIT = 120.0
#: The second outage: only DBOS's database refuses connections, this long.
SYSTEM_DATABASE_OUTAGE = 10.0
#: DBOS's system database beside ``keel`` (keel.tasks.system_database.POSTGRES_SUFFIX).
SYSTEM_DATABASE = "keel_dbos_sys"


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
            RUNS_CREATE_RATE="off",
            # Runs recorded while DBOS was away are handed over by the sweep this soon.
            AGENT_ENQUEUE_GRACE="3",
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
                worker.wait_logged('"worker started"')
                yield Stack(database, environment, web, worker, tokens)
        finally:
            worker.stop(timeout=20)


def run_statuses(stack: Stack, runs: list[tuple[str, str]]) -> dict[str, str]:
    statuses = {}
    for user, run_id in runs:
        with stack.client(user) as client:
            response = client.get(f"/api/runs/{run_id}/")
            statuses[run_id] = response.json().get("status", f"HTTP {response.status_code}")
    return statuses


def ready(stack: Stack) -> bool:
    with stack.client("loader") as client:
        return client.get("/readyz").status_code == 200


@contextlib.contextmanager
def load_running(stack: Stack, run_id: str) -> Iterator[Load]:
    """Run the loader; it asks about ``run_id``, which it does not own (404, or 503)."""
    load = Load(url=stack.web.url, token=stack.tokens["loader"], run_id=run_id)
    loader = threading.Thread(target=load.run, daemon=True)
    loader.start()
    try:
        time.sleep(1.0)
        yield load
    finally:
        load.stop.set()
        loader.join(timeout=20)


def assert_no_server_error(samples: list[Sample]) -> None:
    assert not [s for s in samples if s.status is None or (s.status >= 500 and s.status != 503)]


def accepted_runs_end(stack: Stack, load: Load) -> dict[str, str]:
    """Nothing the API accepted is lost: every run the loader was given an id for ends.

    Return each run's final status.
    """
    runs = [("loader", run_id) for run_id in load.created_runs()]
    deadline = time.monotonic() + RUNS_FINISH_LIMIT
    statuses = run_statuses(stack, runs)
    while not set(statuses.values()) <= FINISHED and time.monotonic() < deadline:
        time.sleep(0.5)
        statuses = run_statuses(stack, runs)
    unfinished = {run_id: status for run_id, status in statuses.items() if status not in FINISHED}
    assert not unfinished, (
        f"{len(unfinished)} of {len(runs)} accepted runs never ended: {unfinished}"
    )
    return statuses


def assert_processes_alive(stack: Stack) -> None:
    """No process exited: the gunicorn master, its workers' replacements and the worker."""
    for process in (stack.web, stack.worker):
        assert process.process is not None
        assert process.process.poll() is None, process.log()[-3000:]


def test_a_30_second_database_outage_is_survived_and_recovered_without_help(
    stack: Stack,
) -> None:
    wait_for(lambda: ready(stack), RECOVERY_LIMIT, "the stack is not ready")
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
    wait_for(
        lambda: set(run_statuses(stack, runs).values()) == {"running"},
        20,
        "the runs did not all start before the outage",
    )
    with load_running(stack, run_id=runs[0][1]) as load:
        stack.database.stop()
        outage_started = time.monotonic()
        time.sleep(OUTAGE)
        outage_ended = time.monotonic()
        stack.database.start()

        api_back = wait_for(
            lambda: any(
                s.sent > outage_ended and s.path == "/api/runs/" and s.status == 200
                for s in list(load.samples)
            ),
            RECOVERY_LIMIT,
            "the API did not recover",
        )
        ready_back = wait_for(
            lambda: any(
                s.sent > outage_ended and s.path == "/readyz" and s.status == 200
                for s in list(load.samples)
            ),
            RECOVERY_LIMIT,
            "/readyz did not recover",
        )
        finished_at = wait_for(
            lambda: set(run_statuses(stack, runs).values()) <= FINISHED,
            RUNS_FINISH_LIMIT,
            lambda: f"runs not finished after the outage: {run_statuses(stack, runs)}",
        )
    samples = list(load.samples)

    # Every request that overlapped the outage, even one sent just before the stop, was
    # answered within the bound.
    assert late_answers(samples, outage_started, outage_ended) == []
    # Requests sent after the server stopped and answered before it started.
    during = [s for s in samples if s.sent > outage_started and s.received < outage_ended]
    health = [s for s in during if s.path == "/healthz"]
    ready_answers = [s for s in during if s.path == "/readyz"]
    api = [s for s in during if s.path.startswith("/api/")]
    assert len(health) >= 10, len(health)
    assert {s.status for s in health} == {200}
    assert {s.status for s in ready_answers} == {503}
    assert all(json.loads(s.body)["status"] == "not ready" for s in ready_answers)
    assert len(api) >= 30, len(api)
    assert {s.status for s in api} == {503}, [(s.path, s.status, s.body) for s in api]
    for sample in api:
        assert sample.content_type == "application/json"
        assert json.loads(sample.body)["error"] == "database_unavailable"
        assert sample.retry_after is not None
        assert "Traceback" not in sample.body
    assert_no_server_error(samples)
    assert_processes_alive(stack)

    statuses = run_statuses(stack, runs)
    assert set(statuses.values()) == {"succeeded"}, statuses
    # Nothing the API accepted was lost, in flight when the server died or not.
    loader_statuses = Counter(accepted_runs_end(stack, load).values())
    assert set(loader_statuses) == {"succeeded"}, loader_statuses
    # And new work runs end to end after the outage.
    with stack.client("ada") as client:
        created = client.post(
            "/api/runs/", json={"agent": "demo", "input": {"prompt": "after", "steps": 1}}
        )
        assert created.status_code == 201, created.text
    wait_for(
        lambda: (
            run_statuses(stack, [("ada", created.json()["id"])])
            == {created.json()["id"]: "succeeded"}
        ),
        30,
        "a run created after the outage did not succeed",
    )
    print(
        f"database outage {OUTAGE:.0f} s: {len(during)} requests during it "
        f"({len(health)} /healthz 200, {len(ready_answers)} /readyz 503, {len(api)} API 503); "
        f"slowest answers {slowest(samples, outage_started, outage_ended)}; "
        f"API back {api_back - outage_ended:.1f} s and /readyz back "
        f"{ready_back - outage_ended:.1f} s after the restart; runs finished "
        f"{finished_at - outage_ended:.1f} s after it; the loader's runs: {dict(loader_statuses)}"
    )


def system_database_refuses(stack: Stack, refuse: bool) -> None:
    """Make DBOS's database refuse connections (dropping those open), or accept them again.

    Keel's own database on the same server keeps answering: a request gets past its
    token and records its run, and only the hand-off to DBOS meets the outage.
    """
    with psycopg.connect(stack.database.url(), autocommit=True) as admin:
        admin.execute(
            f"ALTER DATABASE {SYSTEM_DATABASE} WITH ALLOW_CONNECTIONS {str(not refuse).lower()}"
        )
        if refuse:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                [SYSTEM_DATABASE],
            )


def test_while_the_dbos_system_database_refuses_connections_runs_are_accepted_and_run_later(
    stack: Stack,
) -> None:
    wait_for(lambda: ready(stack), RECOVERY_LIMIT, "the stack is not ready")
    with stack.client("ada") as client:
        created = client.post(
            "/api/runs/", json={"agent": "demo", "input": {"prompt": "other's", "steps": 1}}
        )
        assert created.status_code == 201, created.text
    with load_running(stack, run_id=created.json()["id"]) as load:
        system_database_refuses(stack, True)
        outage_started = time.monotonic()
        try:
            time.sleep(SYSTEM_DATABASE_OUTAGE)
        finally:
            outage_ended = time.monotonic()
            system_database_refuses(stack, False)
        ready_back = wait_for(
            lambda: any(
                s.sent > outage_ended and s.path == "/readyz" and s.status == 200
                for s in list(load.samples)
            ),
            RECOVERY_LIMIT,
            "/readyz did not recover",
        )
    samples = list(load.samples)

    assert late_answers(samples, outage_started, outage_ended) == []
    during = [s for s in samples if s.sent > outage_started and s.received < outage_ended]
    assert {s.status for s in during if s.path == "/healthz"} == {200}
    ready_answers = [s for s in during if s.path == "/readyz"]
    assert {s.status for s in ready_answers} == {503}
    for sample in ready_answers:
        checks = json.loads(sample.body)["checks"]
        assert checks["database"]["ok"], checks
        assert checks["migrations"]["ok"], checks
        assert checks["dbos"] == {**checks["dbos"], "ok": False, "error": "OperationalError"}
    posts = [s for s in during if s.method == "POST"]
    assert len(posts) >= 5, len(posts)
    # Recorded, so accepted: queued until the sweep hands them to DBOS.
    assert {s.status for s in posts} == {201}, [(s.status, s.body) for s in posts]
    assert all(json.loads(s.body)["status"] == "queued" for s in posts)
    assert {s.status for s in during if s.path == "/api/runs/" and s.method == "GET"} == {200}
    assert {s.status for s in during if s.path.endswith(f"{created.json()['id']}/")} == {404}
    assert_no_server_error(samples)
    assert_processes_alive(stack)

    started = time.monotonic()
    # Nothing in flight died here: every accepted run, those recorded while DBOS refused
    # included, succeeds.
    assert set(accepted_runs_end(stack, load).values()) == {"succeeded"}
    print(
        f"system database refusing {SYSTEM_DATABASE_OUTAGE:.0f} s: {len(during)} requests "
        f"during it, {len(posts)} runs accepted; slowest answers "
        f"{slowest(samples, outage_started, outage_ended)}; /readyz back "
        f"{ready_back - outage_ended:.1f} s after; every accepted run succeeded "
        f"{time.monotonic() - outage_ended:.1f} s after "
        f"(waited {time.monotonic() - started:.1f} s)"
    )
