"""Wake DBOS's queue threads when work arrives, instead of polling the database for it.

DBOS dequeues by polling: each queue's thread sleeps its polling interval, then reads
the queue's row and its waiting work (two queries per queue per poll). Polled every
50 ms, that was most of an idle worker's CPU (20 % of a core on a 2-core machine) and
still cost up to 50 ms of dispatch. Here each queue thread sleeps until it is woken,
with its polling interval kept only as a safety net:

- PostgreSQL: triggers on DBOS's ``workflow_status`` table ``NOTIFY`` the queue's name
  when a workflow is enqueued there (by the web's client, a workflow, a recovery or a
  delayed start) and when a queued workflow leaves ``PENDING`` (a slot under a
  concurrency limit freed). Each worker process holds one ``LISTEN`` connection and
  wakes that queue's thread. Triggers rather than a ``NOTIFY`` after each enqueue call:
  every path that makes work ready goes through that table, including DBOS's own.
- SQLite (one machine): every write to the system database appends to its WAL file; a
  thread blocks on inotify for writes in the file's directory (Linux) and wakes every
  queue thread, at most once per ``SQLITE_WAKE_GAP``. Without inotify (macOS) it looks at
  the files' size and time every ``SQLITE_WAKE_GAP`` instead (a ``stat``, no query).

This is the one module that reaches into DBOS's queue thread (ADR 0002): DBOS looks up
``dbos._queue.queue_worker_thread`` when it starts a queue's thread, and the wrapper
installed here hands it a stop event whose ``wait`` also returns on a wake. Everything
else, the claim queries with their partitions, per-user and per-queue limits, is DBOS's
own and unchanged.

One more wrapper keeps DBOS's per-worker limit (``worker_concurrency``) true when polls
follow each other within milliseconds. A poll counts this worker's load from DBOS's
in-process set of running workflows, which a claimed workflow joins only once it starts
on the executor's thread pool; DBOS's own polls are a second apart, far longer than that.
A woken poll could come first and claim again over the limit (seen in CI: two tasks of a
``worker_concurrency`` 1 queue running at once, out of priority order). So each claimed
workflow's dispatch (``dbos._queue.execute_dequeued_workflow``) returns only once the
workflow has joined that set, or ``REGISTER_WAIT`` has passed.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from keel.tasks import system_database

logger = logging.getLogger("keel.tasks.queue_wake")

#: The PostgreSQL channel; the payload is the queue's name.
CHANNEL = "keel_queue_wake"
#: The shortest time between two wakes from the SQLite file (a burst of writes wakes the
#: queues once per gap, not once per write), and the interval of the ``stat`` fallback.
SQLITE_WAKE_GAP = 0.01
#: The shortest time between two woken polls of one queue (an idle queue's first wake
#: polls at once).
MINIMUM_POLL_GAP = 0.005
#: Longest wait for a dispatched workflow to join DBOS's running set before the queue
#: thread polls again (it takes milliseconds; the bound only keeps a stuck pool from
#: stopping the queue).
REGISTER_WAIT = 5.0
#: Seconds the listener waits before reconnecting after it lost its connection.
RECONNECT_DELAY = 1.0

TRIGGER_SQL = f"""
CREATE OR REPLACE FUNCTION dbos.keel_queue_wake() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('{CHANNEL}', COALESCE(NEW.queue_name, OLD.queue_name));
    RETURN NULL;
END
$$;
CREATE OR REPLACE TRIGGER keel_queue_wake_inserted
    AFTER INSERT ON dbos.workflow_status FOR EACH ROW
    WHEN (NEW.queue_name IS NOT NULL AND NEW.status = 'ENQUEUED')
    EXECUTE FUNCTION dbos.keel_queue_wake();
CREATE OR REPLACE TRIGGER keel_queue_wake_updated
    AFTER UPDATE OF status ON dbos.workflow_status FOR EACH ROW
    WHEN (
        NEW.status IS DISTINCT FROM OLD.status
        AND (
            (NEW.queue_name IS NOT NULL AND NEW.status = 'ENQUEUED')
            OR (OLD.queue_name IS NOT NULL AND OLD.status = 'PENDING')
        )
    )
    EXECUTE FUNCTION dbos.keel_queue_wake();
