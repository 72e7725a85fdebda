"""Settings of keel's durable execution: the worker's DBOS, its heartbeat, and tasks.

Each is its environment variable, else the project's ``KEEL_``-prefixed setting, else the
default here (``keel.conf.Setting``); docs/configuration.md lists them. The worker's
settings had ``AGENT_`` names before tasks shared the worker; those names still work.
"""

from __future__ import annotations

from dataclasses import dataclass

from keel.conf import Setting

#: DBOS recovers a workflow only on executors of the same application version. Keel pins
#: it so a run or task started by the previous image is finished by the next one; change
#: it only when recorded workflows can no longer be replayed (docs/agents.md).
APPLICATION_VERSION = "keel-agents-1"

SETTINGS = {
    "application_version": Setting(
        "DBOS_APPLICATION_VERSION",
        "string",
        APPLICATION_VERSION,
        aliases=("AGENT_APPLICATION_VERSION",),
    ),
    "system_database_url": Setting("DBOS_SYSTEM_DATABASE_URL", "string", None),
    "heartbeat_interval": Setting(
        "WORKER_HEARTBEAT_INTERVAL",
        "number",
        5.0,
        minimum=0.1,
        aliases=("AGENT_HEARTBEAT_INTERVAL",),
    ),
    "executor_dead_after": Setting(
        "WORKER_EXECUTOR_DEAD_AFTER",
        "number",
        30.0,
        minimum=1,
        aliases=("AGENT_EXECUTOR_DEAD_AFTER",),
    ),
    "task_enqueue_grace": Setting("TASK_ENQUEUE_GRACE", "number", 30.0, minimum=0.1),
    "task_queue_polling_interval": Setting(
        "TASK_QUEUE_POLLING_INTERVAL", "number", 5.0, minimum=0.01, maximum=3600
    ),
}


@dataclass(frozen=True, kw_only=True, slots=True)
class DurableSettings:
    application_version: str
    system_database_url: str | None
    heartbeat_interval: float
    executor_dead_after: float
    task_enqueue_grace: float
    task_queue_polling_interval: float


def durable_settings() -> DurableSettings:
    """Return the current settings (read each call, so tests can override them)."""
    return DurableSettings(**{name: setting.read() for name, setting in SETTINGS.items()})
