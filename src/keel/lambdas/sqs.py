"""SQS queues feeding functions, as Lambda's event source mappings fed them.

In ``keel worker`` one thread per queue trigger long-polls its queue. Each message batch
becomes an asynchronous invocation (a durable task) and is deleted from the queue once
the task is recorded: from then on the invocation is keel's, retried with Lambda's
backoff and, when it fails for good, in keel.tasks' failed list (not the queue's
dead-letter queue). A worker killed between recording and deleting leaves the messages
to come back after their visibility timeout: delivery is at least once, as with Lambda.

- ``sqs``: up to ``batch_size`` messages per invocation, as Lambda's ``Records``.
- ``s3`` and ``eventbridge``: the queue is an S3 event notification's or an EventBridge
  rule's target, and each message's body is the event itself; each is one invocation
  with that event (S3's ``s3:TestEvent`` is deleted, never delivered).

boto3 finds the queue with the usual configuration: region and credentials from the
environment or the ECS task role, ``AWS_ENDPOINT_URL_SQS`` for another endpoint.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
from typing import Any

from django.db import close_old_connections, transaction

from keel.lambdas import registry, services
from keel.lambdas.conf import lambda_settings
from keel.lambdas.registry import Function
from keel.lambdas.triggers import QueueTrigger

logger = logging.getLogger("keel.lambdas.sqs")


def record_of(message: dict[str, Any], *, queue_arn: str, region: str) -> dict[str, Any]:
    """An SQS message as a record of Lambda's SQS event."""
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": dict(message.get("Attributes") or {}),
        "messageAttributes": {
            name: _attribute(value)
            for name, value in (message.get("MessageAttributes") or {}).items()
        },
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def _attribute(value: dict[str, Any]) -> dict[str, Any]:
    converted: dict[str, Any] = {
        "stringListValues": list(value.get("StringListValues") or []),
        "binaryListValues": [
            base64.b64encode(item).decode() for item in value.get("BinaryListValues") or []
        ],
        "dataType": value.get("DataType", "String"),
    }
    if "StringValue" in value:
        converted["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        converted["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
    return converted


def _region_of(queue_url: str) -> str | None:
    host = queue_url.split("//", 1)[-1].split("/", 1)[0]
    parts = host.split(".")
    return parts[1] if len(parts) > 2 and parts[0] == "sqs" else None


class QueuePoller:
    """Poll one queue for one function until stopped."""

    def __init__(self, function: Function, trigger: QueueTrigger) -> None:
        self.function = function
        self.trigger = trigger
        self.stopping = threading.Event()
        self.thread = threading.Thread(
            target=self._loop, name=f"keel-sqs-{function.name}", daemon=True
        )

    def start(self) -> None:
        import boto3

        session = boto3.session.Session()
        self.region = (
            _region_of(self.trigger.queue_url) or session.region_name or lambda_settings().region
        )
        self.client = session.client("sqs", region_name=self.region)
        self.queue_arn = ""
        self.thread.start()

    def _loop(self) -> None:
        wait = lambda_settings().sqs_wait_time
        while not self.stopping.is_set():
            try:
                if not self.queue_arn:
                    # Looked up here, retried: an unreachable queue at start-up is logged,
                    # not a worker that cannot start (its other work goes on).
                    attributes = self.client.get_queue_attributes(
                        QueueUrl=self.trigger.queue_url, AttributeNames=["QueueArn"]
                    )
                    self.queue_arn = attributes["Attributes"]["QueueArn"]
                received = self.client.receive_message(
                    QueueUrl=self.trigger.queue_url,
                    MaxNumberOfMessages=self.trigger.batch_size,
                    WaitTimeSeconds=wait,
                    MessageAttributeNames=["All"],
                    MessageSystemAttributeNames=["All"],
                )
                messages = received.get("Messages") or []
                if messages:
                    self.deliver(messages)
            except Exception:
                logger.exception(
                    "polling %s for %s failed", self.trigger.queue_url, self.function.name
                )
                close_old_connections()
                self.stopping.wait(1.0)

    def deliver(self, messages: list[dict[str, Any]]) -> None:
        """Enqueue the messages' invocations, then delete the messages from the queue."""
        done: list[dict[str, Any]] = []
        if self.trigger.kind == "sqs":
            event = {
                "Records": [
                    record_of(message, queue_arn=self.queue_arn, region=self.region)
                    for message in messages
                ]
            }
            with transaction.atomic():
                services.invocation_enqueue(function=self.function, event=event)
            done = messages
        else:
            for message in messages:
                try:
                    event = json.loads(message.get("Body", ""))
                except ValueError:
                    logger.error(
                        "a message on %s is not a JSON %s event; left on the queue",
                        self.trigger.queue_url,
                        self.trigger.kind,
                        extra={"function": self.function.name, "message_id": message["MessageId"]},
                    )
                    continue
                if isinstance(event, dict) and event.get("Event") == "s3:TestEvent":
                    done.append(message)
                    continue
                with transaction.atomic():
                    services.invocation_enqueue(function=self.function, event=event)
                done.append(message)
        if done:
            self.client.delete_message_batch(
                QueueUrl=self.trigger.queue_url,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                    for index, message in enumerate(done)
                ],
            )
        close_old_connections()


class QueuePollers:
    """The worker service (``LambdasConfig.keel_worker``): every queue trigger's poller."""

    name = "lambdas-sqs"

    def __init__(self) -> None:
        polling = lambda_settings().sqs_polling
        self.pollers = [
            QueuePoller(function, trigger)
            for function in registry.functions().values()
            for trigger in function.queue_triggers
            if polling
        ]

    def start(self) -> None:
        for poller in self.pollers:
            poller.start()
        if self.pollers:
            logger.info(
                "polling %d queue(s)",
                len(self.pollers),
                extra={"queues": [poller.trigger.queue_url for poller in self.pollers]},
            )

    def stop_intake(self) -> None:
        for poller in self.pollers:
            poller.stopping.set()

    def drain(self, timeout: float) -> bool:
        """Wait for each poller's receive in flight (a long poll ends within its wait)."""
        import time

        deadline = time.monotonic() + timeout
        for poller in self.pollers:
            if poller.thread.is_alive():
                poller.thread.join(max(0.0, deadline - time.monotonic()))
        return not any(poller.thread.is_alive() for poller in self.pollers)

    def close(self) -> None:
        """Nothing to release: every message received was enqueued or left on its queue."""
