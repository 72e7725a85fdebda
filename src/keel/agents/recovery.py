"""Worker heartbeats and the sweeper that recovers the runs of workers that died.

DBOS recovers a crashed executor's workflows only when that same executor id starts
again, or when asked. On ECS a replaced task never comes back under its id, so every
worker beats a row here and sweeps: an executor whose heartbeat is older than
``KEEL_AGENT_EXECUTOR_DEAD_AFTER`` (or that said it stopped) is claimed by one live
worker with a conditional UPDATE, and only the claimant re-enqueues its PENDING
workflows. DBOS's own re-enqueue is conditional on the dead executor id too, so a
workflow is re-dispatched once even if two claims somehow raced. Re-enqueueing (rather
than the public ``resume_workflow``) keeps each workflow on its own queue and partition,
so the per-user limit still holds for recovered runs.
"""

from __future__ import annotations

import logging
import socket
import uuid
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from keel.agents.models import ACTIVE_STATUSES, AgentRun, RunStatus, WorkerHeartbeat
from keel.ecs import task_id

logger = logging.getLogger("keel.agents.recovery")

#: A run still active this long past its time limit is ended by the sweeper (its worker
#: died while DBOS cancelled it, so nothing else would).
OVERDUE_GRACE = timedelta(seconds=30)


def executor_id_make(environ: dict[str, str] | None = None) -> str:
    """Return an id unique to this worker process: the ECS task id when there is one."""
    base = task_id(environ) or socket.gethostname()
    return f"{base[:150]}-{uuid.uuid4().hex[:12]}"


def heartbeat_register(*, executor_id: str, application_version: str) -> WorkerHeartbeat:
    now = timezone.now()
    heartbeat, _ = WorkerHeartbeat.objects.update_or_create(
        executor_id=executor_id,
        defaults={
            "application_version": application_version,
            "hostname": socket.gethostname()[:255],
            "started_at": now,
            "beat_at": now,
            "stopped_at": None,
            "recovered_by": None,
            "recovered_at": None,
        },
    )
    return heartbeat


def heartbeat_beat(*, executor_id: str) -> bool:
    """Record that this executor is alive; False means another worker already took its runs."""
    return bool(
        WorkerHeartbeat.objects.filter(executor_id=executor_id, recovered_by__isnull=True).update(
            beat_at=timezone.now()
        )
    )


def heartbeat_stop(*, executor_id: str) -> None:
    """Say this executor is leaving, so its pending runs are recovered without delay."""
    WorkerHeartbeat.objects.filter(executor_id=executor_id).update(stopped_at=timezone.now())


def _dead(cutoff: object) -> Q:
    return Q(recovered_by__isnull=True) & (Q(beat_at__lt=cutoff) | Q(stopped_at__isnull=False))


def executors_recover(
    *, executor_id: str, application_version: str, dead_after: float
) -> list[str]:
    """Claim each dead executor of this version and recover its pending workflows."""
    from dbos import DBOS

    cutoff = timezone.now() - timedelta(seconds=dead_after)
    candidates = (
        WorkerHeartbeat.objects.filter(_dead(cutoff), application_version=application_version)
        .exclude(executor_id=executor_id)
        .values_list("executor_id", flat=True)
    )
    recovered = []
    for dead_executor in list(candidates):
        claimed = WorkerHeartbeat.objects.filter(_dead(cutoff), executor_id=dead_executor).update(
            recovered_by=executor_id, recovered_at=timezone.now()
        )
        if not claimed:
            continue  # another worker won the claim
        try:
            # Re-enqueues on the workflow's own queue and partition (DBOS's recovery path).
            handles = DBOS._recover_pending_workflows([dead_executor])
        except Exception:
            WorkerHeartbeat.objects.filter(
                executor_id=dead_executor, recovered_by=executor_id
            ).update(recovered_by=None, recovered_at=None)
            raise
        logger.info(
            "recovered executor %s: %d pending workflow(s)",
            dead_executor,
            len(handles),
            extra={"dead_executor": dead_executor, "workflows": len(handles)},
        )
        recovered.append(dead_executor)
    return recovered


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


def runs_overdue_end(*, run_time_limit: float) -> int:
    """End runs still active well past their time limit (their worker died meanwhile)."""
    from keel.agents import services

    cutoff = timezone.now() - timedelta(seconds=run_time_limit) - OVERDUE_GRACE
    overdue = AgentRun.objects.filter(
        status__in=ACTIVE_STATUSES, started_at__lt=cutoff
    ).values_list("id", flat=True)
    ended = 0
    for run_id in list(overdue):
        ended += services.run_finish(run_id=run_id, status=RunStatus.TIMED_OUT)
    return ended
