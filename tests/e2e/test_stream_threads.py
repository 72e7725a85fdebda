"""Open streams cost a coroutine, not a thread, and a burst of connects finds a real queue.

A real ``keel web`` (default server, one worker, ``WEB_THREADS=2``): forty open streams
leave the worker's thread count where two streams left it (Django's ASGI handler alone
starts a thread per stream and keeps it while the stream is open), every stream still
ticks, and the listening socket's backlog is ``WEB_BACKLOG`` rather than the event loop's
default of 100 (keel.runtime.web.gunicorn_worker).
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.capabilities import needs
from tests.processes import KeelProcess, base_environment, keel_web

pytestmark = pytest.mark.e2e

STREAMS = 40
BACKLOG = 777
LONG = "/demo/stream/?count=1000&interval=0.2"


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KeelProcess]:
    environment = base_environment(
        WEB_CONCURRENCY="1",
        WEB_THREADS="2",
        WEB_BACKLOG=str(BACKLOG),
        DEMO_ENDPOINTS_PUBLIC="true",
        SSE_MAX_STREAMS_PER_ADDRESS="0",
    )
    with keel_web(environment, log_dir=tmp_path_factory.mktemp("stream-threads")) as web:
        yield web


def worker_pid(web: KeelProcess) -> int:
    """The one web worker: the gunicorn master's only child."""
    assert web.process is not None
    master = web.process.pid
    (pid,) = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return int(pid)


def threads(pid: int) -> int:
    return len(list(Path(f"/proc/{pid}/task").iterdir()))


@contextlib.contextmanager
def open_streams(web: KeelProcess, count: int) -> Iterator[list[Iterator[str]]]:
    """Open ``count`` streams, each read up to its first tick; yield their line iterators."""
    with contextlib.ExitStack() as stack:
        clients = [
            stack.enter_context(httpx.Client(base_url=web.url, timeout=10)) for _ in range(count)
        ]
        responses = [
            stack.enter_context(client.stream("GET", LONG, headers={"Host": "app.example.com"}))
            for client in clients
        ]
        assert [response.status_code for response in responses] == [200] * count
        streams = [response.iter_lines() for response in responses]
        for lines in streams:
            next_tick(lines)
        yield streams


def next_tick(lines: Iterator[str]) -> None:
    while not next(lines).startswith("data:"):
        pass


def test_forty_open_streams_hold_no_thread_each(web: KeelProcess) -> None:
    pid = worker_pid(web)
    with open_streams(web, 2):
        # Both stream executors (WEB_THREADS=2) may have started by now.
        with_two = threads(pid)
    with open_streams(web, STREAMS) as streams:
        with_forty = threads(pid)
        # Every stream keeps ticking while the others are open.
        for lines in streams:
            next_tick(lines)
    assert with_forty <= with_two, (with_two, with_forty)


@needs(shutil.which("ss") is not None, "ss (iproute2)")
def test_the_listen_backlog_is_web_backlog_not_the_loops_default(web: KeelProcess) -> None:
    listening = subprocess.run(
        ["ss", "-ltnH", f"sport = :{web.port}"], capture_output=True, text=True, check=True
    ).stdout.split()
    # ss prints State, Recv-Q, Send-Q (a listening socket's backlog), local, peer.
    assert listening[0] == "LISTEN"
    assert int(listening[2]) == BACKLOG
