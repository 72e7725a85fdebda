"""The agents app's settings, with defaults, read from Django settings in one place.

The example project fills these from the environment (``keel.conf.env``) in its
settings module; another project may set them directly.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

#: DBOS recovers a workflow only on executors of the same application version. Keel pins
#: it so a run started by the previous image is finished by the next one; bump it only
#: when a change makes recorded runs unreplayable (docs/agents.md, "Application version").
APPLICATION_VERSION = "keel-agents-1"


@dataclass(frozen=True, kw_only=True, slots=True)
class AgentSettings:
    runs_per_user: int
    run_time_limit: float
    max_input_bytes: int
    worker_concurrency: int
    queue_polling_interval: float
    heartbeat_interval: float
    executor_dead_after: float
    enqueue_grace: float
    event_retention_days: float
    application_version: str
    system_database_url: str | None
    agent_modules: tuple[str, ...]
    event_poll_interval: float


def agent_settings() -> AgentSettings:
    """Return the current settings (read each call so tests can override them)."""
    return AgentSettings(
        runs_per_user=getattr(settings, "KEEL_AGENT_RUNS_PER_USER", 3),
        run_time_limit=getattr(settings, "KEEL_AGENT_RUN_TIME_LIMIT", 1800.0),
        max_input_bytes=getattr(settings, "KEEL_AGENT_MAX_INPUT_BYTES", 65_536),
        worker_concurrency=getattr(settings, "KEEL_AGENT_WORKER_CONCURRENCY", 20),
        queue_polling_interval=getattr(settings, "KEEL_AGENT_QUEUE_POLLING_INTERVAL", 0.05),
        heartbeat_interval=getattr(settings, "KEEL_AGENT_HEARTBEAT_INTERVAL", 5.0),
        executor_dead_after=getattr(settings, "KEEL_AGENT_EXECUTOR_DEAD_AFTER", 30.0),
        enqueue_grace=getattr(settings, "KEEL_AGENT_ENQUEUE_GRACE", 30.0),
        event_retention_days=getattr(settings, "KEEL_AGENT_EVENT_RETENTION_DAYS", 30.0),
        application_version=getattr(
            settings, "KEEL_AGENT_APPLICATION_VERSION", APPLICATION_VERSION
        ),
        system_database_url=getattr(settings, "KEEL_DBOS_SYSTEM_DATABASE_URL", None),
        agent_modules=tuple(getattr(settings, "KEEL_AGENT_MODULES", ())),
        event_poll_interval=getattr(settings, "KEEL_AGENT_EVENT_POLL_INTERVAL", 0.05),
    )
