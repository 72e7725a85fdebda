"""``keel manage enqueue_task PATH``: enqueue a task by its module path; print its id."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.module_loading import import_string

from keel.tasks.api import InvalidTask, Task


def _json(kind: type, text: str, option: str) -> Any:
    try:
        value = json.loads(text)
    except ValueError as error:
        raise CommandError(f"{option} is not JSON: {error}") from None
    if not isinstance(value, kind):
        raise CommandError(f"{option} must be a JSON {'list' if kind is list else 'object'}.")
    return value


class Command(BaseCommand):
    help = "Enqueue a task (module path, e.g. example.demo.tasks.build_report); print its id."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="the task's module path")
        parser.add_argument(
            "--args", dest="task_args", default="[]", help="positional arguments, a JSON list"
        )
        parser.add_argument(
            "--kwargs", dest="task_kwargs", default="{}", help="keyword arguments, a JSON object"
        )
        parser.add_argument("--queue", help="another of the backend's queues")
        parser.add_argument("--priority", type=int, help="-100 to 100, higher first")
        parser.add_argument("--delay", type=float, help="do not start for this many seconds")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            task = import_string(options["path"])
        except ImportError as error:
            raise CommandError(f"{options['path']} does not import: {error}") from None
        if not isinstance(task, Task):
            raise CommandError(f"{options['path']} is not a task (decorate it with @task).")
        changes: dict[str, Any] = {}
        if options["queue"]:
            changes["queue_name"] = options["queue"]
        if options["priority"] is not None:
            changes["priority"] = options["priority"]
        if options["delay"]:
            changes["run_after"] = timezone.now() + timedelta(seconds=options["delay"])
        try:
            result = task.using(**changes).enqueue(
                *_json(list, options["task_args"], "--args"),
                **_json(dict, options["task_kwargs"], "--kwargs"),
            )
        except (InvalidTask, TypeError, ValueError) as error:
            raise CommandError(str(error)) from None
        self.stdout.write(result.id)
