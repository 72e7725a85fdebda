"""A private PostgreSQL server for fault-injection tests: ours to stop, never the shared one.

initdb into a fresh directory, serve on a free loopback port, stop and start at will,
and delete everything at the end. PostgreSQL refuses to run as root, so as root the
server runs as the ``postgres`` user (the data directory is handed to it).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.processes import free_port

BIN = Path(os.environ.get("KEEL_TEST_POSTGRES_BIN", "/usr/lib/postgresql/15/bin"))
OWNER = "postgres"


def available() -> bool:
    return (BIN / "initdb").exists() and (os.geteuid() != 0 or _user_exists(OWNER))


def _user_exists(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


@dataclass
class PrivatePostgres:
    directory: Path
    port: int

    @property
    def data(self) -> Path:
        return self.directory / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str, timeout: float = 60) -> None:
        command = [str(BIN / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", OWNER, "--", *command]
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, check=False
        )
        assert result.returncode == 0, f"{args[0]} failed:\n{result.stdout}\n{result.stderr}"

    def initdb(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")

    def start(self) -> None:
        # fsync off: a stopped server's writes are in the OS's page cache, which survives
        # (only the machine crashing would lose them). synchronous_commit stays on, as on
        # any production server: off, a commit is acknowledged before its WAL is even
        # written, so the immediate stop lost commits the clients had been told of (a
        # run answered 201 that then did not exist, DBOS's record of which process owns
        # a workflow rolled back), which tests the test server, not keel.
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 "
            f"-c unix_socket_directories={self.directory} -c fsync=off "
            "-c full_page_writes=off -c max_connections=200"
        )
        self._run(
            "pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.log_path), "-w", "start"
        )

    def stop(self, mode: str = "immediate") -> None:
        """Stop the server; ``immediate`` drops every connection at once, like a crash."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def require_password(self, role: str) -> None:
        """Make TCP connections of ``role`` authenticate with its password (SCRAM).

        The server is initialised with trust for everyone (the suite's admin connections);
        the rule for ``role`` goes first, so only that role's logins check a password.
        """
        hba = self.data / "pg_hba.conf"
        rule = f"host all {role} 127.0.0.1/32 scram-sha-256\n"
        hba.write_text(rule + hba.read_text())
        self._run("pg_ctl", "-D", str(self.data), "reload")

    @property
    def log_path(self) -> Path:
        return self.directory / "postgres.log"


@contextlib.contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """Yield a running private server; stop it and delete its files afterwards."""
    # Not under pytest's tmp_path: that is private to root, and the server runs as postgres.
    directory = Path(tempfile.mkdtemp(prefix="keel-private-pg-"))
    if os.geteuid() == 0:
        shutil.chown(directory, user=OWNER, group=OWNER)
    server = PrivatePostgres(directory=directory, port=free_port())
    try:
        server.initdb()
        server.start()
        yield server
    finally:
        if (server.data / "postmaster.pid").exists():
            with contextlib.suppress(AssertionError, subprocess.TimeoutExpired):
                server.stop()
        shutil.rmtree(directory, ignore_errors=True)
