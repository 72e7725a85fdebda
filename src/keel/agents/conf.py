"""The agents app's settings: each declared once, with its default, bounds and variable.

Each is its environment variable (``AGENT_RUNS_PER_USER``), else the project's setting of
the same name prefixed ``KEEL_`` (``KEEL_AGENT_RUNS_PER_USER = 5``), else the default
below (``keel.conf.Setting``). docs/configuration.md lists them.
"""

from __future__ import annotations

from dataclasses import dataclass

from keel.conf import Setting

SETTINGS = {
    "runs_per_user": Setting("AGENT_RUNS_PER_USER", "integer", 3, minimum=1),
    "run_time_limit": Setting("AGENT_RUN_TIME_LIMIT", "number", 1800.0, minimum=1),
    "max_input_bytes": Setting("AGENT_MAX_INPUT_BYTES", "integer", 65_536, minimum=256),
    "worker_concurrency": Setting("AGENT_WORKER_CONCURRENCY", "integer", 20, minimum=1),
    "queue_polling_interval": Setting(
        "AGENT_QUEUE_POLLING_INTERVAL", "number", 5.0, minimum=0.01, maximum=3600
    ),
    "enqueue_grace": Setting("AGENT_ENQUEUE_GRACE", "number", 30.0, minimum=0.1),
    "event_retention_days": Setting("AGENT_EVENT_RETENTION_DAYS", "number", 30.0, minimum=0),
    "agent_modules": Setting("AGENT_MODULES", "items", []),
    "event_poll_interval": Setting("AGENT_EVENT_POLL_INTERVAL", "number", 0.05, minimum=0.01),
}


@dataclass(frozen=True, kw_only=True, slots=True)
class AgentSettings:
    runs_per_user: int
    run_time_limit: float
    max_input_bytes: int
    worker_concurrency: int
    queue_polling_interval: float
    enqueue_grace: float
    event_retention_days: float
    agent_modules: tuple[str, ...]
    event_poll_interval: float


def agent_settings() -> AgentSettings:
    """Return the current settings (read each call, so tests can override them)."""
    values = {name: setting.read() for name, setting in SETTINGS.items()}
    values["agent_modules"] = tuple(values["agent_modules"])
    return AgentSettings(**values)
