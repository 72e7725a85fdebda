"""Test-only endpoints: enqueue one of tests.tasks.durable_tasks, read a result.

The e2e tests drive tasks through a real ``keel web``, as a project's own views would.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from keel.tasks.api import TaskResultDoesNotExist, default_task_backend
from tests.tasks import durable_tasks

TASKS = {
    name: getattr(durable_tasks, name)
    for name in (
        "counted",
        "async_counted",
        "flaky",
        "gated",
        "marked",
        "perishable",
        "with_context",
        "retried_with_context",
        "async_retried_with_context",
    )
}


class RolledBack(Exception):
    pass


@csrf_exempt
def enqueue(request: HttpRequest) -> JsonResponse:
    body = json.loads(request.body)
    task = TASKS[body["task"]]
    if "run_after_in" in body:
        task = task.using(run_after=timezone.now() + timedelta(seconds=body["run_after_in"]))
    if "queue_name" in body:
        task = task.using(queue_name=body["queue_name"])
    if "priority" in body:
        task = task.using(priority=body["priority"])
    if body.get("rollback"):
        try:
            with transaction.atomic():
                result = task.enqueue(*body.get("args", []), **body.get("kwargs", {}))
                raise RolledBack
        except RolledBack:
            return JsonResponse({"id": result.id, "rolled_back": True})
    result = task.enqueue(*body.get("args", []), **body.get("kwargs", {}))
    return JsonResponse({"id": result.id, "status": result.status})


def result(request: HttpRequest, result_id: str) -> JsonResponse:
    try:
        found = default_task_backend.get_result(result_id)
    except TaskResultDoesNotExist:
        return JsonResponse({"error": "not_found"}, status=404)
    body: dict[str, Any] = {
        "id": found.id,
        "status": found.status,
        "attempts": found.attempts,
        "worker_ids": found.worker_ids,
        "errors": [error.exception_class_path for error in found.errors],
        "tracebacks": [error.traceback for error in found.errors],
        "started_at": found.started_at.isoformat() if found.started_at else None,
        "finished_at": found.finished_at.isoformat() if found.finished_at else None,
    }
    if found.status == "SUCCESSFUL":
        body["return_value"] = found.return_value
    return JsonResponse(body)
