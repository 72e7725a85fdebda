"""``keel manage task_result ID``: a task's status (or its whole result, with --json)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from keel.tasks.models import TaskRecord, TaskStatus


class Command(BaseCommand):
    help = "Print a task's status; --json prints its result, errors and workers too."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("id", help="the result id enqueue printed")
        parser.add_argument("--json", action="store_true", help="the whole result as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        record = TaskRecord.objects.filter(pk=options["id"]).first()
        if record is None:
            raise CommandError(f"no task {options['id']}")
        if not options["json"]:
            self.stdout.write(record.status)
            return
        body = {
            "id": record.id,
            "task": record.task_path,
            "status": record.status,
            "attempts": record.attempts,
            "worker_ids": record.worker_ids,
            "errors": [error["exception_class_path"] for error in record.errors],
            "return_value": record.return_value if record.status == TaskStatus.SUCCESSFUL else None,
            "created_at": record.created_at.isoformat(),
            "finished_at": record.finished_at.isoformat() if record.finished_at else None,
        }
        self.stdout.write(json.dumps(body, indent=2))
