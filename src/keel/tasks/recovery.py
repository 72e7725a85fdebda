"""Worker heartbeats and the sweeper that recovers the workflows of workers that died.

DBOS recovers a crashed executor's workflows only when that same executor id starts
again, or when asked. On ECS a replaced task never comes back under its id, so every
worker beats a row here and sweeps: an executor whose heartbeat is older than
``WORKER_EXECUTOR_DEAD_AFTER`` (or that said it stopped) is claimed by one live
worker with a conditional UPDATE, and only the claimant re-enqueues its PENDING
workflows. DBOS's own re-enqueue is conditional on the dead executor id too, so a
workflow is re-dispatched once even if two claims somehow raced. Re-enqueueing (rather
than the public ``resume_workflow``) keeps each workflow on its own queue and partition,
so the per-user limit of agent runs and each task queue's limits still hold for
recovered workflows.
"""

from __future__ import annotations

import logging
import socket
import uuid
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from keel import constants, metrics
from keel.ecs import task_id
from keel.tasks.models import WorkerHeartbeat

logger = logging.getLogger("keel.tasks.recovery")


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
        metrics.emit({constants.RECOVERED_WORKFLOWS: len(handles)})
        logger.info(
            "recovered executor %s: %d pending workflow(s)",
            dead_executor,
            len(handles),
            extra={"dead_executor": dead_executor, "workflows": len(handles)},
        )
        recovered.append(dead_executor)
    return recovered
