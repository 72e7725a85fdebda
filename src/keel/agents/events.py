"""Server-Sent Events for a run: ordered, resumable from ``Last-Event-ID``, ending after
the run's terminal status event.

Under ASGI the source waits without blocking the event loop: on PostgreSQL it sleeps
until the worker's ``NOTIFY`` for the run (one ``LISTEN`` connection per process, shared
by every stream), on SQLite it polls on a short interval. Under WSGI it polls.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Sequence
from typing import Any

from django.db import connections

from keel import credentials
from keel.agents import selectors
from keel.agents.conf import agent_settings
from keel.agents.models import AgentRun, RunEvent
from keel.agents.services import EVENTS_CHANNEL
from keel.conf import POSTGRESQL_ENGINES
from keel.streaming import Event, EventSource, StreamEnd
from keel.tasks import system_database

logger = logging.getLogger("keel.agents.events")

#: Even when woken by NOTIFY, look again at least this often (a missed notification or
#: a listener reconnecting costs at most this much latency).
NOTIFY_SAFETY_POLL = 1.0


def encode(event: RunEvent) -> Event:
    data = {
        "sequence": event.sequence,
        "type": event.type,
        "payload": event.payload,
        "created_at": event.created_at.isoformat(),
    }
    return Event(id=str(event.sequence), event=event.type, data=json.dumps(data))


class RunEventSource(EventSource):
    """The events of one run after sequence number ``after``."""

    def __init__(self, *, run_id: uuid.UUID, after: int) -> None:
        self.run_id = run_id
        self.after = after
        self.poll_interval = agent_settings().event_poll_interval

    def _take(self, events: Sequence[RunEvent]) -> list[Event]:
        if events:
            self.after = events[-1].sequence
        return [encode(event) for event in events]

    def _finished(self, run: AgentRun | None) -> bool:
        return run is None or (run.is_finished and self.after >= run.last_sequence)

    def receive(self, timeout: float) -> Sequence[Event]:
        deadline = time.monotonic() + timeout
        while True:
            events = selectors.run_events_after(run_id=self.run_id, after=self.after)
            if events:
                return self._take(events)
            run = AgentRun.objects.filter(pk=self.run_id).only("status", "last_sequence").first()
            if self._finished(run):
                raise StreamEnd
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            time.sleep(min(self.poll_interval, remaining))

    async def areceive(self, timeout: float) -> Sequence[Event]:
        deadline = time.monotonic() + timeout
        listener = await notifications()
        while True:
            wake = listener.subscribe(self.run_id) if listener else None
            try:
                events = await selectors.arun_events_after(run_id=self.run_id, after=self.after)
                if events:
                    return self._take(events)
                run = (
                    await AgentRun.objects.filter(pk=self.run_id)
                    .only("status", "last_sequence")
                    .afirst()
                )
                if self._finished(run):
                    raise StreamEnd
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                if wake is None:
                    await asyncio.sleep(min(self.poll_interval, remaining))
                else:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(wake.wait(), min(NOTIFY_SAFETY_POLL, remaining))
            finally:
                if listener and wake is not None:
                    listener.unsubscribe(self.run_id, wake)


class Notifications:
    """One ``LISTEN`` connection per event loop, waking the streams of the notified run."""

    def __init__(self) -> None:
        self.waiters: dict[str, set[asyncio.Event]] = {}
        self.task: asyncio.Task[None] | None = None

    def subscribe(self, run_id: uuid.UUID) -> asyncio.Event:
        event = asyncio.Event()
        self.waiters.setdefault(str(run_id), set()).add(event)
        return event

    def unsubscribe(self, run_id: uuid.UUID, event: asyncio.Event) -> None:
        waiting = self.waiters.get(str(run_id))
        if waiting is not None:
            waiting.discard(event)
            if not waiting:
                del self.waiters[str(run_id)]

    def wake(self, run_id: str) -> None:
        for event in self.waiters.get(run_id, ()):
            event.set()

    async def listen(self, conninfo: dict[str, Any]) -> None:
        import psycopg

        while True:
            try:
                rotating = credentials.active()
                if rotating is not None:
                    await asyncio.to_thread(rotating.ensure)
                async with await psycopg.AsyncConnection.connect(
                    autocommit=True, **conninfo
                ) as connection:
                    await connection.execute(f"LISTEN {EVENTS_CHANNEL}")
                    # Wake everyone once: anything sent while not listening is picked up.
                    for run_id in list(self.waiters):
                        self.wake(run_id)
                    async for notify in connection.notifies():
                        self.wake(notify.payload)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                logger.warning(
                    "run event listener lost its connection; reconnecting", exc_info=True
                )
                rotating = credentials.active()
                if rotating is not None and credentials.is_authentication_failure(error):
                    await asyncio.to_thread(rotating.refresh)
                await asyncio.sleep(1.0)


_listeners: dict[asyncio.AbstractEventLoop, Notifications] = {}


async def notifications() -> Notifications | None:
    """Return this event loop's listener on PostgreSQL, or None (SQLite polls)."""
    database = connections.settings["default"]
    if database["ENGINE"] not in POSTGRESQL_ENGINES:
        return None
    loop = asyncio.get_running_loop()
    listener = _listeners.get(loop)
    if listener is None:
        listener = _listeners[loop] = Notifications()
        conninfo = {
            "dbname": database["NAME"],
            "user": database.get("USER") or None,
            "password": database.get("PASSWORD") or None,
            "host": database.get("HOST") or None,
            "port": database.get("PORT") or None,
        }
        # Keel's own bounded waits (keel.conf.postgres_wait_options): a listener whose
        # host vanished notices within seconds and reconnects.
        conninfo.update(system_database.wait_options())
        listener.task = loop.create_task(
            listener.listen({key: value for key, value in conninfo.items() if value is not None})
        )
    return listener
