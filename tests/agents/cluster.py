"""A keel web process plus workers on one scratch database, for process-level run tests.

Also drops the DBOS system database DBOS created next to a PostgreSQL scratch database.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.processes import (
    KeelProcess,
    base_environment,
    keel_web,
    run_keel,
    scratch_database,
)

FINISHED = {"succeeded", "failed", "cancelled", "timed_out"}

CREATE_USERS = """
import json
from keel.agents.services import api_user_create
print(json.dumps({name: api_user_create(username=name)[1] for name in %r}))
"""


@dataclass
class Cluster:
    environment: dict[str, str]
    web: KeelProcess
    tokens: dict[str, str]
    log_dir: Path
    side_effect_log: Path
    workers: list[KeelProcess] = field(default_factory=list)

    def start_worker(self, timeout: float = 30.0, **overrides: str) -> KeelProcess:
        """Start ``keel worker`` and wait until it has launched DBOS and registered."""
        index = len(self.workers)
        worker = KeelProcess(
            args=["worker"],
            environment={**self.environment, **overrides},
            log_path=self.log_dir / f"worker-{index}.log",
        ).start()
        self.workers.append(worker)
        worker.wait_worker_started(timeout)
        return worker

    def client(self, user: str | None) -> httpx.Client:
        headers = {"Host": "app.example.com"}
        if user is not None:
            headers["Authorization"] = f"Token {self.tokens[user]}"
        return httpx.Client(base_url=self.web.url, headers=headers, timeout=15)

    def create_run(self, user: str, agent: str = "counting", **run_input: Any) -> dict[str, Any]:
        with self.client(user) as api:
            response = api.post("/api/runs/", json={"agent": agent, "input": run_input})
        assert response.status_code == 201, response.text
        return dict(response.json())

    def get_run(self, user: str, run_id: str) -> dict[str, Any]:
        with self.client(user) as api:
            response = api.get(f"/api/runs/{run_id}/")
        assert response.status_code == 200, response.text
        return dict(response.json())

    def wait_runs(
        self, user_runs: list[tuple[str, str]], statuses: set[str] = FINISHED, timeout: float = 60
    ) -> list[dict[str, Any]]:
        """Wait until every (user, run id) reaches one of ``statuses``; return the runs."""
        deadline = time.monotonic() + timeout
        pending = dict.fromkeys(user_runs)
        while True:
            for user, run_id in [key for key, value in pending.items() if value is None]:
                run = self.get_run(user, run_id)
                if run["status"] in statuses:
                    pending[(user, run_id)] = run
            if all(value is not None for value in pending.values()):
                return [run for run in pending.values() if run is not None]
            if time.monotonic() > deadline:
                waiting = [key for key, value in pending.items() if value is None]
                raise AssertionError(f"runs not {statuses} after {timeout} s: {waiting}")
            time.sleep(0.1)

    def side_effects(self) -> Counter[tuple[str, int]]:
        """How many times each (run id, step) tool call ran to its end."""
        if not self.side_effect_log.exists():
            return Counter()
        return Counter((run_id, step) for run_id, step, _ in self.side_effect_lines())

    def started_steps(self) -> set[tuple[str, int]]:
        """The (run id, step) tool calls that have begun, finished or not."""
        started = Path(f"{self.side_effect_log}.started")
        if not started.exists():
            return set()
        return {
            (parts[0], int(parts[1]))
            for parts in (line.split(" ") for line in started.read_text().splitlines())
            if len(parts) == 3 and parts[2]
        }

    def hold(self, step: int | None) -> None:
        """Hold every counting or held run inside its ``step`` tool call (None: release them)."""
        hold = Path(f"{self.side_effect_log}.hold")
        if step is None:
            hold.unlink(missing_ok=True)
            return
        # Written beside and renamed over: a tool call never reads half a number.
        partial = hold.with_suffix(".partial")
        partial.write_text(str(step))
        partial.replace(hold)

    def side_effect_lines(self) -> list[tuple[str, int, float]]:
        """Each completed tool call: run id, step, and when it finished (unix time)."""
        if not self.side_effect_log.exists():
            return []
        lines = []
        for line in self.side_effect_log.read_text().splitlines():
            parts = line.split(" ")
            if len(parts) == 3 and parts[2]:  # a line still being written is skipped
                lines.append((parts[0], int(parts[1]), float(parts[2])))
        return lines

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop(timeout=15)


@contextlib.contextmanager
def cluster(
    tmp_path: Path, *, users: list[str], server: str = "asgi", **overrides: str
) -> Iterator[Cluster]:
    """A migrated scratch database, users with tokens, and ``keel web``; add workers."""
    side_effect_log = tmp_path / "side-effects.log"
    with scratch_database(tmp_path) as database:
        settings = dict(
            **database,
            AGENT_MODULES="keel.agents.demo,tests.agents.counting_agent",
            COUNTING_AGENT_LOG=str(side_effect_log),
            AGENT_HEARTBEAT_INTERVAL="0.5",
            AGENT_EXECUTOR_DEAD_AFTER="3",
            AGENT_EVENT_POLL_INTERVAL="0.02",
            AGENT_QUEUE_POLLING_INTERVAL="0.05",
            SSE_HEARTBEAT_INTERVAL="0.5",
            WORKER_GRACEFUL_TIMEOUT="20",
            DATABASE_CONN_MAX_AGE="60",
            # One web process, warmed below: the first run request in a process imports
            # the agent modules (pydantic-ai), which takes seconds on this machine.
            WEB_CONCURRENCY="1",
        )
        # A test's overrides win over the defaults above.
        environment = base_environment(**{**settings, **overrides})
        result = run_keel(["migrate"], environment)
        assert result.returncode == 0, result.stdout + result.stderr
        result = run_keel(["manage", "shell", "-c", CREATE_USERS % (users,)], environment)
        assert result.returncode == 0, result.stdout + result.stderr
        tokens = json.loads(result.stdout.strip().splitlines()[-1])
        with keel_web(environment, server=server, log_dir=tmp_path) as web:
            running = Cluster(
                environment=environment,
                web=web,
                tokens=tokens,
                log_dir=tmp_path,
                side_effect_log=side_effect_log,
            )
            # The warm-up absorbs that import, so it waits longer than a test's request:
            # with three provider SDKs to load, it once took 15.5 s under CI load.
            with running.client(users[0]) as api:
                warm_up = api.post("/api/runs/", json={"agent": "warm-up"}, timeout=60)
                assert warm_up.status_code == 400, warm_up.text
            try:
                yield running
            finally:
                running.stop()


def read_events(response: httpx.Response, *, stop_after: int | None = None) -> list[dict[str, Any]]:
    """Parse SSE events from a streaming response, optionally stopping at a sequence number."""
    events: list[dict[str, Any]] = []
    fields: dict[str, str] = {}
    for line in response.iter_lines():
        if line == "":
            if "data" in fields:
                events.append({"id": fields.get("id"), **json.loads(fields["data"])})
                if stop_after is not None and events[-1]["sequence"] >= stop_after:
                    return events
            fields = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(": ")
            fields[name] = value
    return events
