"""One invocation: the context a handler sees, its timeout, its error, its log."""

from __future__ import annotations

import logging.config
import time
from pathlib import Path

import pytest

from keel.lambdas import registry
from keel.lambdas.invocation import invoke


def function(name: str) -> registry.Function:
    found = registry.get(name)
    assert found is not None
    return found


def test_the_context_is_lambdas() -> None:
    outcome = invoke(function("whoami"), {"sleep": 0.3}, request_id="req-1")
    assert not outcome.failed
    seen = outcome.result
    assert seen["function_name"] == "whoami"
    assert seen["function_version"] == "$LATEST"
    assert seen["invoked_function_arn"] == "arn:aws:lambda:us-east-1:000000000000:function:whoami"
    # A string, as the Python runtime gives it (AWS's own example concatenates it).
    assert seen["memory_limit_in_mb"] == "512"
    assert seen["aws_request_id"] == "req-1"
    assert seen["log_group_name"] == "/aws/lambda/whoami"
    assert "[$LATEST]" in seen["log_stream_name"]
    # Counting down from the function's 5 s timeout.
    assert 4_500 < seen["remaining_before"] <= 5_000
    assert seen["remaining_before"] - seen["remaining_after"] >= 300


def test_a_handler_past_its_timeout_is_stopped_and_reported_as_lambda_reports_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "effects.log"
    monkeypatch.setenv("TASKS_SIDE_EFFECT_LOG", str(log))
    started = time.monotonic()
    outcome = invoke(function("slow"), {"label": "s", "seconds": 10}, request_id="req-2")
    answered = time.monotonic() - started
    assert outcome.timed_out
    assert outcome.failed
    assert outcome.error == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": "RequestId: req-2 Error: Task timed out after 1.00 seconds",
    }
    assert answered < 5  # answered at the timeout (1 s), not when the handler would end (10 s)
    deadline = time.monotonic() + 5
    while "s stopped" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    lines = [line.split()[1] for line in log.read_text().splitlines()]
    # Stopped inside its loop: its finally block ran, the rest of its work did not.
    assert lines == ["start", "stopped"]


def test_an_error_is_lambdas_error_body() -> None:
    outcome = invoke(function("charge-card"), {"order_id": "o-9"}, request_id="req-3")
    assert outcome.error is not None
    assert outcome.error["errorType"] == "ValueError"
    assert outcome.error["errorMessage"] == "card declined for order o-9"
    assert outcome.error["requestId"] == "req-3"
    (frame,) = outcome.error["stackTrace"]  # the handler's frames, not keel's
    assert 'handlers.py", line' in frame
    assert "in charge_card" in frame


def test_the_log_is_collected_per_invocation_between_start_and_report() -> None:
    outcome = invoke(function("whoami"), {}, request_id="req-4", capture_log=True)
    lines = outcome.log.splitlines()
    assert lines[0] == "START RequestId: req-4 Version: $LATEST"
    assert "Lambda function ARN: arn:aws:lambda:us-east-1:000000000000:function:whoami" in lines
    assert any(
        line.startswith("[INFO]\t")
        and line.endswith("\treq-4\tLambda function memory limits in MB: 512")
        for line in lines
    )
    assert lines[-2] == "END RequestId: req-4"
    assert lines[-1].startswith("REPORT RequestId: req-4\tDuration: ")

    assert "Memory Size: 512 MB" in lines[-1]
    other = invoke(function("whoami"), {}, request_id="req-5", capture_log=True)
    assert "req-4" not in other.log


def test_the_log_is_still_collected_after_logging_is_configured_again() -> None:
    # A configuration applied after the first invocation (Django's LOGGING, dictConfig,
    # a test) replaces the root logger's handlers; CI once lost the capture that way.
    invoke(function("whoami"), {}, request_id="req-5", capture_log=True)
    root = logging.getLogger()
    handlers = root.handlers[:]
    try:
        # Only the root's handlers change: disabling every other logger (dictConfig's
        # default) would silence keel's own loggers in the tests after this one.
        logging.config.dictConfig(
            {"version": 1, "disable_existing_loggers": False, "root": {"handlers": []}}
        )
        outcome = invoke(function("whoami"), {}, request_id="req-6", capture_log=True)
    finally:
        root.handlers[:] = handlers
    assert any(
        line.startswith("[INFO]\t") and "\treq-6\tLambda function memory limits in MB: 512" in line
        for line in outcome.log.splitlines()
    ), outcome.log
