"""The fulfilment queue's worker of the sample SAM template (SQS, partial failures)."""

import json
import os
import time


def handler(event, context):
    failures = []
    for record in event["Records"]:
        order = json.loads(record["body"])
        with open(os.environ["TASKS_SIDE_EFFECT_LOG"], "a") as log:
            outcome = "refused" if order.get("refuse") else "fulfilled"
            log.write(f"{order['id']} {outcome} {time.time():.3f}\n")
        if order.get("refuse"):
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
