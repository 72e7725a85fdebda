"""What the bridge keeps beyond keel.tasks' records: an SQS batch's failed messages.

An asynchronous invocation is a durable task (keel.tasks' ``TaskRecord`` holds its
status, attempts and errors, and the failed list is keel.tasks'). A batch handler that
reports ``batchItemFailures`` needs one more thing between attempts: which messages are
left to retry, so a retry runs only those, as Lambda re-delivers only those. A batch done
(no message left) has its row deleted six hours later by the worker's sweep
(keel.lambdas.services.batch_progress_prune).
"""

from __future__ import annotations

from django.db import models


class BatchProgress(models.Model):
    #: The invocation's request id (``context.aws_request_id``), the same on every attempt.
    request_id = models.CharField(max_length=64, primary_key=True)
    function = models.CharField(max_length=64)
    #: The ``messageId`` of each record still to process.
    remaining = models.JSONField(default=list)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            # The sweep's look-up of batches done long ago, at every worker heartbeat.
            models.Index(fields=["updated_at"], name="keel_lambdas_progress_updated"),
        ]

    def __str__(self) -> str:
        return f"{self.function} {self.request_id}: {len(self.remaining)} left"
