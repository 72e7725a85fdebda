"""Agent runs and their ordered events."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class RunStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"


#: A run in one of these states never changes again.
FINISHED_STATUSES = frozenset(
    {RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.TIMED_OUT}
)
ACTIVE_STATUSES = frozenset({RunStatus.QUEUED, RunStatus.RUNNING})


class AgentRun(models.Model):
    """One execution of a registered agent for one user; its id is the DBOS workflow id."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent_runs"
    )
    agent = models.CharField(max_length=100)
    input = models.JSONField()
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    # NULL, not "", for "no key": the unique constraint below must ignore keyless runs.
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    #: When the run was handed to the workers; NULL while a queued run is only recorded.
    enqueued_at = models.DateTimeField(null=True, blank=True)
    output = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    #: How many times a worker began executing the run (recoveries add one each).
    attempts = models.PositiveIntegerField(default=0)
    #: The sequence number of the run's newest event; the next event gets one more.
    last_sequence = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["owner", "-created_at"], name="agentrun_owner_created"),
            models.Index(fields=["status", "finished_at"], name="agentrun_status_finished"),
            # The sweeper's look-up of runs recorded but never handed to the workers.
            models.Index(
                fields=["created_at"],
                condition=models.Q(status="queued", enqueued_at__isnull=True),
                name="agentrun_not_enqueued",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                name="agentrun_unique_idempotency_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.agent} run {self.id} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STATUSES


class EventType(models.TextChoices):
    TOKEN = "token"  # noqa: S105  (an event type, not a secret)
    TOOL_CALL = "tool_call"
    TOOL_RESULT = "tool_result"
    STATUS = "status"


class RunEvent(models.Model):
    """One event of a run, numbered from 1 without gaps; the number is the SSE id."""

    run = models.ForeignKey(AgentRun, on_delete=models.CASCADE, related_name="events")
    sequence = models.PositiveIntegerField()
    type = models.CharField(max_length=16, choices=EventType.choices)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["run", "sequence"], name="runevent_unique_sequence")
        ]

    def __str__(self) -> str:
        return f"{self.run_id} #{self.sequence} {self.type}"
