"""``keel worker``: run the worker services the installed apps provide, drain them on SIGTERM.

The role knows no app. Each installed app whose ``AppConfig`` has a ``keel_worker()``
method returns a service from it (keel.tasks its DBOS worker, which runs the tasks and
agent runs; keel.lambdas its SQS pollers), as Django asks each app for its ``ready()`` and
its management commands. The role starts them in ``INSTALLED_APPS`` order and, on SIGTERM
or SIGINT (every ECS deploy), stops their intake at once, gives them together the graceful
timeout to finish what is in flight, closes them in reverse order and exits. Whatever a
service left unfinished is its own to recover elsewhere (keel.tasks' workflows resume on
another worker).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from typing import Protocol

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured

from keel.conf import env
from keel.constants import WORKER_GRACEFUL_TIMEOUT
from keel.runtime import worker_processes
from keel.runtime.stop_signals import StopSignals

logger = logging.getLogger("keel.worker")


class WorkerService(Protocol):
    """What an app's ``keel_worker()`` returns."""

    name: str

    def start(self) -> None:
        """Start working (return once started; the work runs in threads of its own)."""

    def stop_intake(self) -> None:
        """Take no new work from now on."""

    def drain(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for work in flight; False if it did not finish."""

    def close(self) -> None:
        """Release what the service holds; the process exits next."""


def worker_services() -> list[WorkerService]:
    """Ask every installed app for its worker service, in ``INSTALLED_APPS`` order."""
    services = []
    for config in apps.get_app_configs():
        provide = getattr(config, "keel_worker", None)
        if provide is not None:
            services.append(provide())
    return services


def run_worker() -> int:
    """Run until SIGTERM or SIGINT, then drain and exit the process (status 0).

    With more than one worker process (keel.runtime.worker_processes) this process
    supervises them instead, and each of them runs the services.
    """
    graceful_timeout = env.number(
        "WORKER_GRACEFUL_TIMEOUT", float(WORKER_GRACEFUL_TIMEOUT), minimum=1, maximum=119
    )
    if not worker_processes.is_child():
        count = worker_processes.worker_process_count()
        if count > 1:
            return worker_processes.supervise(count, graceful_timeout=graceful_timeout)
    services = worker_services()
    if not services:
        raise ImproperlyConfigured(
            "no installed app provides a worker service (an AppConfig with keel_worker()); "
            "add keel.tasks to INSTALLED_APPS, whose worker runs the project's tasks and "
            "agent runs (keel.lambdas, on keel.tasks, adds its SQS pollers)."
        )
    stop = StopSignals()
    stop.install()
    # A supervised child starts with them blocked (worker_processes.STOP_SIGNALS); one
    # that arrived during start-up is delivered to the handler now.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, worker_processes.STOP_SIGNALS)
    for service in services:
        service.start()
    stop.wait()
    logger.info("received %s, draining", stop.name)

    for service in services:
        service.stop_intake()
    deadline = time.monotonic() + graceful_timeout
    drained = all([service.drain(max(0.0, deadline - time.monotonic())) for service in services])
    for service in reversed(services):
        service.close()
    logger.info(
        "worker stopped" if drained else "worker stopped at the graceful timeout",
        extra={"services": [service.name for service in services]},
    )
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    # Exit without running interpreter teardown: a service may have work parked forever
    # (the agents' runs wait at their step gate for another worker to resume them), and
    # nothing here holds state that is not already in the database.
    os._exit(0)
