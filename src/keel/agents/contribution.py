"""Agent runs in the worker's DBOS: the run workflow, the run queue, pruning, sweeps."""

from __future__ import annotations

from keel.agents import registry, services, sweeps
from keel.agents.conf import agent_settings
from keel.tasks.contributions import Contribution, Queue, Schedule


def agents_contribution() -> Contribution:
    from keel.agents import workflows

    config = agent_settings()
    return Contribution(
        name="agents",
        workflow_modules=("keel.agents.workflows",),
        prepare=registry.load,
        queues=(
            # Partitioned by owner: at most runs_per_user of one user's runs at once.
            Queue(
                name=services.RUN_QUEUE,
                partition_concurrency=config.runs_per_user,
                worker_concurrency=config.worker_concurrency,
                polling_interval=config.queue_polling_interval,
            ),
        ),
        schedules=(
            Schedule(
                name=workflows.PRUNE_SCHEDULE_NAME,
                workflow=workflows.prune_events,
                cron=workflows.PRUNE_SCHEDULE,
            ),
        ),
        sweeps=(
            lambda: sweeps.runs_overdue_end(run_time_limit=config.run_time_limit),
            lambda: sweeps.runs_unqueued_enqueue(grace=config.enqueue_grace),
        ),
        # Runs are async workflows on DBOS's event loop; their sync hand-offs (database
        # writes) use threads of the executor.
        threads=config.worker_concurrency * 2,
        gauges=(services.run_gauges,),
    )
