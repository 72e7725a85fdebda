"""Handlers written the way the team's Lambda functions are: ``handler(event, context)``,
module-level set-up, ``json.loads(event["body"])``, a dict back. None of them knows keel.

Side effects that the process-level tests count go to the file named by
``TASKS_SIDE_EFFECT_LOG`` (one line ``<label> <what> <unix time>``), as the task tests do.
"""

import base64
import json
import logging
import os
import time

logger = logging.getLogger()
logger.setLevel(logging.INFO)

ORDERS = {"o-1": {"id": "o-1", "item": "kettle", "quantity": 2}}
# A 1x1 transparent PNG: what an image endpoint returns.
PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


def record(label, what):
    with open(os.environ["TASKS_SIDE_EFFECT_LOG"], "a") as log:
        log.write(f"{label} {what} {time.time():.3f}\n")


def create_order(event, context):
    """API Gateway REST: a JSON body in, 201 with the order out."""
    body = json.loads(event["body"] or "{}")
    if "item" not in body:
        return {"statusCode": 400, "body": json.dumps({"error": "item is required"})}
    order = {"id": "o-2", "item": body["item"], "quantity": body.get("quantity", 1)}
    logger.info("created order %s", order["id"])
    return {
        "statusCode": 201,
        "headers": {"Content-Type": "application/json", "Location": f"/orders/{order['id']}"},
        "body": json.dumps(order),
    }


def get_order(event, context):
    """HTTP API: a path parameter and query parameters; returns a bare dict (payload 2.0)."""
    order = ORDERS.get(event["pathParameters"]["order_id"])
    if order is None:
        return {"statusCode": 404, "body": json.dumps({"message": "no such order"})}
    fields = (event.get("queryStringParameters") or {}).get("fields")
    if fields:
        order = {key: value for key, value in order.items() if key in fields.split(",")}
    return order


def thumbnail(event, context):
    """ALB: returns binary, base64-encoded, with a cookie and multi-value headers."""
    return {
        "statusCode": 200,
        "statusDescription": "200 OK",
        "isBase64Encoded": True,
        "headers": {"Content-Type": "image/png"},
        "multiValueHeaders": {
            "Set-Cookie": [
                "seen=1; Path=/; HttpOnly",
                "theme=dark; Expires=Wed, 21 Oct 2026 07:28:00 GMT",
            ],
            "Cache-Control": ["public", "max-age=60"],
        },
        "body": base64.b64encode(PIXEL).decode(),
    }


def session_cookies(event, context):
    """HTTP API: cookies in (``event["cookies"]``), cookies out."""
    seen = [cookie.split("=", 1)[0] for cookie in event.get("cookies", [])]
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "cookies": ["session=abc; Secure; HttpOnly", "visits=2; Max-Age=3600"],
        "body": json.dumps({"seen": seen, "claims": event["requestContext"].get("authorizer")}),
    }


def my_account(event, context):
    """API Gateway REST behind a user-pool authorizer: reads who called from the claims."""
    authorizer = event["requestContext"]["authorizer"]
    claims = authorizer["claims"]
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(
            {"email": claims["email"], "staff": claims["is_staff"] == "true", "seen": authorizer}
        ),
    }


def charge_card(event, context):
    """Raises, as a handler does when its payment provider refuses."""
    raise ValueError(f"card declined for order {event.get('order_id')}")


def slow(event, context):
    """Runs past its timeout: records how far it got, and whether it was stopped."""
    label = event.get("label", "slow")
    record(label, "start")
    try:
        for _ in range(int(event.get("seconds", 10) * 20)):
            time.sleep(0.05)
        record(label, "finished")
    finally:
        record(label, "stopped")
    return "finished"


def whoami(event, context):
    """Reads the context as handlers do."""
    before = context.get_remaining_time_in_millis()
    time.sleep(event.get("sleep", 0))
    print("Lambda function ARN:", context.invoked_function_arn)
    logger.info("Lambda function memory limits in MB: " + context.memory_limit_in_mb)
    return {
        "function_name": context.function_name,
        "function_version": context.function_version,
        "invoked_function_arn": context.invoked_function_arn,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "aws_request_id": context.aws_request_id,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "remaining_before": before,
        "remaining_after": context.get_remaining_time_in_millis(),
        "client_custom": context.client_context.custom if context.client_context else None,
        "event": event,
    }


def process_messages(event, context):
    """An SQS batch handler with partial failures: bodies saying "fail" fail."""
    failures = []
    for record_ in event["Records"]:
        body = json.loads(record_["body"])
        if body.get("fail"):
            failures.append({"itemIdentifier": record_["messageId"]})
            if os.environ.get("TASKS_SIDE_EFFECT_LOG"):
                record(body["label"], "failed")
        elif os.environ.get("TASKS_SIDE_EFFECT_LOG"):
            record(body["label"], "processed")
    return {"batchItemFailures": failures}


def send_receipt(event, context):
    """An asynchronous job: records each attempt, sleeps, optionally fails."""
    label = event["label"]
    record(label, f"attempt-{context.aws_request_id}")
    time.sleep(event.get("seconds", 0))
    if event.get("fail"):
        raise ConnectionError(f"{label}: the mail server refused the connection")
    record(label, "sent")
    return {"sent": label}


def nightly_report(event, context):
    """A scheduled function: receives EventBridge's Scheduled Event."""
    record("report", f"{event['detail-type'].replace(' ', '-')}:{event['time']}")
    return {"rows": 3}
