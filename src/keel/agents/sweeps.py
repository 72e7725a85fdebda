"""The agents app's sweeps, run at every heartbeat of every worker (keel.tasks.worker).

They finish what a dying process left half-done: a run recorded but never handed to the
workers, and a run still active long past its time limit.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.utils import timezone

from keel.agents.models import ACTIVE_STATUSES, AgentRun, RunStatus

logger = logging.getLogger("keel.agents.sweeps")

#: A run still active this long past its time limit is ended by the sweeper (its worker
#: died while DBOS cancelled it, so nothing else would).
OVERDUE_GRACE = timedelta(seconds=30)


def runs_unqueued_enqueue(*, grace: float, batch: int = 100) -> int:
    """Enqueue runs recorded but never handed to the workers, ``grace`` seconds on.

    ``run_create`` commits the run, then enqueues it in the DBOS system database (a
    separate database, so not one transaction); a web process that died in between
    left the run ``queued`` for ever. Enqueueing is idempotent per run id, so workers
    that sweep at the same moment do no harm.
    """
    from keel.agents import services

    cutoff = timezone.now() - timedelta(seconds=grace)
    stranded = AgentRun.objects.filter(
        status=RunStatus.QUEUED, enqueued_at__isnull=True, created_at__lt=cutoff
    ).order_by("created_at")[:batch]
    count = 0
    for run in stranded:
        services.run_enqueue(run=run)
        logger.warning(
            "enqueued run %s, recorded %s but never handed to the workers",
            run.id,
            run.created_at.isoformat(),
            extra={"run_id": str(run.id)},
        )
        count += 1
    return count


def runs_overdue_end(*, run_time_limit: float, agent_time_limits: dict[str, float]) -> int:
    """End runs still active well past their time limit (their worker died meanwhile).

    ``agent_time_limits`` holds the agents with a limit of their own; the others have
    ``run_time_limit``.
    """
    from django.db.models import Q

    from keel.agents import services

    now = timezone.now()

    def started_before(limit: float) -> Q:
        return Q(started_at__lt=now - timedelta(seconds=limit) - OVERDUE_GRACE)

    overdue = started_before(run_time_limit) & ~Q(agent__in=list(agent_time_limits))
    for agent, limit in agent_time_limits.items():
        overdue |= Q(agent=agent) & started_before(limit)
    run_ids = AgentRun.objects.filter(overdue, status__in=ACTIVE_STATUSES).values_list(
        "id", flat=True
    )
    ended = 0
    for run_id in list(run_ids):
        ended += services.run_finish(run_id=run_id, status=RunStatus.TIMED_OUT)
    return ended
