"""Agent runs in the worker's DBOS: the run workflow, the run queue, pruning, sweeps."""

from __future__ import annotations

from keel.agents import registry, services, sweeps
from keel.agents.conf import agent_settings
from keel.tasks.contributions import Contribution, Queue, Schedule


def agents_contribution() -> Contribution:
    from keel.agents import workflows

    config = agent_settings()
    # The agents first: an agent with a per-user limit of its own has a queue of its own,
    # and a tool that is not a durable step stops the worker here (registry.UnwrappedTool).
    specs = registry.specs()
    own_limits = {spec.name: spec.runs_per_user for spec in specs if spec.runs_per_user}
    time_limits = {spec.name: spec.time_limit for spec in specs if spec.time_limit}
    return Contribution(
        name="agents",
        workflow_modules=("keel.agents.workflows",),
        prepare=registry.load,
        queues=tuple(
            # Partitioned by owner: at most that many of one user's runs at once.
            Queue(
                name=name,
                partition_concurrency=per_user,
                worker_concurrency=config.worker_concurrency,
                polling_interval=config.queue_polling_interval,
            )
            for name, per_user in [
                (services.RUN_QUEUE, config.runs_per_user),
                *(
                    (services.run_queue_name(agent=agent), limit)
                    for agent, limit in own_limits.items()
                ),
            ]
        ),
        schedules=(
            Schedule(
                name=workflows.PRUNE_SCHEDULE_NAME,
                workflow=workflows.prune_events,
                cron=workflows.PRUNE_SCHEDULE,
            ),
        ),
        sweeps=(
            lambda: sweeps.runs_overdue_end(
                run_time_limit=config.run_time_limit, agent_time_limits=time_limits
            ),
            lambda: sweeps.runs_unqueued_enqueue(grace=config.enqueue_grace),
        ),
        # Runs are async workflows on DBOS's event loop; their sync hand-offs (database
        # writes) use threads of the executor.
        threads=config.worker_concurrency * 2,
        gauges=(services.run_gauges,),
    )
