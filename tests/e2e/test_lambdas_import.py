"""``keel lambdas import`` of a SAM template with HTTP, SQS and schedule functions writes
settings that serve all three, in real ``keel web`` and ``keel worker`` processes.

The SQS queue is moto's (server mode, on loopback), reached by boto3 unchanged but for
``AWS_ENDPOINT_URL_SQS``; the template's queue URL is a deploy-time value, read from the
environment variable the import names.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx
import pytest

from bench.processes import free_port
from tests.processes import REPO, run_keel, wait_for
from tests.tasks.cluster import TaskCluster, task_cluster

pytestmark = pytest.mark.e2e

TEMPLATE = "tests/data/lambda_sam/template.yaml"
AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@contextlib.contextmanager
def moto_server(log: Path) -> Iterator[str]:
    port = free_port()
    with log.open("ab") as output:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/moto-api/", timeout=1).status_code < 500:
                    break
            if time.monotonic() > deadline or process.poll() is not None:
                raise AssertionError(f"moto did not start:\n{log.read_text()[-2000:]}")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(10)


def lines(keel: TaskCluster, label: str) -> list[str]:
    return [what for name, what, _ in keel.side_effects() if name == label]


def test_imported_settings_serve_the_http_sqs_and_schedule_functions(tmp_path: Path) -> None:
    output = tmp_path / "sam_lambdas.py"
    imported = run_keel(["lambdas", "import", TEMPLATE, "--output", str(output)], {})
    assert imported.returncode == 0, imported.stderr
    assert "set in the environment FULFILMENT_QUEUE_URL" in imported.stderr
    assert "not translated: ThumbnailFunction: runtime nodejs20.x is not Python" in imported.stderr
    again = run_keel(["lambdas", "import", TEMPLATE, "--output", str(output)], {})
    assert again.returncode == 2
    assert "not overwritten" in again.stderr

    with moto_server(tmp_path / "moto.log") as endpoint:
        sqs = boto3.client(
            "sqs",
            endpoint_url=endpoint,
            **{k.lower(): v for k, v in AWS.items() if k != "AWS_DEFAULT_REGION"},
            region_name="us-east-1",
        )
        queue_url = sqs.create_queue(QueueName="shop-legacy-fulfilment")["QueueUrl"]
        with task_cluster(
            tmp_path,
            DJANGO_SETTINGS_MODULE="tests.lambdas.settings_sam",
            PYTHONPATH=f"{REPO}:{tmp_path}",
            FULFILMENT_QUEUE_URL=queue_url,
            TABLE_NAME="shop-orders",
            AWS_ENDPOINT_URL_SQS=endpoint,
            LAMBDA_SQS_POLLING="true",
            LAMBDA_SQS_WAIT_TIME="1",
            LAMBDA_RETRY_BACKOFF="0.5",
            **AWS,
        ) as keel:
            listed = run_keel(["lambdas", "list"], keel.environment)
            assert listed.returncode == 0, listed.stderr
            assert "http GET /orders/{order_id} (apigateway-v1)" in listed.stdout
            assert f"sqs {queue_url} batch 5 reports batch item failures" in listed.stdout
            assert "schedule rate(1 minute) = cron '0 * * * * *'" in listed.stdout
            keel.start_worker()

            # HTTP: the REST API's routes, its stage, the function's environment.
            headers = {"Host": "app.example.com"}
            listing = httpx.get(f"{keel.web.url}/orders", headers=headers, timeout=15)
            assert listing.json() == {"orders": ["o-1", "o-2"], "stage": "prod"}
            order = httpx.get(f"{keel.web.url}/orders/o-1", headers=headers, timeout=15)
            assert order.json() == {"id": "o-1", "item": "kettle", "table": "shop-orders"}

            # SQS: one batch, one message refused; only it is retried (MaximumRetryAttempts 1).
            sqs.send_message_batch(
                QueueUrl=queue_url,
                Entries=[
                    {"Id": "a", "MessageBody": json.dumps({"id": "a"})},
                    {"Id": "b", "MessageBody": json.dumps({"id": "b", "refuse": True})},
                    {"Id": "c", "MessageBody": json.dumps({"id": "c"})},
                ],
            )
            wait_for(lambda: len(lines(keel, "b")) >= 2, 60, "the refused message was not retried")
            wait_for(
                lambda: (
                    "keel.lambdas.jobs.invoke_event"
                    in run_keel(["manage", "failed_tasks"], keel.environment).stdout
                ),
                30,
                "the refused message did not land in the failed list",
            )
            assert lines(keel, "a") == ["fulfilled"]
            assert lines(keel, "c") == ["fulfilled"]
            assert lines(keel, "b") == ["refused", "refused"]
            attributes = sqs.get_queue_attributes(
                QueueUrl=queue_url,
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                ],
            )["Attributes"]
            assert attributes == {
                "ApproximateNumberOfMessages": "0",
                "ApproximateNumberOfMessagesNotVisible": "0",
            }

            # Schedules: rate(1 minute) with its Input fires within a minute and a jitter.
            wait_for(lambda: lines(keel, "report"), 80, "the schedule never ran")
            assert lines(keel, "report")[0] == "heartbeat"
        sqs.close()
