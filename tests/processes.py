"""Start real keel roles on loopback ports, exactly as the container would, and stop them.

Every process started here is ended by its own PID; nothing else is ever signalled.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

# The suite and the benchmark harness pick loopback ports one way; bench.processes needs
# only the standard library and imports nothing of the tests, so tests -> bench stays one-way.
from bench.processes import free_port

REPO = Path(__file__).resolve().parent.parent
KEEL = str(Path(sys.executable).parent / "keel")


def wait_for(
    condition: Callable[[], object],
    timeout: float,
    message: str | Callable[[], str],
    *,
    interval: float = 0.1,
) -> float:
    """Poll ``condition`` until it is true and return when it became so (monotonic).

    After ``timeout`` seconds of false it fails with ``message``; a callable message is
    called then, so it can say what was seen instead. Tests that time what they waited
    for poll at a finer ``interval``.
    """
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(message() if callable(message) else message)
        time.sleep(interval)
    return time.monotonic()


def uv_command() -> list[str]:
    """How to run uv here: on the PATH, else as the module ``make setup`` installs."""
    found = shutil.which("uv")
    return [found] if found else ["python3", "-m", "uv"]


def base_environment(**overrides: str) -> dict[str, str]:
    """The environment a keel container gets in tests: production-like, DEBUG off."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "KEEL_", "PYTEST_"))
        and key != "ECS_CONTAINER_METADATA_URI_V4"
    }
    environment.update(
        {
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "PYTHONPATH": str(REPO),
            "SECRET_KEY": "tests-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
            "ALLOWED_HOSTS": "app.example.com",
            "DEBUG": "false",
            "SECURE_SSL_REDIRECT": "false",
            # One web worker: each costs ~0.7 s of CPU to boot, and the suite starts ~35
            # web processes on two cores. Tests about several workers ask for them.
            "WEB_CONCURRENCY": "1",
            # One worker process for the same reason; tests of several ask for them.
            "WORKER_PROCESSES": "1",
            "WEB_ACCESS_LOG": "true",
            # Warnings are errors in the servers too: Django's "must consume synchronous
            # iterators" warning on a misrouted stream fails the test.
            "PYTHONWARNINGS": "error",
            # A developer's .env (``make run`` writes one) must not leak into the roles
            # under test: they see exactly the environment the test gives them.
            "KEEL_ENV_FILE": "",
        }
    )
    environment.update(overrides)
    return environment


@dataclass
class KeelProcess:
    """A running keel role with its log file."""

    args: list[str]
    environment: dict[str, str]
    log_path: Path
    port: int | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    #: The ``keel`` to run and where: this repository's by default; an adopted project
    #: runs its own virtual environment's, in its own directory.
    keel: str = KEEL
    cwd: Path = REPO

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> KeelProcess:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [self.keel, *self.args],
            env=self.environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.cwd,
            start_new_session=True,
        )
        log.close()
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_logged(self, text: str, timeout: float = 60.0, interval: float = 0.1) -> None:
        """Wait until the process's log contains ``text``; fail if it exits or time runs out."""
        deadline = time.monotonic() + timeout
        while text not in self.log():
            assert self.process is not None
            assert self.process.poll() is None, self.log()[-3000:]
            assert time.monotonic() < deadline, self.log()[-3000:]
            time.sleep(interval)

    def wait_healthy(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"keel {self.args} exited early:\n{self.log()[-4000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200:
                    return
            time.sleep(0.05)
        raise AssertionError(
            f"keel {self.args} not healthy after {timeout} s:\n{self.log()[-4000:]}"
        )

    def wait_worker_started(self, timeout: float = 30.0) -> list[str]:
        """Wait until each of the role's worker processes has launched DBOS and registered
        (``WORKER_PROCESSES`` of them); return their executor ids."""
        import json

        expected = int(self.environment.get("WORKER_PROCESSES", "1"))
        deadline = time.monotonic() + timeout
        while True:
            started = [
                json.loads(line)["executor_id"]
                for line in self.log().splitlines()
                if '"worker started"' in line and line.startswith("{")
            ]
            if len(started) >= expected:
                return started
            assert self.process is not None
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"worker did not start:\n{self.log()[-4000:]}")
            time.sleep(0.05)

    def signal(self, signum: int) -> None:
        assert self.process is not None
        if self.process.poll() is None:
            os.kill(self.process.pid, signum)

    def wait(self, timeout: float) -> int:
        assert self.process is not None
        return self.process.wait(timeout=timeout)

    def stop(self, timeout: float = 40.0) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            return self.process.wait(timeout=10)


@contextlib.contextmanager
def keel_web(
    environment: Mapping[str, str],
    *,
    server: str = "asgi",
    log_dir: Path,
    wait: bool = True,
) -> Iterator[KeelProcess]:
    """Run ``keel web --server SERVER`` on a free loopback port for the block's duration."""
    port = free_port()
    web = KeelProcess(
        args=["web", "--server", server, "--bind", f"127.0.0.1:{port}"],
        environment=dict(environment),
        log_path=log_dir / f"web-{server}-{port}.log",
        port=port,
    ).start()
    try:
        if wait:
            web.wait_healthy()
        yield web
    finally:
        web.stop()


def run_keel(
    args: list[str], environment: Mapping[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [KEEL, *args],
        env=dict(environment),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


# -- databases for process-level tests ------------------------------------------------


def postgres_url() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql://")) else None


@contextlib.contextmanager
def scratch_database(tmp_dir: Path) -> Iterator[dict[str, str]]:
    """Yield environment variables for a fresh, empty database of the suite's kind.

    With ``DATABASE_URL`` pointing at PostgreSQL a new database is created next to it
    and dropped afterwards, with the ``<name>_dbos_sys`` one DBOS creates beside it when
    a worker launches; otherwise a new SQLite file in ``tmp_dir``.
    """
    url = postgres_url()
    if url is None:
        yield {"SQLITE_PATH": str(tmp_dir / f"keel-{uuid.uuid4().hex[:8]}.sqlite3")}
        return
    import psycopg

    from keel.tasks.system_database import POSTGRES_SUFFIX

    name = f"keel_e2e_{uuid.uuid4().hex[:12]}"
    parts = urlsplit(url)
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield {"DATABASE_URL": urlunsplit(parts._replace(path=f"/{name}"))}
    finally:
        with psycopg.connect(url, autocommit=True) as admin:
            for database in (name, f"{name}{POSTGRES_SUFFIX}"):
                admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
