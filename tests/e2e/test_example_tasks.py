"""The example project's tasks, run as docs/tasks.md tells a reader to run them."""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.processes import KEEL, REPO, run_keel
from tests.tasks.cluster import task_cluster

pytestmark = pytest.mark.e2e

TASKS_DOC = REPO / "docs" / "tasks.md"


def documented_commands() -> str:
    section = TASKS_DOC.read_text().split("## Try the example tasks", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert block is not None
    return block.group(1)


def test_the_report_runs_as_the_docs_show(tmp_path: Path) -> None:
    with task_cluster(tmp_path) as keel:
        keel.start_worker()
        lines = documented_commands().replace(".venv/bin/keel", KEEL).strip().splitlines()
        enqueue, status = lines
        assert enqueue.startswith("ID=$(")
        # The reader runs the second command until it says SUCCESSFUL; so does this.
        script = (
            f'{enqueue}\necho "$ID"\nfor _ in $(seq 1 60); do\n'
            f'  STATUS=$({status})\n  [ "$STATUS" = SUCCESSFUL ] && exit 0\n  sleep 0.5\n'
            "done\nexit 1\n"
        )
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=REPO,
            env=keel.environment,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        task_id = result.stdout.split()[0]
        report = keel.result(task_id)
    assert report["status"] == "SUCCESSFUL"
    assert [row["runs"] for row in report["return_value"]["days"]] == [0, 0, 0]


@contextmanager
def receiver(refusals: int) -> Iterator[tuple[str, list[tuple[float, dict[str, str], bytes]]]]:
    """A webhook receiver on loopback that answers 503 ``refusals`` times, then 204."""
    received: list[tuple[float, dict[str, str], bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((time.time(), dict(self.headers), body))
            self.send_response(503 if len(received) <= refusals else 204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks", received
    finally:
        server.shutdown()
        server.server_close()


def test_the_webhook_is_retried_with_backoff_until_accepted(tmp_path: Path) -> None:
    with receiver(refusals=2) as (url, received), task_cluster(tmp_path) as keel:
        keel.start_worker()
        code = (
            "from example.demo.tasks import deliver_webhook; "
            f"print(deliver_webhook.enqueue({url!r}, {{'type': 'order.paid', 'id': 42}}).id)"
        )
        enqueued = run_keel(["manage", "shell", "-c", code], keel.environment)
        assert enqueued.returncode == 0, enqueued.stderr
        task_id = enqueued.stdout.split()[-1]
        [delivered] = keel.wait([task_id], timeout=60)
    assert delivered["status"] == "SUCCESSFUL"
    assert delivered["return_value"] == 204
    assert delivered["errors"] == ["example.demo.tasks.DeliveryRefused"] * 2
    assert len(received) == 3
    # Every delivery carries the same id, so the receiver can tell repeats apart.
    assert {headers["Webhook-Id"] for _, headers, _ in received} == {task_id}
    assert {json.loads(body)["id"] for _, _, body in received} == {42}
    times = [at for at, _, _ in received]
    assert times[1] - times[0] >= 2  # retry_backoff 2 s,
    assert times[2] - times[1] >= 4  # doubling
