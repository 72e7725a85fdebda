"""What ``keel worker`` runs for the agents app: DBOS, the run queue and the heartbeat.

The runtime's worker role (``keel.runtime.worker``) knows nothing of agents: it asks each
installed app for its worker service (``AgentsConfig.keel_worker``) and starts, drains and
stops them. This is the agents app's.

Start-up: import the workflows and agents (DBOS must know every workflow before launch),
launch DBOS with this process's unique executor id and the pinned application version,
then register the run queue (DBOS requires queues after launch) and the pruning schedule.
A heartbeat thread records that this executor is alive and sweeps for dead ones.

Drain (SIGTERM, every ECS deploy): stop dequeuing at once, let the model and tool calls
already in flight finish and be checkpointed, then report idle. The runs left PENDING
are recovered by another worker from their last completed step.
"""

from __future__ import annotations

import logging
import os
import threading

from keel.agents import drain, recovery, registry, services, system_database
from keel.agents.conf import AgentSettings, agent_settings

logger = logging.getLogger("keel.worker")


class AgentWorker:
    """The agents app's worker service: ``start``, ``stop_intake``, ``drain``, ``close``."""

    name = "agents"

    def __init__(self) -> None:
        self.config: AgentSettings = agent_settings()
        self.executor_id = ""
        self.stopped = threading.Event()

    def start(self) -> None:
        """Launch DBOS, register the run queue and schedules, start the heartbeat."""
        from dbos import DBOS

        from keel.agents import workflows

        config = self.config
        registry.load()
        self.executor_id = recovery.executor_id_make()
        DBOS(
            config={
                "name": system_database.APPLICATION_NAME,
                "system_database_url": system_database.system_database_url(),
                "system_database_engine": system_database.shared_engine(),
                "application_version": config.application_version,
                "executor_id": self.executor_id,
                "run_migrations": True,
                "notification_listener_polling_interval_sec": 0.1,
                "scheduler_polling_interval_sec": 5.0,
                "max_executor_threads": max(8, config.worker_concurrency * 2),
                # No ping before every pool checkout on PostgreSQL (a round trip each, 11 %
                # of the queue thread's time): DBOS retries its system-database calls, and
                # the outage test (tests/reliability) proves a restarted database is survived.
                "db_engine_kwargs": {"pool_pre_ping": False},
            }
        )
        DBOS.launch()
        DBOS.register_queue(
            services.RUN_QUEUE,
            partition_concurrency=config.runs_per_user,
            worker_concurrency=config.worker_concurrency,
            polling_interval_sec=config.queue_polling_interval,
            on_conflict="always_update",
        )
        DBOS.apply_schedules(
            [
                {
                    "schedule_name": workflows.PRUNE_SCHEDULE_NAME,
                    "workflow_fn": workflows.prune_events,
                    "schedule": workflows.PRUNE_SCHEDULE,
                }
            ]
        )
        recovery.heartbeat_register(
            executor_id=self.executor_id, application_version=config.application_version
        )
        threading.Thread(target=self._heartbeat_loop, name="keel-heartbeat", daemon=True).start()
        logger.info(
            "worker started",
            extra={
                "executor_id": self.executor_id,
                "application_version": config.application_version,
            },
        )

    def stop_intake(self) -> None:
        """Start nothing new in this process: stop dequeuing and close the step gate."""
        from dbos._dbos import _get_dbos_instance

        self.stopped.set()
        for event in _get_dbos_instance().background_thread_stop_events:
            event.set()
        drain.close()

    def drain(self, timeout: float) -> bool:
        """Wait for the steps in flight to be checkpointed; False if ``timeout`` passed."""
        return drain.wait_idle(timeout)

    def close(self) -> None:
        """Tell the other workers this executor left, so they recover its runs now."""
        recovery.heartbeat_stop(executor_id=self.executor_id)
        logger.info(
            "agent worker stopped",
            extra={"executor_id": self.executor_id, "busy_workflows": drain.busy()},
        )

    def _heartbeat_loop(self) -> None:
        from django.db import close_old_connections

        config = self.config
        while not self.stopped.wait(config.heartbeat_interval):
            try:
                if not recovery.heartbeat_beat(executor_id=self.executor_id):
                    # Another worker judged this one dead and took its runs: carrying on
                    # would run them twice.
                    logger.error("this executor was declared dead; exiting")
                    os._exit(3)
                recovery.executors_recover(
                    executor_id=self.executor_id,
                    application_version=config.application_version,
                    dead_after=config.executor_dead_after,
                )
                recovery.runs_overdue_end(run_time_limit=config.run_time_limit)
                recovery.runs_unqueued_enqueue(grace=config.enqueue_grace)
            except Exception:
                logger.exception("heartbeat or sweep failed")
                close_old_connections()
