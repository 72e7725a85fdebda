"""What each app runs in the worker's one DBOS: its workflows, queues, schedules, sweeps.

``keel worker`` launches DBOS once per process (keel.tasks.worker). Every installed app
whose ``AppConfig`` has ``keel_durable()`` returns a ``Contribution``: keel.tasks brings
the task workflows and one queue per declared task queue, keel.agents its run workflow,
run queue, pruning schedule and sweeps. Each queue keeps its own limits, so neither kind
of work starves the other.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps


@dataclass(frozen=True, kw_only=True, slots=True)
class Queue:
    """A DBOS queue and its limits (DBOS.register_queue)."""

    name: str
    worker_concurrency: int | None = None
    global_concurrency: int | None = None
    partition_concurrency: int | None = None
    limiter: dict[str, float] | None = None
    #: Seconds between looks at the queue when nothing woke its thread (keel.tasks.queue_wake).
    polling_interval: float = 5.0


@dataclass(frozen=True, kw_only=True, slots=True)
class Schedule:
    name: str
    workflow: Callable[..., Any]
    #: A cron expression with seconds (DBOS's six-field form).
    cron: str
    #: The second argument of every scheduled call (one workflow can serve many schedules).
    context: Any = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Contribution:
    name: str
    #: Imported before DBOS launches: importing them registers their workflows.
    workflow_modules: tuple[str, ...] = ()
    #: Run once before launch (after the imports), e.g. loading agent registries.
    prepare: Callable[[], None] | None = None
    queues: tuple[Queue, ...] = ()
    schedules: tuple[Schedule, ...] = ()
    #: Run at every heartbeat: finish what a dying process left half-done.
    sweeps: tuple[Callable[[], object], ...] = field(default=())
    #: Executor threads this app's sync workflows may occupy at once.
    threads: int = 0
    #: Read at every metrics interval and published (keel.metrics): name -> value.
    gauges: tuple[Callable[[], Mapping[str, float]], ...] = ()


def polling_interval(configured: float, rate_limit: dict[str, float] | None) -> float:
    """Return how often to look at a queue unwoken: a rate limit's window moves on with
    no write to wake anyone, so a rate-limited queue looks at least once a period."""
    if rate_limit:
        return min(configured, rate_limit["period"])
    return configured


def contributions() -> list[Contribution]:
    """Every installed app's contribution, in ``INSTALLED_APPS`` order."""
    found = []
    for config in apps.get_app_configs():
        contribute = getattr(config, "keel_durable", None)
        if contribute is not None:
            found.append(contribute())
    return found


def tasks_contribution() -> Contribution:
    """keel.tasks: the task workflows, and a queue per queue of each keel task backend."""
    from django.conf import settings

    from keel.tasks import services
    from keel.tasks.api import task_backends
    from keel.tasks.backend import DurableBackend
    from keel.tasks.conf import durable_settings

    config = durable_settings()
    queues = []
    for alias in getattr(settings, "TASKS", {}):
        backend = task_backends[alias]
        if not isinstance(backend, DurableBackend):
            continue
        for limits in backend.limits.values():
            queues.append(
                Queue(
                    name=services.dbos_queue_name(backend=alias, queue_name=limits.name),
                    worker_concurrency=limits.worker_concurrency,
                    global_concurrency=limits.concurrency,
                    limiter=limits.rate_limit,
                    polling_interval=polling_interval(
                        config.task_queue_polling_interval, limits.rate_limit
                    ),
                )
            )
    return Contribution(
        name="tasks",
        workflow_modules=("keel.tasks.workflows",),
        queues=tuple(queues),
        sweeps=(lambda: services.tasks_unenqueued_dispatch(grace=config.task_enqueue_grace),),
        threads=sum(queue.worker_concurrency or 0 for queue in queues),
        gauges=(services.task_gauges,),
    )
