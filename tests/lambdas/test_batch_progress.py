"""An SQS batch's progress between attempts: only the failed messages run again, and the
row of a batch done is deleted by the worker's sweep once nothing can read it."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from keel.lambdas import services
from keel.lambdas.contribution import lambdas_contribution
from keel.lambdas.models import BatchProgress

EVENTS = Path(__file__).resolve().parents[1] / "data" / "lambda_events"


def batch(request_id: str, *, failing: str = "") -> dict[str, Any]:
    """AWS's sample SQS event with messages ``<request_id>-a`` and ``-b``; ``failing``
    names the one whose body makes the handler report it failed."""
    event = json.loads((EVENTS / "sqs-event.json").read_text())
    first = event["Records"][0]
    event["Records"] = [
        {
            **first,
            "messageId": f"{request_id}-{name}",
            "body": json.dumps({"fail": name == failing}),
        }
        for name in ("a", "b")
    ]
    return event


def attempt(request_id: str, *, failing: str = "") -> None:
    services.invocation_attempt(
        function_name="process-messages",
        request_id=request_id,
        event=batch(request_id, failing=failing),
    )


def age(request_id: str, hours: float) -> None:
    """Make the row as old as a batch last attempted ``hours`` ago (update skips auto_now)."""
    BatchProgress.objects.filter(request_id=request_id).update(
        updated_at=timezone.now() - timedelta(hours=hours)
    )


@pytest.mark.django_db
def test_a_retry_runs_only_the_messages_left_and_a_done_batch_has_none() -> None:
    with pytest.raises(services.BatchItemFailures) as failed:
        attempt("r-1", failing="a")
    assert failed.value.ids == ["r-1-a"]
    assert BatchProgress.objects.get(request_id="r-1").remaining == ["r-1-a"]
    # Were b, done at the first attempt, run again, it would fail now.
    attempt("r-1", failing="b")
    assert BatchProgress.objects.get(request_id="r-1").remaining == []


@pytest.mark.django_db
def test_the_workers_sweep_deletes_batches_done_six_hours_ago_and_keeps_the_rest() -> None:
    attempt(
        "done-long-ago",
    )
    attempt(
        "done-lately",
    )
    with pytest.raises(services.BatchItemFailures):
        attempt("failed-long-ago", failing="a")  # in the failed list: --retry reads it
    age("done-long-ago", 7)
    age("done-lately", 5)
    age("failed-long-ago", 24 * 30)
    (sweep,) = lambdas_contribution().sweeps
    sweep()
    assert sorted(BatchProgress.objects.values_list("request_id", flat=True)) == [
        "done-lately",
        "failed-long-ago",
    ]


@pytest.mark.django_db
def test_one_sweep_deletes_at_most_its_limit_of_rows() -> None:
    for index in range(3):
        attempt(
            f"r-{index}",
        )
        age(f"r-{index}", 7 + index)
    assert services.batch_progress_prune(limit=2) == 2
    assert list(BatchProgress.objects.values_list("request_id", flat=True)) == ["r-0"]
    assert services.batch_progress_prune(limit=2) == 1
    assert services.batch_progress_prune(limit=2) == 0
