"""keel's web and worker roles on one migrated database, with an API user: for run benchmarks.

``keel web`` runs in its default configuration (``--server asgi``, 2 workers) and one
``keel worker`` runs the demo agent, both with keel's defaults except the per-user run
creation rate, which is off so the benchmark's bursts are not answered 429.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass

from bench.environment import base_environment
from bench.processes import BIN, Service, free_port, run_command

USER = "bench-streams"
#: Printed by ``keel worker`` once DBOS has launched and the run queue is registered.
WORKER_READY = '"worker started"'

CREATE_USER = """
from keel.agents.services import api_user_create
print(api_user_create(username=%r)[1])
"""


@dataclass(frozen=True, kw_only=True)
class Cluster:
    web: Service
    worker: Service
    token: str
    worker_ready_s: float


def api_token(environment: dict[str, str], username: str = USER) -> str:
    """Create (or reuse) an API user and return its token key."""
    output = run_command(
        [str(BIN / "keel"), "manage", "shell", "-c", CREATE_USER % username],
        environment=environment,
        timeout=120,
        what="creating the API user",
    )
    return output.strip().splitlines()[-1]


def worker_service(name: str, environment: dict[str, str]) -> Service:
    # INFO so the worker's "worker started" line reaches its log.
    return Service(
        name=name,
        argv=[str(BIN / "keel"), "worker"],
        environment={**environment, "LOG_LEVEL": "INFO"},
    )


def wait_worker_ready(worker: Service, timeout: float = 60.0) -> float:
    """Wait for the worker's start-up line; return seconds since the process started.

    The log is appended to, so ``worker`` must have a name no earlier process used.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if WORKER_READY in worker.log_tail(characters=1_000_000):
            return time.monotonic() - worker.started_at
        if not worker.running():
            raise RuntimeError(f"{worker.name} exited early:\n{worker.log_tail()}")
        time.sleep(0.02)
    raise RuntimeError(f"{worker.name} not ready after {timeout} s:\n{worker.log_tail()}")


@contextlib.contextmanager
def keel_cluster(label: str, database: dict[str, str]) -> Iterator[Cluster]:
    """Run ``keel web`` (default server) and one ``keel worker`` on ``database``."""
    environment = base_environment(RUNS_CREATE_RATE="off", **database)
    port = free_port()
    web = Service(
        name=f"runs-web-{label}-{port}",
        argv=[str(BIN / "keel"), "web", "--bind", f"127.0.0.1:{port}"],
        environment=environment,
        port=port,
    )
    worker = worker_service(f"runs-worker-{label}-{port}", environment)
    try:
        web.start()
        worker.start()
        # While both roles start up.
        token = api_token(environment)
        web.wait_healthy()
        ready = wait_worker_ready(worker)
        yield Cluster(web=web, worker=worker, token=token, worker_ready_s=ready)
    finally:
        worker.stop(grace=10.0)
        web.stop()
