"""Lambda handlers run unchanged in real ``keel web`` and ``keel worker`` processes.

boto3's own Lambda client, pointed at ``keel web`` with ``endpoint_url``, invokes
functions synchronously and asynchronously (the job runs in ``keel worker``), gets a
handler's error as botocore parses Lambda's, and is refused with wrong credentials. An
asynchronous invocation survives its worker being SIGKILLed; a failing one is retried
twice and lands in the failed list. The HTTP functions answer on their routes.
"""

from __future__ import annotations

import base64
import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.processes import run_keel, wait_for
from tests.tasks.cluster import TaskCluster, task_cluster

pytestmark = pytest.mark.e2e

KEY_ID, SECRET = "AKIAKEELE2ECALLER001", "keel-e2e-secret-0123456789abcdef"


@pytest.fixture(scope="module")
def keel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TaskCluster]:
    tmp_path = tmp_path_factory.mktemp("lambdas")
    with task_cluster(
        tmp_path,
        # boto3 sends Host: 127.0.0.1:<port>; Django's host validation stays on.
        ALLOWED_HOSTS="app.example.com,127.0.0.1",
        LAMBDA_INVOKE_CREDENTIALS=f"{KEY_ID}:{SECRET}",
        LAMBDA_RETRY_BACKOFF="0.5",
    ) as cluster:
        cluster.start_worker()
        yield cluster


#: Every client a test made, closed after it (an unclosed connection is a ResourceWarning,
#: an error in this suite); each response's payload is read as it arrives, for the same
#: reason: an unread body holds its connection.
CLIENTS: list[Any] = []


