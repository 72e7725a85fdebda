"""What the bridge runs in the worker's DBOS: one schedule per scheduled function, and a
sweep that deletes the progress of SQS batches done long ago."""

from __future__ import annotations

from keel.lambdas import registry, services
from keel.tasks.contributions import Contribution, Schedule


def lambdas_contribution() -> Contribution:
    from keel.lambdas import workflows

    return Contribution(
        name="lambdas",
        workflow_modules=("keel.lambdas.workflows",),
        prepare=_load_functions,
        schedules=tuple(
            Schedule(
                name=services.schedule_name(function.name, index),
                workflow=workflows.run_scheduled,
                cron=trigger.cron,
                context={"function": function.name, "index": index},
            )
            for function in registry.functions().values()
            for index, trigger in enumerate(function.schedule_triggers)
            if trigger.enabled
        ),
        sweeps=(services.batch_progress_prune,),
    )


def _load_functions() -> None:
    """Import every handler before the worker launches DBOS (Lambda's init phase)."""
    registry.functions()