"""


def triggers_install(engine: Any) -> None:
    """Create or replace the wake triggers in a PostgreSQL system database (idempotent).

    Run by ``keel migrate`` and by each worker at start (after DBOS's migrations), under
    an advisory lock: two processes replacing one trigger at once would conflict.
    """
    import sqlalchemy as sa

    with engine.begin() as connection:
        connection.execute(
            sa.text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": CHANNEL}
        )
        connection.exec_driver_sql(TRIGGER_SQL)


def listener_engine(url: str) -> Any:
    """Return an engine without a pool for the listener's one long-held connection."""
    import sqlalchemy as sa

    return sa.create_engine(
        system_database.postgres_url(url),
        poolclass=sa.NullPool,
        connect_args=system_database.wait_options(),
    )


class Waker:
    """One wake event per queue, set by the listener, cleared by the queue's thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: dict[str, threading.Event] = {}

    def event(self, queue_name: str) -> threading.Event:
        with self._lock:
            return self._events.setdefault(queue_name, threading.Event())

    def wake(self, queue_name: str) -> None:
        self.event(queue_name).set()

    def wake_all(self) -> None:
        with self._lock:
            events = list(self._events.values())
        for event in events:
            event.set()


class WakeableStop:
    """What one queue's DBOS thread waits on: its stop event, or a wake of its queue.

    DBOS calls ``wait(polling_interval)`` between polls and ``is_set()`` to know whether to
    stop; ``wait`` returns early when the queue is woken, and clears the wake before the
    poll it lets through, so a wake during that poll leads to one more.
    """

    def __init__(self, stop: threading.Event, wake: threading.Event) -> None:
        self._stop = stop
        self._wake = wake
        self._polled_at = 0.0

    def is_set(self) -> bool:
        return self._stop.is_set()

    def set(self) -> None:
        self._stop.set()
        self._wake.set()

    def wait(self, timeout: float | None = None) -> bool:
        if self._wake.wait(timeout):
            # Under load every enqueue and every finish wakes the queue; one poll per
            # gap takes them all (a poll of a partitioned queue is a query per owner).
            pause = self._polled_at + MINIMUM_POLL_GAP - time.monotonic()
            if pause > 0:
                self._stop.wait(pause)
            self._wake.clear()
        self._polled_at = time.monotonic()
        return self._stop.is_set()


_installed: Waker | None = None


def install(*, safety_poll: float) -> Waker:
    """Make every DBOS queue thread started from now on wakeable; return the waker.

    Call before ``DBOS.launch()``; a second call returns the same waker. DBOS's internal
    queue looks unwoken every ``safety_poll`` seconds.
    """
    global _installed
    if _installed is not None:
        return _installed
    from dbos import _queue

    waker = Waker()
    original: Callable[..., None] = _queue.queue_worker_thread

    def queue_worker_thread(stop_event: threading.Event, dbos: Any, queue: Any) -> None:
        if not queue.database_backed_queue:
            # DBOS's internal queue (keel's queues are in the database and carry their
            # own interval): woken like the others, so its 1 s poll is only a safety net.
            queue._polling_interval_sec = max(queue._polling_interval_sec, safety_poll)
        wake = waker.event(queue.name)
        # DBOS starts a queue's thread up to a second after the queue is registered:
        # whatever arrived before (its wake had no thread to wake) is taken at once.
        wake.set()
        original(WakeableStop(stop_event, wake), dbos, queue)

    _queue.queue_worker_thread = queue_worker_thread
    _queue.execute_dequeued_workflow = _dispatch_counted(_queue.execute_dequeued_workflow)
    _installed = waker
    return waker


def _dispatch_counted(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap DBOS's dispatch of a claimed workflow: return once it counts as running."""
    joined: dict[str, threading.Event] = {}
    lock = threading.Lock()
    watched: set[int] = set()

    def watch(active: Any) -> None:
        # DBOS's running set (one per DBOS instance): note each workflow as it joins.
        with lock:
            if id(active) in watched:
                return
            watched.add(id(active))
        add = active.add

        def add_noted(key: str, *args: Any, **kwargs: Any) -> Any:
            entry = add(key, *args, **kwargs)
            with lock:
                event = joined.get(key)
            if event is not None:
                event.set()
            return entry

        active.add = add_noted

    def execute_dequeued_workflow(dbos: Any, status: Any, owner_xid: str) -> Any:
        watch(dbos._active_workflows_set)
        workflow_id = status["workflow_uuid"]
        event = threading.Event()
        with lock:
            joined[workflow_id] = event
        try:
            handle = original(dbos, status, owner_xid)
            if not event.wait(REGISTER_WAIT):
                logger.warning(
                    "workflow %s had not started %.0f s after its dispatch",
                    workflow_id,
                    REGISTER_WAIT,
                )
            return handle
        finally:
            with lock:
                joined.pop(workflow_id, None)

    return execute_dequeued_workflow


class Listener:
    """Wake queues when the system database says work is ready (PostgreSQL or SQLite)."""

    def __init__(self, waker: Waker) -> None:
        self.waker = waker
        self.stopped = threading.Event()
        self.url = system_database.system_database_url()
        self._connection: Any = None

    def start(self) -> None:
        """Listen now (so work enqueued after this returns wakes a queue), then in a thread."""
        if system_database.is_sqlite(self.url):
            target: Callable[[], None] = self._watch_file
        else:
            self._engine = listener_engine(self.url)
            triggers_install(self._engine)
            try:
                self._connection = self._listen()
            except Exception:
                logger.warning("queue wake listener could not connect; retrying", exc_info=True)
            target = self._receive
        threading.Thread(target=target, name="keel-queue-wake", daemon=True).start()

    def stop(self) -> None:
        self.stopped.set()
        self.waker.wake_all()

    def _listen(self) -> Any:
        raw = self._engine.raw_connection()
        connection = raw.driver_connection
        connection.autocommit = True
        connection.execute(f"LISTEN {CHANNEL}")
        # Whatever was enqueued while nobody listened is picked up by one look each.
        self.waker.wake_all()
        return raw

    def _receive(self) -> None:
        while not self.stopped.is_set():
            try:
                if self._connection is None:
                    self._connection = self._listen()
                for notify in self._connection.driver_connection.notifies(timeout=1.0):
                    self.waker.wake(notify.payload)
            except Exception:
                if self.stopped.is_set():
                    return
                logger.warning(
                    "queue wake listener lost its connection; reconnecting", exc_info=True
                )
                self._close()
                self.stopped.wait(RECONNECT_DELAY)
        self._close()

    def _close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.close()
            except Exception:
                logger.debug("closing the queue wake connection failed", exc_info=True)

    def _watch_file(self) -> None:
        database = Path(self.url.removeprefix("sqlite:///")).resolve()
        names = {database.name, database.name + "-wal"}
        watch = _inotify(database.parent)
        if watch is None:
            self._poll_file(database)
            return
        with os.fdopen(watch, "rb", buffering=0) as events:
            while not self.stopped.is_set():
                batch = events.read(65536) or b""
                if names & set(_event_names(batch)):
                    self.waker.wake_all()
                    # Writes in the gap are taken by the poll this wake lets through.
                    self.stopped.wait(SQLITE_WAKE_GAP)

    def _poll_file(self, database: Path) -> None:
        files = (database, database.with_name(database.name + "-wal"))
        seen = _signature(files)
        while not self.stopped.wait(SQLITE_WAKE_GAP):
            current = _signature(files)
            if current != seen:
                seen = current
                self.waker.wake_all()


#: inotify(7): a file was written, or created or moved into the directory.
IN_MODIFY, IN_CREATE, IN_MOVED_TO = 0x2, 0x100, 0x80


def _inotify(directory: Path) -> int | None:
    """Return a blocking inotify descriptor watching ``directory`` for writes, or None."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        descriptor = libc.inotify_init()
    except (OSError, AttributeError):
        return None
    if descriptor < 0:
        return None
    mask = IN_MODIFY | IN_CREATE | IN_MOVED_TO
    if libc.inotify_add_watch(descriptor, os.fsencode(directory), mask) < 0:
        os.close(descriptor)
        return None
    return int(descriptor)


def _event_names(batch: bytes) -> list[str]:
    """Return the file names of the ``struct inotify_event`` records in ``batch``."""
    import struct

    names, offset = [], 0
    while offset + 16 <= len(batch):
        _, _, _, length = struct.unpack_from("iIII", batch, offset)
        raw = batch[offset + 16 : offset + 16 + length]
        names.append(raw.rstrip(b"\0").decode(errors="replace"))
        offset += 16 + length
    return names


def _signature(files: tuple[Path, ...]) -> tuple[tuple[int, int, int], ...]:
    signature = []
    for path in files:
        try:
            status = os.stat(path)
        except OSError:
            signature.append((0, 0, 0))
        else:
            signature.append((status.st_ino, status.st_size, status.st_mtime_ns))
    return tuple(signature)
