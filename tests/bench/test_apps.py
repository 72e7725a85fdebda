"""The framework-free hello apps answer under a real server, lifespan included."""

import os
import signal
import subprocess
import sys
import time

import httpx

from bench.processes import REPO, free_port


def test_hello_asgi_completes_lifespan_under_gunicorn_that_requires_it(tmp_path):
    port = free_port()
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as output:
        # --asgi-lifespan on: gunicorn refuses to serve unless start-up is acknowledged.
        server = subprocess.Popen(
            [
                *(sys.executable, "-m", "gunicorn", "--no-control-socket", "-w", "1"),
                *("-k", "asgi", "--asgi-lifespan", "on", "-b", f"127.0.0.1:{port}"),
                "bench.apps:hello_asgi",
            ],
            cwd=REPO,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        response = None
        deadline = time.monotonic() + 30
        while response is None and time.monotonic() < deadline and server.poll() is None:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/", timeout=1.0)
            except httpx.HTTPError:
                time.sleep(0.05)
        assert response is not None, log.read_text()
        assert response.json() == {"hello": "world"}
    finally:
        if server.poll() is None:
            os.kill(server.pid, signal.SIGTERM)
        code = server.wait(timeout=30)
    assert code == 0, log.read_text()
