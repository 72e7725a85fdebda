"""Task results, durably, and the worker heartbeats that recovery relies on.

One row per enqueued task, whatever worker runs it and how often.

The row is the task's result as ``django.tasks`` describes it (status, times, return
value, errors, workers); the DBOS workflow that executes it is named after it. The row
is written in the caller's transaction, and the workflow is handed to DBOS only once that
transaction commits: a task enqueued in a transaction that rolls back never runs.
"""

from __future__ import annotations

from django.db import models


class TaskStatus(models.TextChoices):
    """``django.tasks.TaskResultStatus``, as stored (the same values)."""

    READY = "READY"
    RUNNING = "RUNNING"
    FAILED = "FAILED"
    SUCCESSFUL = "SUCCESSFUL"


class TaskRecord(models.Model):
    #: ``TaskResult.id``: what the caller keeps to ask for the result.
    id = models.CharField(max_length=64, primary_key=True, editable=False)
    #: The ``TASKS`` alias the task was enqueued through.
    backend = models.CharField(max_length=100)
    #: The task's module path (``Task.module_path``), imported by the worker to run it.
    task_path = models.CharField(max_length=500)
    queue_name = models.CharField(max_length=100)
    priority = models.SmallIntegerField(default=0)
    run_after = models.DateTimeField(null=True, blank=True)
    takes_context = models.BooleanField(default=False)
    #: Attempts after the first, and the backoff between them (doubling, capped).
    retries = models.PositiveSmallIntegerField(default=0)
    retry_backoff = models.FloatField(default=1.0)
    retry_backoff_max = models.FloatField(default=300.0)
    args = models.JSONField(default=list)
    kwargs = models.JSONField(default=dict)
    status = models.CharField(max_length=16, choices=TaskStatus.choices, default=TaskStatus.READY)
    created_at = models.DateTimeField(auto_now_add=True)
    #: No attempt starts after this (the task's ``max_age``); NULL: never expires.
    expires_at = models.DateTimeField(null=True, blank=True)
    #: When the task was handed to the workers; NULL while only recorded (or deferred
    #: with nothing handed over yet).
    enqueued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    last_attempted_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    return_value = models.JSONField(null=True, blank=True)
    #: One ``{"exception_class_path", "traceback"}`` per failed attempt.
    errors = models.JSONField(default=list)
    #: The worker (DBOS executor) of each attempt, in order.
    worker_ids = models.JSONField(default=list)
    #: How many times the task was sent back from the failed list; names its workflow.
    generation = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "-finished_at"], name="taskrecord_status_finished"),
            # The sweeper's look-up of tasks recorded but never handed to the workers.
            models.Index(
                fields=["created_at"],
                condition=models.Q(status="READY", enqueued_at__isnull=True),
                name="taskrecord_not_enqueued",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.task_path} {self.id} ({self.status})"

    @property
    def workflow_id(self) -> str:
        """The DBOS workflow executing this generation of the task."""
        return f"{self.id}:{self.generation}"

    @property
    def attempts(self) -> int:
        """Attempts made: each failed one left an error; one is under way or succeeded.

        Not ``len(worker_ids)``: one worker may make every attempt, and a resumed attempt
        has two workers.
        """
        ongoing = self.status in (TaskStatus.RUNNING, TaskStatus.SUCCESSFUL)
        return len(self.errors) + (1 if ongoing else 0)


class WorkerHeartbeat(models.Model):
    """A worker process (DBOS executor) and when it was last known alive."""

    executor_id = models.CharField(max_length=200, primary_key=True)
    application_version = models.CharField(max_length=100)
    hostname = models.CharField(max_length=255, blank=True, default="")
    started_at = models.DateTimeField()
    beat_at = models.DateTimeField()
    #: Set by a worker leaving on purpose, so others recover its workflows without waiting.
    stopped_at = models.DateTimeField(null=True, blank=True)
    #: The executor that claimed this one's pending workflows; set exactly once.
    # NULL means unclaimed: the claim is a conditional UPDATE ... WHERE recovered_by IS NULL.
    recovered_by = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001
    recovered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-beat_at"]
        # The table keel.agents created before the heartbeat moved here with the rest of
        # the worker: workers of the previous image beat into it during a deploy.
        db_table = "keel_agents_workerheartbeat"

    def __str__(self) -> str:
        return self.executor_id
