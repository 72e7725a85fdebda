"""The Invoke API as Lambda answers it, for requests signed by botocore's own signer.

In this process, through Django's stack; tests/e2e/test_lambdas.py calls a real
``keel web`` with boto3's Lambda client.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import quote

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from django.test import Client, override_settings

from keel.tasks.models import TaskRecord

HOST = "app.example.com"
KEY_ID, SECRET = "AKIAKEELTESTCALLER01", "keel-test-secret-0123456789abcdef"


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "LAMBDA_INVOKE_CREDENTIALS", f"{KEY_ID}:{SECRET},AKIAOTHERCALLER00002:{'x' * 20}"
    )


def invoke(
    name: str,
    payload: Any = None,
    *,
    headers: dict[str, str] | None = None,
    key_id: str = KEY_ID,
    secret: str = SECRET,
    query: str = "",
    sign: bool = True,
    service: str = "lambda",
    when: datetime | None = None,
    tamper: bytes | None = None,
) -> Any:
    body = b"" if payload is None else json.dumps(payload).encode()
    # As botocore sends it: the name percent-encoded (an ARN's colons are %3A).
    path = f"/2015-03-31/functions/{quote(name, safe='')}/invocations"
    request = AWSRequest(
        method="POST",
        url=f"http://{HOST}{path}{'?' + query if query else ''}",
        data=body,
        headers=headers or {},
    )
    if sign:
        with mock.patch(
            "botocore.auth.get_current_datetime", return_value=when or datetime.now(UTC)
        ):
            SigV4Auth(Credentials(key_id, secret), service, "eu-west-1").add_auth(request)
    meta = {
        f"HTTP_{name.upper().replace('-', '_')}": value
        for name, value in request.headers.items()
        if name.lower() not in ("host", "content-type")
    }
    return Client(HTTP_HOST=HOST).generic(
        "POST",
        f"{path}{'?' + query if query else ''}",
        data=tamper if tamper is not None else body,
        content_type="application/json",
        **meta,
    )


def test_request_response_returns_the_handlers_result() -> None:
    response = invoke("whoami", {"hello": "world"})
    assert response.status_code == 200
    assert response["X-Amz-Executed-Version"] == "$LATEST"
    assert "X-Amz-Function-Error" not in response
    result = json.loads(response.content)
    assert result["event"] == {"hello": "world"}
    assert result["aws_request_id"] == response["x-amzn-RequestId"]


def test_a_function_error_is_lambdas_unhandled_error() -> None:
    response = invoke("charge-card", {"order_id": "o-7"})
    assert response.status_code == 200
    assert response["X-Amz-Function-Error"] == "Unhandled"
    body = json.loads(response.content)
    assert body["errorType"] == "ValueError"
    assert body["errorMessage"] == "card declined for order o-7"
    assert body["stackTrace"]
    assert "charge_card" in body["stackTrace"][0]


def test_a_timeout_is_lambdas_timeout(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TASKS_SIDE_EFFECT_LOG", str(tmp_path / "effects.log"))
    response = invoke("slow", {"label": "t", "seconds": 5})
    assert response["X-Amz-Function-Error"] == "Unhandled"
    assert json.loads(response.content)["errorMessage"].endswith(
        "Task timed out after 1.00 seconds"
    )


def test_tail_returns_the_last_4_kb_of_the_log() -> None:
    response = invoke("whoami", {}, headers={"X-Amz-Log-Type": "Tail"})
    log = base64.b64decode(response["X-Amz-Log-Result"]).decode()
    assert log.startswith("START RequestId: ")
    assert "Lambda function ARN: arn:aws:lambda:" in log
    assert "\nREPORT RequestId: " in log


def test_client_context_reaches_the_handler() -> None:
    context = base64.b64encode(json.dumps({"custom": {"tenant": "acme"}}).encode()).decode()
    response = invoke("whoami", {}, headers={"X-Amz-Client-Context": context})
    assert json.loads(response.content)["client_custom"] == {"tenant": "acme"}


def event_age_limit(record: TaskRecord) -> float:
    """Seconds from the record's creation to when no attempt may start."""
    assert record.expires_at is not None
    return (record.expires_at - record.created_at).total_seconds()


@pytest.mark.django_db(transaction=True)
def test_event_is_accepted_202_and_recorded_as_a_durable_task() -> None:
    with mock.patch("keel.tasks.services.task_dispatch") as dispatched:
        response = invoke(
            "send-receipt", {"label": "r"}, headers={"X-Amz-Invocation-Type": "Event"}
        )
    assert response.status_code == 202
    assert response.content == b""
    (record,) = TaskRecord.objects.all()
    assert record.task_path == "keel.lambdas.jobs.invoke_event"
    assert record.args == ["send-receipt", response["x-amzn-RequestId"], {"label": "r"}]
    # Lambda's defaults: two retries, one minute then two apart, six hours of age.
    assert (record.retries, record.retry_backoff, record.retry_backoff_max) == (2, 60.0, 120.0)
    assert event_age_limit(record) == pytest.approx(21_600, abs=1)
    assert dispatched.call_count == 1