class ReadingClient:
    """boto3's Lambda client, with each Invoke response's payload read into ``payload``."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def invoke(self, **arguments: Any) -> dict[str, Any]:
        response = dict(self.client.invoke(**arguments))
        response["payload"] = response.pop("Payload").read()
        return response

    def close(self) -> None:
        self.client.close()


@pytest.fixture(autouse=True)
def close_clients() -> Iterator[None]:
    yield
    while CLIENTS:
        CLIENTS.pop().close()


def lambda_client(keel: TaskCluster, secret: str = SECRET, key_id: str = KEY_ID) -> ReadingClient:
    client = boto3.client(
        "lambda",
        endpoint_url=keel.web.url,
        region_name="eu-west-1",
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1}, read_timeout=30),
    )
    reading = ReadingClient(client)
    CLIENTS.append(reading)
    return reading


def effects(keel: TaskCluster, label: str) -> list[str]:
    return [what for name, what, _ in keel.side_effects() if name == label]


def test_boto3_invokes_a_function_synchronously(keel: TaskCluster) -> None:
    response = lambda_client(keel).invoke(
        FunctionName="whoami", Payload=json.dumps({"order": 7}), LogType="Tail"
    )
    assert response["StatusCode"] == 200
    assert "FunctionError" not in response
    assert response["ExecutedVersion"] == "$LATEST"
    result = json.loads(response["payload"])
    assert result["event"] == {"order": 7}
    assert result["aws_request_id"] == response["ResponseMetadata"]["RequestId"]
    assert result["memory_limit_in_mb"] == "512"
    log = base64.b64decode(response["LogResult"]).decode()
    assert "Lambda function ARN: arn:aws:lambda:us-east-1:000000000000:function:whoami" in log


def test_qualifiers_and_arns_as_boto3_sends_them(keel: TaskCluster) -> None:
    client = lambda_client(keel)
    latest = client.invoke(FunctionName="whoami", Qualifier="$LATEST", Payload=b"{}")
    assert latest["StatusCode"] == 200
    arn = "arn:aws:lambda:us-east-1:000000000000:function:whoami"
    assert client.invoke(FunctionName=arn, Payload=b"{}")["StatusCode"] == 200
    with pytest.raises(ClientError) as refused:
        client.invoke(FunctionName="whoami", Qualifier="live", Payload=b"{}")
    assert refused.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert "no versions or aliases" in refused.value.response["Error"]["Message"]
    assert client.invoke(FunctionName="whoami", InvocationType="DryRun")["StatusCode"] == 204


def test_a_handler_error_is_parsed_by_botocore_as_lambdas(keel: TaskCluster) -> None:
    response = lambda_client(keel).invoke(
        FunctionName="charge-card", Payload=json.dumps({"order_id": "o-5"})
    )
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    error = json.loads(response["payload"])
    assert (error["errorType"], error["errorMessage"]) == (
        "ValueError",
        "card declined for order o-5",
    )
    assert any("in charge_card" in frame for frame in error["stackTrace"])


def test_a_handler_past_its_timeout_is_reported_as_lambda_reports_it(keel: TaskCluster) -> None:
    started = time.monotonic()
    response = lambda_client(keel).invoke(
        FunctionName="slow", Payload=json.dumps({"label": "late", "seconds": 20})
    )
    assert time.monotonic() - started < 10
    assert response["FunctionError"] == "Unhandled"
    error = json.loads(response["payload"])
    assert error["errorType"] == "Sandbox.Timedout"
    assert error["errorMessage"].endswith("Task timed out after 1.00 seconds")
    wait_for(lambda: "stopped" in effects(keel, "late"), 10, "the handler was not stopped")
    assert "finished" not in effects(keel, "late")


def test_wrong_credentials_are_refused_403_and_nothing_runs(keel: TaskCluster) -> None:
    for client, code in [
        (lambda_client(keel, secret="not-the-secret-0123456789"), "InvalidSignatureException"),
        (lambda_client(keel, key_id="AKIANOBODYKNOWSTHIS1"), "UnrecognizedClientException"),
    ]:
        for invocation_type in ("RequestResponse", "Event"):
            with pytest.raises(ClientError) as refused:
                client.invoke(
                    FunctionName="send-receipt",
                    InvocationType=invocation_type,
                    Payload=json.dumps({"label": "intruder"}),
                )
            assert refused.value.response["Error"]["Code"] == code
            assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    with pytest.raises(ClientError) as missing:
        lambda_client(keel).invoke(FunctionName="no-such-function", Payload=b"{}")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"
    time.sleep(1.5)  # a job the worker would have run by now
    assert effects(keel, "intruder") == []


def test_an_event_invocation_runs_durably_in_the_worker(keel: TaskCluster) -> None:
    response = lambda_client(keel).invoke(
        FunctionName="send-receipt", InvocationType="Event", Payload=json.dumps({"label": "r1"})
    )
    assert response["StatusCode"] == 202
    request_id = response["ResponseMetadata"]["RequestId"]
    wait_for(lambda: "sent" in effects(keel, "r1"), 30, "the event never ran in the worker")
    assert effects(keel, "r1") == [f"attempt-{request_id}", "sent"]


def test_a_failing_event_is_retried_twice_then_lands_in_the_failed_list(keel: TaskCluster) -> None:
    response = lambda_client(keel).invoke(
        FunctionName="send-receipt",
        InvocationType="Event",
        Payload=json.dumps({"label": "doomed", "fail": True}),
    )
    request_id = response["ResponseMetadata"]["RequestId"]
    wait_for(lambda: len(effects(keel, "doomed")) >= 3, 30, "the event was not retried twice")
    failed = ""
    deadline = time.monotonic() + 20
    while "invoke_event" not in failed and time.monotonic() < deadline:
        failed = run_keel(["manage", "failed_tasks"], keel.environment).stdout
        time.sleep(0.3)
    (line,) = [line for line in failed.splitlines() if "keel.lambdas.jobs.invoke_event" in line]
    assert "attempts=3" in line
    assert "error=keel.lambdas.services.FunctionError" in line
    time.sleep(1.5)  # no fourth attempt
    # Three attempts of one invocation: the same request id each time, as on Lambda.
    assert effects(keel, "doomed") == [f"attempt-{request_id}"] * 3


def test_an_event_whose_worker_is_killed_mid_way_completes_on_another(keel: TaskCluster) -> None:
    response = lambda_client(keel).invoke(
        FunctionName="send-receipt",
        InvocationType="Event",
        Payload=json.dumps({"label": "survivor", "seconds": 6}),
    )
    request_id = response["ResponseMetadata"]["RequestId"]
    wait_for(lambda: effects(keel, "survivor"), 30, "the event did not start")
    victim = keel.workers[-1]
    victim.signal(signal.SIGKILL)
    victim.wait(10)
    assert "sent" not in effects(keel, "survivor")
    keel.start_worker()
    wait_for(lambda: "sent" in effects(keel, "survivor"), 60, "no other worker completed it")
    # Run again from its start on the new worker (a handler has no checkpoints), once.
    assert effects(keel, "survivor") == [f"attempt-{request_id}", f"attempt-{request_id}", "sent"]


def test_http_functions_answer_on_their_routes(keel: TaskCluster) -> None:
    headers = {"Host": "app.example.com"}
    created = httpx.post(
        f"{keel.web.url}/orders", json={"item": "mug"}, headers=headers, timeout=15
    )
    assert created.status_code == 201
    assert created.json() == {"id": "o-2", "item": "mug", "quantity": 1}
    found = httpx.get(f"{keel.web.url}/orders/o-1?fields=item", headers=headers, timeout=15)
    assert found.json() == {"item": "kettle"}
    image = httpx.get(f"{keel.web.url}/thumbnails/a.png", headers=headers, timeout=15)
    from tests.lambdas.handlers import PIXEL

    assert (image.status_code, image.headers["content-type"], image.content) == (
        200,
        "image/png",
        PIXEL,
    )
    # Each cookie its own Set-Cookie header, exactly as the function wrote it.
    assert image.headers.get_list("set-cookie") == [
        "seen=1; Path=/; HttpOnly",
        "theme=dark; Expires=Wed, 21 Oct 2026 07:28:00 GMT",
    ]
    failed = httpx.post(f"{keel.web.url}/charges", headers=headers, timeout=15)
    assert (failed.status_code, failed.json()) == (502, {"message": "Internal server error"})


def test_keel_lambdas_invoke_runs_a_saved_event(keel: TaskCluster, tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"hello": "cli"}))
    result = run_keel(["lambdas", "invoke", "whoami", "--event", str(event)], keel.environment)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["event"] == {"hello": "cli"}
    assert "START RequestId: " in result.stderr
    assert "REPORT RequestId: " in result.stderr
    failed = run_keel(["lambdas", "invoke", "charge-card", "--event", str(event)], keel.environment)
    assert failed.returncode == 1
    assert json.loads(failed.stdout)["errorType"] == "ValueError"
