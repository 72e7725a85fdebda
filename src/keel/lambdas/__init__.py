"""Run a team's existing AWS Lambda handlers unchanged inside keel (docs/lambdas.md).

Functions are declared in the ``KEEL_LAMBDAS`` setting, by name, with their handler's
dotted path and the triggers they serve: HTTP routes (API Gateway REST and HTTP API
events, ALB events), an Invoke-compatible endpoint, SQS queues (and S3 or EventBridge
events delivered through one), schedules. Synchronous invocations run in the web role;
asynchronous ones become durable tasks of keel.tasks, run by ``keel worker``.
"""
