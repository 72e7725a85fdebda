"""Business logic of the bridge: enqueueing asynchronous invocations and running them.

An asynchronous invocation (an Invoke call with ``InvocationType=Event``, an SQS batch,
an S3 or EventBridge event, a schedule's run) is recorded as a durable task in the
caller's transaction and run by ``keel worker``: each attempt calls the handler once,
a failed attempt is retried after Lambda's backoff (one minute, then two, by default),
and no attempt starts once the event is older than the function's maximum age.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from keel.lambdas import batch, invocation, registry
from keel.lambdas.conf import lambda_settings
from keel.lambdas.models import BatchProgress
from keel.lambdas.registry import Function

logger = logging.getLogger("keel.lambdas")


class FunctionError(Exception):
    """The handler failed (or timed out); the attempt fails with Lambda's error body."""

    def __init__(self, error: dict[str, Any]) -> None:
        stack = "".join(error.get("stackTrace") or [])
        super().__init__(f"{error.get('errorType')}: {error.get('errorMessage')}\n{stack}")
        self.error = error


class BatchItemFailures(Exception):
    """The batch handler reported messages it failed; only those are retried."""

    def __init__(self, ids: list[str]) -> None:
        super().__init__(f"{len(ids)} message(s) failed: {', '.join(ids)}")
        self.ids = ids


class FunctionNotDeclared(Exception):
    """The invocation names a function no longer in KEEL_LAMBDAS."""


def invocation_enqueue(*, function: Function, event: Any, request_id: str | None = None) -> str:
    """Record an asynchronous invocation of ``function``; return its request id.

    The event must be JSON (it travels through the database). Inside a transaction the
    invocation runs only if the transaction commits.
    """
    from keel.lambdas.jobs import invoke_event

    config = lambda_settings()
    request_id = request_id or str(uuid.uuid4())
    job = dataclasses.replace(
        invoke_event.using(queue_name=config.task_queue),
        retries=function.retries,
        retry_backoff=config.retry_backoff,
        retry_backoff_max=max(config.retry_backoff, config.retry_backoff * 2),
        max_age=float(function.maximum_event_age),
    )
    result = job.enqueue(function.name, request_id, event)
    logger.info(
        "asynchronous invocation of %s enqueued",
        function.name,
        extra={"function": function.name, "request_id": request_id, "task_id": result.id},
    )
    return request_id


def invocation_attempt(*, function_name: str, request_id: str, event: Any) -> Any:
    """Run one attempt; raise to fail it (keel.tasks retries it or files it as failed)."""
    function = registry.get(function_name)
    if function is None:
        raise FunctionNotDeclared(f"{function_name} is not in KEEL_LAMBDAS")
    reports_failures = any(
        trigger.kind == "sqs" and trigger.report_batch_item_failures
        for trigger in function.queue_triggers
    )
    if reports_failures and batch.is_sqs_batch(event):
        return _batch_attempt(function, request_id, event)
    outcome = invocation.invoke(function, event, request_id=request_id)
    if outcome.failed:
        assert outcome.error is not None
        raise FunctionError(outcome.error)
    return _json_or_none(outcome.result)


def _batch_attempt(function: Function, request_id: str, event: dict[str, Any]) -> Any:
    progress = BatchProgress.objects.filter(request_id=request_id).first()
    records = event["Records"]
    if progress is not None:
        left = set(progress.remaining)
        records = [record for record in records if record["messageId"] in left]
    ids = [record["messageId"] for record in records]
    outcome = invocation.invoke(function, {**event, "Records": records}, request_id=request_id)
    if outcome.failed:
        assert outcome.error is not None
        raise FunctionError(outcome.error)
    try:
        failed = batch.failed_ids(outcome.result, ids)
    except batch.InvalidBatchResponse as error:
        # As on Lambda: a response naming no message of the batch fails all of it.
        raise BatchItemFailures(ids) from error
    BatchProgress.objects.update_or_create(
        request_id=request_id, defaults={"function": function.name, "remaining": failed}
    )
    if failed:
        raise BatchItemFailures(failed)
    return _json_or_none(outcome.result)


#: How long a done batch's progress is kept. A row with no message left matters only if
#: the attempt that wrote it runs again, which happens when its worker died before the
#: task recorded its success and another worker recovers it (WORKER_EXECUTOR_DEAD_AFTER
#: after a worker is up): six hours, Lambda's longest maximum event age, is far past that.
BATCH_PROGRESS_KEPT = timedelta(hours=6)


def batch_progress_prune(*, kept: timedelta = BATCH_PROGRESS_KEPT, limit: int = 1000) -> int:
    """Delete up to ``limit`` rows of batches done longer than ``kept`` ago; return how many.

    Run by every worker's sweep (keel.lambdas.contribution). A batch with messages left
    keeps its row: its task is retrying, or in the failed list, whose ``--retry`` runs
    only those messages.
    """
    done = BatchProgress.objects.filter(remaining=[], updated_at__lt=timezone.now() - kept)
    ids = list(done.order_by("updated_at").values_list("request_id", flat=True)[:limit])
    if not ids:
        return 0
    deleted, _ = BatchProgress.objects.filter(request_id__in=ids, remaining=[]).delete()
    return deleted


def _json_or_none(value: Any) -> Any:
    """The result, kept when it is JSON; Lambda discards an async result anyway."""
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError):
        return None


def scheduled_event(*, function: Function, index: int, scheduled_at: datetime) -> Any:
    """The event a schedule's run delivers: its ``input``, else EventBridge's own."""
    trigger = function.schedule_triggers[index]
    if trigger.input is not None:
        return trigger.input
    config = lambda_settings()
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": config.account_id,
        "time": scheduled_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": config.region,
        "resources": [
            f"arn:aws:events:{config.region}:{config.account_id}:rule/"
            f"{schedule_name(function.name, index)}"
        ],
        "detail": {},
    }


def schedule_name(function_name: str, index: int) -> str:
    return f"keel-lambdas-{function_name}-{index}"


def schedule_fire(*, function_name: str, index: int, scheduled_at: str) -> str | None:
    """Enqueue a schedule's run as an asynchronous invocation (a step of its workflow)."""
    function = registry.get(function_name)
    if function is None or index >= len(function.schedule_triggers):
        logger.warning("schedule of %s #%d is no longer declared", function_name, index)
        return None
    event = scheduled_event(
        function=function, index=index, scheduled_at=datetime.fromisoformat(scheduled_at)
    )
    with transaction.atomic():
        return invocation_enqueue(function=function, event=event)
