"""Two real background jobs of the kind teams moved to Lambda, as durable Django tasks.

- ``build_report``: a daily-activity report over the agent runs, one checkpointed step
  per day; a worker killed half-way resumes at the first day not yet counted.
- ``deliver_webhook``: POST a JSON event to a URL, retried with backoff until the
  receiver accepts it; each delivery carries the task's id, so the receiver can tell a
  repeat from a new event.

docs/tasks.md walks through both, and how a Lambda handler's body becomes a task.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from datetime import date, timedelta
from typing import Any

from django.db.models import Count
from django.utils import timezone

from keel.tasks import step, task
from keel.tasks.api import TaskContext


@step
def count_day(day: str, pause: float) -> dict[str, Any]:
    """Count one day's runs by status (the expensive part, done once per day)."""
    from keel.agents.models import AgentRun

    start = date.fromisoformat(day)
    runs = AgentRun.objects.filter(created_at__date=start)
    by_status = dict(runs.values_list("status").annotate(count=Count("id")).order_by())
    time.sleep(pause)  # stands in for the slow query a real report makes
    return {"day": day, "runs": sum(by_status.values()), "by_status": by_status}


@task(queue_name="reports")
def build_report(days: int = 12, pause: float = 5.0) -> dict[str, Any]:
    """Count the agent runs of each of the last ``days`` days, one step per day."""
    today = timezone.now().date()
    rows = [count_day((today - timedelta(days=back)).isoformat(), pause) for back in range(days)]
    return {"days": rows, "runs": sum(row["runs"] for row in rows)}


class DeliveryRefused(Exception):
    """The receiver answered, but not with a 2xx: try again later."""


@step
def post_event(url: str, event: dict[str, Any], delivery_id: str, timeout: float) -> int:
    request = urllib.request.Request(  # noqa: S310  (the project's own configured URL)
        url,
        data=json.dumps(event).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Webhook-Id": delivery_id},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as error:
        raise DeliveryRefused(f"{url} answered {error.code}") from None


@task(queue_name="webhooks", takes_context=True, retries=4, retry_backoff=2, retry_backoff_max=60)
def deliver_webhook(
    context: TaskContext, url: str, event: dict[str, Any], timeout: float = 10
) -> int:
    """POST ``event`` to ``url``; any refusal or network error is retried with backoff."""
    return post_event(url, event, context.task_result.id, timeout)
