"""``keel worker``: the process that runs durable agent workflows with DBOS.

Start-up: import the workflows and agents (DBOS must know every workflow before launch),
launch DBOS with this process's unique executor id and the pinned application version,
then register the run queue (DBOS requires queues after launch) and the pruning schedule.
A heartbeat thread records that this executor is alive and sweeps for dead ones.

SIGTERM (every ECS deploy): stop dequeuing at once, let the model and tool calls already
in flight finish and be checkpointed, then exit within the graceful timeout. The runs
left PENDING are recovered by another worker from their last completed step.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from types import FrameType

from keel.conf import env
from keel.constants import WORKER_GRACEFUL_TIMEOUT

logger = logging.getLogger("keel.worker")


def run_worker() -> int:
    """Run until SIGTERM or SIGINT; return a process exit status (exits the process)."""
    from dbos import DBOS

    from keel.agents import drain, recovery, registry, services, system_database, workflows
    from keel.agents.conf import agent_settings

    config = agent_settings()
    graceful_timeout = env.number(
        "WORKER_GRACEFUL_TIMEOUT", float(WORKER_GRACEFUL_TIMEOUT), minimum=1, maximum=119
    )
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        logger.info("received %s, draining", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    registry.load()
    executor_id = recovery.executor_id_make()
    url = system_database.system_database_url()
    DBOS(
        config={
            "name": system_database.APPLICATION_NAME,
            "system_database_url": url,
            "system_database_engine": system_database.shared_engine(),
            "application_version": config.application_version,
            "executor_id": executor_id,
            "run_migrations": True,
            "notification_listener_polling_interval_sec": 0.1,
            "scheduler_polling_interval_sec": 5.0,
            "max_executor_threads": max(8, config.worker_concurrency * 2),
            # No ping before every pool checkout on PostgreSQL (a round trip each, 11 % of
            # the queue thread's time): DBOS retries its system-database calls, and the
            # outage test (tests/reliability) proves a restarted database is survived.
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
        executor_id=executor_id, application_version=config.application_version
    )
    logger.info(
        "worker started",
        extra={"executor_id": executor_id, "application_version": config.application_version},
    )

    sweeper = threading.Thread(
        target=_heartbeat_loop, args=(stop, executor_id), name="keel-heartbeat", daemon=True
    )
    sweeper.start()
    stop.wait()

    # Stop dequeuing first: nothing new starts on this worker from here on.
    for event in _dbos_stop_events():
        event.set()
    drain.close()
    drained = drain.wait_idle(graceful_timeout)
    recovery.heartbeat_stop(executor_id=executor_id)
    logger.info(
        "worker stopped" if drained else "worker stopped at the graceful timeout",
        extra={"executor_id": executor_id, "busy_workflows": drain.busy()},
    )
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    # Exit without DBOS.destroy(): parked workflows must stay PENDING for recovery, and
    # nothing here holds state that is not already in the database.
    os._exit(0)


def _dbos_stop_events() -> list[threading.Event]:
    from dbos._dbos import _get_dbos_instance

    return list(_get_dbos_instance().background_thread_stop_events)


def _heartbeat_loop(stop: threading.Event, executor_id: str) -> None:
    from django.db import close_old_connections

    from keel.agents import recovery
    from keel.agents.conf import agent_settings

    config = agent_settings()
    while not stop.wait(config.heartbeat_interval):
        try:
            if not recovery.heartbeat_beat(executor_id=executor_id):
                # Another worker judged this one dead and took its runs: carrying on
                # would run them twice.
                logger.error("this executor was declared dead; exiting")
                os._exit(3)
            recovery.executors_recover(
                executor_id=executor_id,
                application_version=config.application_version,
                dead_after=config.executor_dead_after,
            )
            recovery.runs_overdue_end(run_time_limit=config.run_time_limit)
            recovery.runs_unqueued_enqueue(grace=config.enqueue_grace)
        except Exception:
            logger.exception("heartbeat or sweep failed")
            close_old_connections()
