"""``KEEL_LAMBDAS`` for the suite: the handlers of tests.lambdas.handlers, each as its
Lambda function was configured."""

HANDLERS = "tests.lambdas.handlers"

KEEL_LAMBDAS = {
    "create-order": {
        "handler": f"{HANDLERS}.create_order",
        "timeout": 10,
        "triggers": [
            {"type": "http", "path": "/orders", "methods": ["POST"], "format": "apigateway-v1"}
        ],
    },
    "get-order": {
        "handler": f"{HANDLERS}.get_order",
        "triggers": [
            {
                "type": "http",
                "path": "/orders/{order_id}",
                "methods": ["GET"],
                "format": "apigateway-v2",
            }
        ],
    },
    "thumbnail": {
        "handler": f"{HANDLERS}.thumbnail",
        "triggers": [
            {
                "type": "http",
                "path": "/thumbnails/{proxy+}",
                "format": "alb",
                "multi_value_headers": True,
            }
        ],
    },
    "session-cookies": {
        "handler": f"{HANDLERS}.session_cookies",
        "triggers": [
            {
                "type": "http",
                "path": "/session",
                "format": "apigateway-v2",
                "authorizer": "keel.lambdas.authorizers.authenticated_user",
            }
        ],
    },
    "my-account": {
        "handler": f"{HANDLERS}.my_account",
        "triggers": [
            {
                "type": "http",
                "path": "/account",
                "methods": ["GET"],
                "format": "apigateway-v1",
                "authorizer": "keel.lambdas.authorizers.authenticated_user",
            }
        ],
    },
    "charge-card": {
        "handler": f"{HANDLERS}.charge_card",
        "retries": 2,
        "triggers": [{"type": "http", "path": "/charges", "format": "apigateway-v1"}],
    },
    "slow": {"handler": f"{HANDLERS}.slow", "timeout": 1},
    "whoami": {"handler": f"{HANDLERS}.whoami", "timeout": 5, "memory": 512},
    "process-messages": {
        "handler": f"{HANDLERS}.process_messages",
        "triggers": [
            {
                "type": "sqs",
                "queue_url": "https://sqs.us-east-1.amazonaws.com/123456789012/messages",
                "report_batch_item_failures": True,
            }
        ],
    },
    "send-receipt": {"handler": f"{HANDLERS}.send_receipt", "timeout": 30},
    # Its Lambda asynchronous-invocation config: one retry, events dropped after a minute.
    "send-reminder": {
        "handler": f"{HANDLERS}.send_receipt",
        "retries": 1,
        "maximum_event_age": 60,
    },
    "nightly-report": {
        "handler": f"{HANDLERS}.nightly_report",
        "triggers": [{"type": "schedule", "expression": "cron(0 2 * * ? *)"}],
    },
}
