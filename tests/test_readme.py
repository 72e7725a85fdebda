"""README's first minute works as written: ``make run`` in a fresh copy, then the walk-through.

A newcomer clones the repository, runs ``make run``, opens a new shell and pastes the
"Call the API" block. This test does the same: a copy of the repository's files (no
``.venv``, no ``var/``, no ``.env``), ``make run`` on a free port with nothing keel or
Django reads in the environment, then the README's bash block, exactly as written
but for the port, in a shell of its own. It fails if any command in the block fails.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.processes import REPO, free_port

# Builds its own environments and databases: the same in every CI phase.
pytestmark = [pytest.mark.e2e, pytest.mark.once]

README = REPO / "README.md"


def walk_through() -> str:
    """The bash block under "## Call the API", as written."""
    section = README.read_text().split("## Call the API", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.DOTALL)
    assert block is not None, "README's Call the API section has no bash block"
    return block.group(1)


#: What configures keel, Django, a virtual environment or this test run: a new shell has
#: none of it. The machine's own settings (PATH, HOME, certificates, proxies) stay.
NOT_IN_A_NEW_SHELL = ("DJANGO_", "KEEL_", "PYTEST_", "DATABASE_", "AGENT_", "WEB_", "DBOS_")
NOT_IN_A_NEW_SHELL_NAMES = {
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "SQLITE_PATH",
    "VIRTUAL_ENV",
    "PYTHONPATH",
    "ECS_CONTAINER_METADATA_URI_V4",
}


def newcomer_environment() -> dict[str, str]:
    """The environment of a new shell on this machine: nothing keel or the suite set."""
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(NOT_IN_A_NEW_SHELL) and name not in NOT_IN_A_NEW_SHELL_NAMES
    }


def copy_repository(target: Path) -> None:
    """Copy the files git knows (tracked or new), as a fresh clone of this tree would have."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


@contextlib.contextmanager
def make_run(checkout: Path, port: int) -> Iterator[subprocess.Popen[bytes]]:
    log = (checkout / "make-run.log").open("wb")
    process = subprocess.Popen(
        ["make", "run", f"PORT={port}"],
        cwd=checkout,
        env=newcomer_environment(),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 240  # a fresh .venv is built first
        while True:
            assert process.poll() is None, (checkout / "make-run.log").read_text()[-4000:]
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    break
            assert time.monotonic() < deadline, (checkout / "make-run.log").read_text()[-4000:]
            time.sleep(0.5)
        yield process
    finally:
        # make, run-local, the worker and the web server: the session this test started.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        log.close()


def test_the_readme_walk_through_works_after_make_run_in_a_new_shell(tmp_path: Path) -> None:
    checkout = tmp_path / "keel"
    copy_repository(checkout)
    port = free_port()
    with make_run(checkout, port):
        script = walk_through().replace("127.0.0.1:8000", f"127.0.0.1:{port}")
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=checkout,
            env=newcomer_environment(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    events = result.stdout
    assert "event: token" in events
    assert events.count("event: tool_call") == 3
    assert '"status": "succeeded"' in events
    assert (checkout / ".env").read_text().splitlines()[-1] == "DEBUG=true"
