"""The orders API of the sample SAM template (API Gateway REST, payload 1.0)."""

import json
import os

ORDERS = {"o-1": {"id": "o-1", "item": "kettle"}, "o-2": {"id": "o-2", "item": "teapot"}}


def lambda_handler(event, context):
    order_id = (event.get("pathParameters") or {}).get("order_id")
    if order_id is None:
        body = {"orders": sorted(ORDERS), "stage": event["requestContext"]["stage"]}
        return {"statusCode": 200, "body": json.dumps(body)}
    if order_id not in ORDERS:
        return {"statusCode": 404, "body": json.dumps({"message": "not found"})}
    return {
        "statusCode": 200,
        "body": json.dumps({**ORDERS[order_id], "table": os.environ.get("TABLE_NAME")}),
    }
