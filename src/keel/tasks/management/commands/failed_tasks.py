"""``keel manage failed_tasks``: the dead-letter list, and sending tasks back from it."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from keel.tasks import services
from keel.tasks.models import TaskRecord, TaskStatus


class Command(BaseCommand):
    help = "List tasks that failed their last attempt; --retry sends them back to the workers."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--retry", nargs="+", metavar="ID", help="retry these failed tasks")
        parser.add_argument("--retry-all", action="store_true", help="retry every failed task")
        parser.add_argument("--limit", type=int, default=50, help="list at most this many")

    def handle(self, *args: Any, **options: Any) -> None:
        failed = TaskRecord.objects.filter(status=TaskStatus.FAILED).order_by("-finished_at")
        if options["retry"] or options["retry_all"]:
            ids = (
                list(failed.values_list("id", flat=True))
                if options["retry_all"]
                else options["retry"]
            )
            unknown = sorted(set(ids) - set(failed.filter(pk__in=ids).values_list("id", flat=True)))
            if unknown:
                # Checked first: nothing is retried when one id is wrong.
                raise CommandError(f"not failed tasks: {', '.join(unknown)}")
            for task_id in ids:
                services.task_retry(task_id=task_id)
                self.stdout.write(f"retried {task_id}")
            return
        for record in failed[: options["limit"]]:
            last = record.errors[-1]["exception_class_path"] if record.errors else "?"
            self.stdout.write(
                f"{record.id}  {record.task_path}  attempts={record.attempts}  "
                f"finished={record.finished_at:%Y-%m-%d %H:%M:%S}  error={last}"
            )
