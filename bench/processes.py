"""Start servers and workers on loopback ports, read their memory, and end them by PID.

Nothing here signals a process it did not start: a server's workers are found through
/proc from the PID this module spawned, and only those PIDs are ever signalled.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from keel.runtime.preflight_alb import free_loopback_port as free_port  # noqa: F401  (re-exported)

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
RESULTS = REPO / "bench" / "results"
LOGS = RESULTS / "logs"


def run_command(argv: list[str], *, environment: dict[str, str], timeout: float, what: str) -> str:
    """Run ``argv`` from the repository to its end and return its output; raise if it fails.

    The error names ``what`` failed and carries the end of both output streams.
    """
    result = subprocess.run(
        argv,
        env=environment,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{what} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result.stdout


def children(pid: int) -> list[int]:
    """Return the direct children of ``pid`` (empty when it has gone)."""
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError):
                text = Path(f"/proc/{pid}/task/{task}/children").read_text()
                found.extend(int(child) for child in text.split())
    return found


def descendants(pid: int) -> list[int]:
    """Return every process below ``pid``, breadth first."""
    found: list[int] = []
    queue = [pid]
    while queue and len(found) < 1000:
        for child in children(queue.pop(0)):
            found.append(child)
            queue.append(child)
    return found


def stat_cpu_seconds(stat: str, ticks_per_second: int) -> float:
    """CPU seconds (user + system) from the text of /proc/PID/stat.

    The command name (field 2) is in parentheses and may contain spaces, so the fields
    are counted after its closing parenthesis: utime and stime are the 12th and 13th.
    """
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / ticks_per_second


def cpu_seconds(pid: int) -> float | None:
    """CPU seconds ``pid`` has used so far (None when it has gone)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat_cpu_seconds(text, os.sysconf("SC_CLK_TCK"))


def rss_mb(pid: int) -> float | None:
    """Return the resident set size of ``pid`` in MiB from /proc (None when it has gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


@dataclass
class Service:
    """A process (a server or a worker) started by the harness, with its log file."""

    name: str
    argv: list[str]
    environment: dict[str, str]
    port: int | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    started_at: float = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return LOGS / f"{self.name}.log"

    def start(self) -> Service:
        LOGS.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.started_at = time.monotonic()
            self.process = subprocess.Popen(
                self.argv,
                env=self.environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=REPO,
                start_new_session=True,
            )
        return self

    def log_tail(self, characters: int = 3000) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")[-characters:]
        return ""

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_healthy(self, timeout: float = 60.0, path: str = "/healthz") -> float:
        """Poll ``path`` until it answers 200; return seconds since start."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running():
                raise RuntimeError(f"{self.name} exited early:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + path, timeout=1.0) as response:
                    if response.status == 200:
                        return time.monotonic() - self.started_at
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.02)
        raise RuntimeError(f"{self.name} not healthy after {timeout} s:\n{self.log_tail()}")

    def worker_pids(self) -> list[int]:
        assert self.process is not None
        return descendants(self.process.pid)

    def stop(self, grace: float = 3.0) -> None:
        """Ask for a quick shutdown (SIGINT), then SIGKILL this process and its children."""
        if self.process is None:
            return
        pids = [(pid, start_time(pid)) for pid in self.worker_pids()] if self.running() else []
        if self.running():
            os.kill(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        # A worker stuck in a stream can outlive its master; end it by its own PID, and
        # only if that PID still names the same process (same start time).
        deadline = time.monotonic() + grace
        for pid, identity in pids:
            while start_time(pid) == identity and time.monotonic() < deadline:
                time.sleep(0.05)
            if start_time(pid) == identity:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


def start_time(pid: int) -> str | None:
    """Return the kernel's start time of ``pid`` (None when gone or a zombie)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return None if fields[0] == "Z" else fields[19]


@contextlib.contextmanager
def running(services: list[Service], *, health_path: str | None = "/healthz"):  # type: ignore[no-untyped-def]
    """Start ``services``, wait until each answers ``health_path``, stop them all after."""
    try:
        for service in services:
            service.start()
        if health_path is not None:
            for service in services:
                service.wait_healthy(path=health_path)
        yield services
    finally:
        for service in services:
            service.stop()