@pytest.mark.django_db(transaction=True)
def test_an_event_is_recorded_with_its_functions_retries_and_maximum_age(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LAMBDA_RETRY_BACKOFF", "5")
    with mock.patch("keel.tasks.services.task_dispatch"):
        response = invoke(
            "send-reminder", {"label": "r"}, headers={"X-Amz-Invocation-Type": "Event"}
        )
    assert response.status_code == 202
    (record,) = TaskRecord.objects.all()
    # KEEL_LAMBDAS["send-reminder"]: retries 1, maximum_event_age 60.
    assert (record.retries, record.retry_backoff, record.retry_backoff_max) == (1, 5.0, 10.0)
    assert event_age_limit(record) == pytest.approx(60, abs=1)


def test_dry_run_checks_and_runs_nothing() -> None:
    response = invoke("charge-card", {}, headers={"X-Amz-Invocation-Type": "DryRun"})
    assert (response.status_code, response.content) == (204, b"")


@pytest.mark.parametrize(
    ("name", "query", "status", "error_type"),
    [
        ("no-such-function", "", 404, "ResourceNotFoundException"),
        ("whoami", "Qualifier=3", 404, "ResourceNotFoundException"),
        ("whoami:live", "", 404, "ResourceNotFoundException"),
    ],
)
def test_unknown_functions_and_qualifiers_are_refused(
    name: str, query: str, status: int, error_type: str
) -> None:
    response = invoke(name, {}, query=query)
    assert (response.status_code, response["x-amzn-ErrorType"]) == (status, error_type)
    assert "Function not found: arn:aws:lambda:" in json.loads(response.content)["message"]


def test_latest_and_arns_name_the_function() -> None:
    assert invoke("whoami", {}, query="Qualifier=%24LATEST").status_code == 200
    arn = "arn:aws:lambda:us-east-1:000000000000:function:whoami"
    assert invoke(arn, {}).status_code == 200


@pytest.mark.parametrize(
    ("headers", "payload", "error_type"),
    [
        ({"X-Amz-Invocation-Type": "Later"}, {}, "InvalidParameterValueException"),
        ({"X-Amz-Log-Type": "Full"}, {}, "InvalidParameterValueException"),
        ({"X-Amz-Client-Context": "not base64!"}, {}, "InvalidRequestContentException"),
    ],
)
def test_bad_parameters_are_lambdas_400s(
    headers: dict[str, str], payload: Any, error_type: str
) -> None:
    response = invoke("whoami", payload, headers=headers)
    assert (response.status_code, response["x-amzn-ErrorType"]) == (400, error_type)


def refused(response: Any) -> tuple[int, str]:
    return response.status_code, response["x-amzn-ErrorType"]


@pytest.mark.django_db(transaction=True)
def test_wrong_or_missing_signatures_are_403_and_run_nothing(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    effects = tmp_path / "effects.log"
    monkeypatch.setenv("TASKS_SIDE_EFFECT_LOG", str(effects))
    payload = {"label": "x", "seconds": 0}
    assert refused(invoke("send-receipt", payload, sign=False)) == (
        403,
        "MissingAuthenticationTokenException",
    )
    assert refused(invoke("send-receipt", payload, secret="wrong-secret-0123456789")) == (
        403,
        "InvalidSignatureException",
    )
    assert refused(invoke("send-receipt", payload, key_id="AKIAUNKNOWNCALLER999")) == (
        403,
        "UnrecognizedClientException",
    )
    assert refused(invoke("send-receipt", payload, service="s3")) == (
        403,
        "InvalidSignatureException",
    )
    stale = datetime.now(UTC) - timedelta(minutes=6)
    assert refused(invoke("send-receipt", payload, when=stale)) == (
        403,
        "InvalidSignatureException",
    )
    # A signed request whose body was changed on the way.
    assert refused(invoke("send-receipt", payload, tamper=b'{"label": "y"}')) == (
        403,
        "InvalidSignatureException",
    )
    with mock.patch("keel.tasks.services.task_dispatch"):
        assert refused(
            invoke(
                "send-receipt",
                payload,
                headers={"X-Amz-Invocation-Type": "Event"},
                secret="wrong-secret-0123456789",
            )
        ) == (403, "InvalidSignatureException")
    assert not effects.exists()
    assert not TaskRecord.objects.exists()


def test_no_configured_callers_refuse_everyone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LAMBDA_INVOKE_CREDENTIALS")
    assert refused(invoke("whoami", {})) == (403, "UnrecognizedClientException")


@pytest.mark.parametrize(
    "name",
    sorted(
        path.name
        for path in (Path(__file__).resolve().parents[1] / "data" / "lambda_events").glob("*.json")
        if "response" not in path.name
    ),
)
def test_every_sample_event_reaches_the_handler_unchanged(name: str) -> None:
    event = json.loads(
        (Path(__file__).resolve().parents[1] / "data/lambda_events" / name).read_text()
    )
    response = invoke("whoami", event)
    assert json.loads(response.content)["event"] == event


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=8 * 1024 * 1024)
def test_payloads_over_lambdas_limits_are_refused() -> None:
    big = {"blob": "x" * (1024 * 1024 + 1)}
    assert refused(invoke("whoami", big, headers={"X-Amz-Invocation-Type": "Event"})) == (
        413,
        "RequestEntityTooLargeException",
    )
    assert invoke("whoami", big).status_code == 200  # 6 MB for a synchronous call


def test_an_empty_payload_is_the_event_and_one_that_is_not_json_is_refused() -> None:
    response = invoke("whoami", None)
    assert json.loads(response.content)["event"] == {}
    body = b"{not json"
    request = AWSRequest(
        method="POST", url=f"http://{HOST}/2015-03-31/functions/whoami/invocations", data=body
    )
    SigV4Auth(Credentials(KEY_ID, SECRET), "lambda", "eu-west-1").add_auth(request)
    meta = {
        f"HTTP_{name.upper().replace('-', '_')}": value
        for name, value in request.headers.items()
        if name.lower() != "host"
    }
    response = Client(HTTP_HOST=HOST).generic(
        "POST", "/2015-03-31/functions/whoami/invocations", data=body, **meta
    )
    assert refused(response) == (400, "InvalidRequestContentException")
