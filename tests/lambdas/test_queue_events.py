"""Conformance of the asynchronous events with AWS's samples (tests/data/lambda_events):
SQS records built from what SQS returns, S3 and EventBridge events delivered through a
queue unchanged, EventBridge's Scheduled Event, the SQS batch response."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from keel.lambdas import registry, services
from keel.lambdas.batch import InvalidBatchResponse, failed_ids, is_sqs_batch
from keel.lambdas.registry import function_of
from keel.lambdas.sqs import QueuePoller, record_of

EVENTS = Path(__file__).resolve().parents[1] / "data" / "lambda_events"


def sample(name: str) -> Any:
    return json.loads((EVENTS / name).read_text())


#: A message as boto3's receive_message returns it, for the sample record's message.
MESSAGE = {
    "MessageId": "MessageID_1",
    "ReceiptHandle": "MessageReceiptHandle",
    "MD5OfBody": "fce0ea8dd236ccb3ed9b37dae260836f",
    "Body": "Message Body",
    "Attributes": {
        "ApproximateReceiveCount": "2",
        "SentTimestamp": "1520621625029",
        "SenderId": "AROAIWPX5BD2BHG722MW4:sender",
        "ApproximateFirstReceiveTimestamp": "1520621634884",
    },
    "MD5OfMessageAttributes": "582c92c5c5b6ac403040a4f3ab3115c9",
    "MessageAttributes": {
        "Attribute3": {
            "BinaryValue": b"1100",
            "StringListValues": ["abc", "123"],
            "BinaryListValues": [b"0", b"1", b"0"],
            "DataType": "Binary",
        },
        "Attribute2": {
            "StringValue": "123",
            "StringListValues": [],
            "BinaryListValues": [b"1", b"0"],
            "DataType": "Number",
        },
        "Attribute1": {
            "StringValue": "AttributeValue1",
            "StringListValues": [],
            "BinaryListValues": [],
            "DataType": "String",
        },
    },
}


def test_sqs_records_are_lambdas_records() -> None:
    (expected,) = sample("sqs-event.json")["Records"]
    built = record_of(
        MESSAGE, queue_arn="arn:aws:sqs:us-west-2:123456789012:SQSQueue", region="us-west-2"
    )
    assert built == expected
    assert is_sqs_batch({"Records": [built]})


def test_the_sample_batch_response_names_its_failed_message() -> None:
    response = sample("sqs-batch-response.json")
    failed = "059f36b4-87a3-44ab-83d2-661975830a7d"
    assert failed_ids(response, ["a", failed, "b"]) == [failed]
    assert failed_ids({"batchItemFailures": []}, ["a"]) == []
    assert failed_ids(None, ["a"]) == []
    with pytest.raises(InvalidBatchResponse):
        failed_ids(response, ["a", "b"])  # an id not in the batch fails the whole batch
    with pytest.raises(InvalidBatchResponse):
        failed_ids({"batchItemFailures": [{"itemIdentifier": ""}]}, ["a"])


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "name"), [("s3", "s3-event.json"), ("eventbridge", "codebuild-state-change.json")]
)
def test_s3_and_eventbridge_events_arrive_through_a_queue_unchanged(kind: str, name: str) -> None:
    function = function_of(
        "on-event",
        {
            "handler": "tests.lambdas.handlers.whoami",
            "triggers": [{"type": kind, "queue_url": "https://sqs.us-east-1.amazonaws.com/1/q"}],
        },
    )
    poller = QueuePoller(function, function.queue_triggers[0])
    poller.client = mock.Mock()
    poller.queue_arn, poller.region = "arn:aws:sqs:us-east-1:1:q", "us-east-1"
    test_event = {"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "b"}
    messages = [
        {"MessageId": "1", "ReceiptHandle": "r1", "Body": (EVENTS / name).read_text()},
        {"MessageId": "2", "ReceiptHandle": "r2", "Body": json.dumps(test_event)},
        {"MessageId": "3", "ReceiptHandle": "r3", "Body": "not json"},
    ]
    with mock.patch.object(services, "invocation_enqueue") as enqueue:
        poller.deliver(messages)
    (call,) = enqueue.call_args_list
    assert call.kwargs["event"] == sample(name)
    # The test event is deleted undelivered; a body that is no event stays on the queue.
    deleted = poller.client.delete_message_batch.call_args.kwargs["Entries"]
    assert [entry["ReceiptHandle"] for entry in deleted] == ["r1", "r2"]


def test_scheduled_events_are_eventbridges() -> None:
    expected = sample("scheduled-event.json")
    function = registry.get("nightly-report")
    assert function is not None
    built = services.scheduled_event(
        function=function, index=0, scheduled_at=datetime(2020, 9, 30, 15, 58, 34, tzinfo=UTC)
    )
    assert set(built) == set(expected)
    for key in ("version", "detail-type", "source", "detail"):
        assert built[key] == expected[key], key
    assert built["time"] == expected["time"]
    (resource,) = built["resources"]
    assert resource.startswith("arn:aws:events:us-east-1:000000000000:rule/")
