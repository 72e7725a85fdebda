"""Start the web role as ECS would and health-check it as the ALB's target group would.

The ALB health checker connects to the task's private IP on the container port and sends
``GET /healthz`` with ``Host: <that IP>`` and no X-Forwarded-* headers. A target is
healthy after ``HEALTH_CHECK_HEALTHY_THRESHOLD`` consecutive answers matching
``HEALTH_CHECK_MATCHER`` within ``HEALTH_CHECK_TIMEOUT`` each, and unhealthy after
``HEALTH_CHECK_UNHEALTHY_THRESHOLD`` consecutive misses. The same numbers configure the
real target group (keel.infra), so a pass here is a pass there.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from keel import constants

#: A private address the health checker puts in the Host header, as the ALB does.
ALB_HOST = "10.0.0.10"
ALB_USER_AGENT = "ELB-HealthChecker/2.0"


@dataclass(kw_only=True)
class HealthCheckOutcome:
    """What the simulated ALB saw: healthy or not, each probe's result, the server log."""

    healthy: bool
    probes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    log_tail: str = ""


def free_loopback_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def probe_once(port: int, *, host: str = ALB_HOST, timeout: float) -> str:
    """Send one ALB-like health check; return the status code or the error's name."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(
            "GET", constants.HEALTH_PATH, headers={"Host": host, "User-Agent": ALB_USER_AGENT}
        )
        response = connection.getresponse()
        response.read()
        location = response.getheader("Location")
        return f"{response.status}" + (f" -> {location}" if location else "")
    except TimeoutError:
        return "timeout"
    except OSError as error:
        return type(error).__name__
    finally:
        connection.close()


def check_target_health(
    port: int, *, process: subprocess.Popen[bytes], interval: float
) -> tuple[bool, list[str], float]:
    """Probe until the thresholds decide; while booting, only HTTP answers count.

    ECS ignores a new task's health for ``HEALTH_CHECK_GRACE_PERIOD`` while it boots, so a
    refused or unanswered connection then is not held against it. An HTTP answer that
    does not match always counts: that is the configuration talking, not the boot.
    """
    started = time.monotonic()
    probes: list[str] = []
    successes = failures = 0
    while True:
        if process.poll() is not None:
            probes.append(f"web role exited with status {process.returncode}")
            return False, probes, time.monotonic() - started
        result = probe_once(port, timeout=constants.HEALTH_CHECK_TIMEOUT)
        answered = result[:1].isdigit()
        in_grace = time.monotonic() - started < constants.HEALTH_CHECK_GRACE_PERIOD
        if not answered and in_grace:
            time.sleep(0.1)
            continue
        probes.append(result)
        if result == constants.HEALTH_CHECK_MATCHER:
            successes, failures = successes + 1, 0
        else:
            successes, failures = 0, failures + 1
        if successes >= constants.HEALTH_CHECK_HEALTHY_THRESHOLD:
            return True, probes, time.monotonic() - started
        if failures >= constants.HEALTH_CHECK_UNHEALTHY_THRESHOLD:
            return False, probes, time.monotonic() - started
        time.sleep(interval)


def run_web_and_check_health(*, server: str, interval: float) -> HealthCheckOutcome:
    """Start ``keel web`` on a free loopback port with this environment and health-check it."""
    port = free_loopback_port()
    log_file = tempfile.NamedTemporaryFile(prefix="keel-preflight-web-", suffix=".log")  # noqa: SIM115
    # The same command the image's CMD runs, bound to loopback instead of 0.0.0.0:$PORT.
    command = [sys.executable, "-m", "keel.runtime.cli", "web", "--server", server]
    command += ["--bind", f"127.0.0.1:{port}"]
    process: subprocess.Popen[bytes] | None = None
    try:
        # A SIGTERM that arrived while Popen had forked but not yet returned would unwind
        # past it and leave the web role running with nobody to stop it.
        with sigterm_deferred():
            process = subprocess.Popen(
                command, env=dict(os.environ), stdout=log_file, stderr=subprocess.STDOUT
            )
        healthy, probes, seconds = check_target_health(port, process=process, interval=interval)
    finally:
        if process is not None:
            _stop(process)
        log_tail = Path(log_file.name).read_text(errors="replace")[-3000:]
        log_file.close()
    return HealthCheckOutcome(healthy=healthy, probes=probes, seconds=seconds, log_tail=log_tail)


def _stop(process: subprocess.Popen[bytes]) -> None:
    with sigterm_deferred():  # a second SIGTERM must not abandon the stop half-way
        if process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=constants.WEB_GRACEFUL_TIMEOUT + 5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


class _SigtermState:
    deferring = 0
    pending: int | None = None


def exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    """SIGTERM handler for ``keel preflight``: exit 128 + signum, unwinding through the
    ``finally`` that stops the web role, unless inside ``sigterm_deferred``."""
    if _SigtermState.deferring:
        _SigtermState.pending = signum
        return
    sys.exit(128 + signum)


@contextlib.contextmanager
def sigterm_deferred() -> Iterator[None]:
    """Hold a SIGTERM that arrives inside the block until the block has ended."""
    _SigtermState.deferring += 1
    try:
        yield
    finally:
        _SigtermState.deferring -= 1
    if not _SigtermState.deferring and _SigtermState.pending is not None:
        signum, _SigtermState.pending = _SigtermState.pending, None
        sys.exit(128 + signum)
