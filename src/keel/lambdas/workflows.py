"""The DBOS workflow every scheduled function runs through (a thin interface).

Importing this module registers it; the worker imports it before ``DBOS.launch()``. A
workflow's name is its durable identity: never rename it. Each schedule passes which
function and which of its schedules it is as the workflow's context, and DBOS names each
run after its schedule and time, so one tick enqueues one invocation.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dbos import DBOS

from keel.lambdas import services

SCHEDULED_WORKFLOW = "keel_lambdas.scheduled"


@DBOS.workflow(name=SCHEDULED_WORKFLOW)
def run_scheduled(scheduled_at: datetime, context: Any) -> None:
    """Enqueue the scheduled function's invocation for this tick (a checkpointed step)."""
    DBOS.run_step(
        {"name": "keel_lambdas.schedule_fire"},
        services.schedule_fire,
        function_name=context["function"],
        index=context["index"],
        scheduled_at=scheduled_at.isoformat(),
    )
