"""What ``keel worker`` runs for keel.tasks: one DBOS, every app's work, the heartbeat.

The runtime's worker role (``keel.runtime.worker``) knows no app: it asks each installed
app for its worker service (``TasksConfig.keel_worker``) and starts, drains and stops
them. This is the one that runs durable workflows, for every app that contributes some
(keel.tasks.contributions): agent runs and tasks share the process and its executor.

Start-up: import every contributed workflow module (DBOS must know each workflow before
launch), launch DBOS with this process's unique executor id and the pinned application
version, register every contributed queue (DBOS requires queues after launch) and
schedule. A heartbeat thread records that this executor is alive, recovers dead ones and
runs the contributed sweeps.

Drain (SIGTERM, every ECS deploy): stop dequeuing at once, let the steps already in
flight finish and be checkpointed, then report idle. The workflows left PENDING are
recovered by another worker from their last completed step.
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
import time

from keel import constants, metrics
from keel.tasks import drain, queue_wake, recovery, system_database
from keel.tasks.conf import DurableSettings, durable_settings
from keel.tasks.contributions import Contribution, contributions

logger = logging.getLogger("keel.worker")

#: Executor threads beyond what the contributions ask for: DBOS's own, and async steps'.
SPARE_THREADS = 8


class DurableWorker:
    """The worker service: ``start``, ``stop_intake``, ``drain``, ``close``."""

    name = "durable"

    def __init__(self) -> None:
        self.config: DurableSettings = durable_settings()
        self.contributions: list[Contribution] = contributions()
        self.executor_id = ""
        self.stopped = threading.Event()
        self.listener: queue_wake.Listener | None = None

    def start(self) -> None:
        """Launch DBOS with every contributed workflow, queue and schedule; beat."""
        from dbos import DBOS

        for contribution in self.contributions:
            for module in contribution.workflow_modules:
                importlib.import_module(module)
            if contribution.prepare is not None:
                contribution.prepare()
        config = self.config
        self.executor_id = recovery.executor_id_make()
        # Before launch: DBOS starts a thread per queue, each made to wait for a wake.
        waker = queue_wake.install(safety_poll=config.task_queue_polling_interval)
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
                # DBOS's streams and events (keel uses neither) flush their NOTIFYs this
                # often; its default, 10 ms, was the busiest thread of an idle PG worker.
                "notification_coalesce_sec": 0.25,
                "max_executor_threads": SPARE_THREADS
                + sum(contribution.threads for contribution in self.contributions),
                # No ping before every pool checkout on PostgreSQL (a round trip each, 11 %
                # of the queue thread's time): DBOS retries its system-database calls, and
                # the outage test (tests/reliability) proves a restarted database is survived.
                # Connections renewed as often as Django's (CONN_MAX_AGE): each new one reads
                # a password that rotates from its secret (keel.credentials).
                "db_engine_kwargs": {
                    "pool_pre_ping": False,
                    "pool_recycle": system_database.connection_lifetime(),
                },
            }
        )
        DBOS.launch()
        for contribution in self.contributions:
            for queue in contribution.queues:
                DBOS.register_queue(
                    queue.name,
                    worker_concurrency=queue.worker_concurrency,
                    global_concurrency=queue.global_concurrency,
                    partition_concurrency=queue.partition_concurrency,
                    limiter=queue.limiter,  # type: ignore[arg-type]
                    polling_interval_sec=queue.polling_interval,
                    on_conflict="always_update",
                )
        schedules = [
            {
                "schedule_name": schedule.name,
                "workflow_fn": schedule.workflow,
                "schedule": schedule.cron,
                "context": schedule.context,
            }
            for contribution in self.contributions
            for schedule in contribution.schedules
        ]
        if schedules:
            DBOS.apply_schedules(schedules)  # type: ignore[arg-type]
        self.listener = queue_wake.Listener(waker)
        self.listener.start()
        recovery.heartbeat_register(
            executor_id=self.executor_id, application_version=config.application_version
        )
        threading.Thread(target=self._heartbeat_loop, name="keel-heartbeat", daemon=True).start()
        logger.info(
            "worker started",
            extra={
                "executor_id": self.executor_id,
                "application_version": config.application_version,
                "runs": [contribution.name for contribution in self.contributions],
                "queues": [
                    queue.name
                    for contribution in self.contributions
                    for queue in contribution.queues
                ],
            },
        )

    def stop_intake(self) -> None:
        """Start nothing new in this process: stop dequeuing and close the step gate."""
        from dbos._dbos import _get_dbos_instance

        self.stopped.set()
        for event in _get_dbos_instance().background_thread_stop_events:
            event.set()
        if self.listener is not None:
            # Wakes every queue thread, which sees its stop event and ends.
            self.listener.stop()
        drain.close()

    def drain(self, timeout: float) -> bool:
        """Wait for the steps in flight to be checkpointed; False if ``timeout`` passed."""
        return drain.wait_idle(timeout)

    def close(self) -> None:
        """Tell the other workers this executor left, so they recover its workflows now."""
        recovery.heartbeat_stop(executor_id=self.executor_id)
        logger.info(
            "durable worker stopped",
            extra={"executor_id": self.executor_id, "busy_workflows": drain.busy()},
        )

    def _publish_gauges(self) -> None:
        values: dict[str, float] = {}
        for contribution in self.contributions:
            for gauge in contribution.gauges:
                values.update(gauge())
        values[constants.QUEUED_WORK] = values.get(constants.QUEUED_RUNS, 0) + values.get(
            constants.QUEUED_TASKS, 0
        )
        metrics.emit(values)

    def _heartbeat_loop(self) -> None:
        from django.db import close_old_connections

        config = self.config
        next_metrics = time.monotonic()
        while not self.stopped.wait(config.heartbeat_interval):
            try:
                if time.monotonic() >= next_metrics:
                    next_metrics = time.monotonic() + metrics.INTERVAL_SETTING.read()
                    self._publish_gauges()
                if not recovery.heartbeat_beat(executor_id=self.executor_id):
                    # Another worker judged this one dead and took its workflows: carrying
                    # on would run them twice.
                    logger.error("this executor was declared dead; exiting")
                    os._exit(3)
                recovery.executors_recover(
                    executor_id=self.executor_id,
                    application_version=config.application_version,
                    dead_after=config.executor_dead_after,
                )
                for contribution in self.contributions:
                    for sweep in contribution.sweeps:
                        sweep()
            except Exception:
                logger.exception("heartbeat or sweep failed")
                close_old_connections()
