"""``keel manage cancel_run <run-id>...``: cancel any user's runs, as an operator."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from keel.agents.models import AgentRun
from keel.agents.services import run_cancel


class Command(BaseCommand):
    help = (
        "Cancel runs by id, whoever owns them: no new model or tool call starts and each "
        "ends cancelled. A run that already finished is left as it is. Every id is checked "
        "before any run is cancelled."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("run_ids", nargs="+", metavar="run-id")

    def handle(self, *args: Any, **options: Any) -> None:
        ids: list[uuid.UUID] = []
        for value in options["run_ids"]:
            try:
                ids.append(uuid.UUID(value))
            except ValueError:
                raise CommandError(
                    f"{value!r} is not a run id (a UUID); nothing was cancelled."
                ) from None
        runs = {run.id: run for run in AgentRun.objects.select_related("owner").filter(pk__in=ids)}
        missing = [str(run_id) for run_id in ids if run_id not in runs]
        if missing:
            raise CommandError(f"no run {', '.join(missing)}; nothing was cancelled.")
        for run_id in dict.fromkeys(ids):
            run = runs[run_id]
            owner = run.owner.get_username()
            if run.is_finished:
                self.stdout.write(f"run {run.id} of {owner} already {run.status}; left as it is")
                continue
            was = run.status
            cancelled = run_cancel(run=run)
            self.stdout.write(f"run {run.id} of {owner}: {was} -> {cancelled.status}")
