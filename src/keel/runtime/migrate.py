"""``keel migrate``: apply migrations once, however many tasks start it at the same time.

On ECS the migrate task runs before every deploy, and a retried deploy or two services
updating at once can start it twice. The first run takes a lock and migrates; every other
run waits for the lock, then finds nothing left to apply. On PostgreSQL the lock is a
session advisory lock (released by the server if the task dies); on SQLite it is an
exclusive file lock beside the database file. Failure is a clear one-line message on
stderr and exit status 1, so the deploy pipeline stops before any service updates.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper

from keel.conf import env

logger = logging.getLogger("keel.migrate")

#: Arbitrary but fixed: every keel deployment sharing a database takes the same lock.
ADVISORY_LOCK_KEY = 0x6B65656C  # "keel"
#: How often a waiting run retries the lock, and logs that it is still waiting.
LOCK_POLL_INTERVAL = 0.5
LOCK_LOG_INTERVAL = 10.0


class LockTimeout(Exception):
    """Another migration held the lock for longer than MIGRATE_LOCK_TIMEOUT."""


def run_migrate() -> int:
    """Apply all migrations under the migration lock; return a process exit status."""
    # Long enough for a slow migration elsewhere, short enough to fail a stuck deploy.
    lock_timeout = env.number("MIGRATE_LOCK_TIMEOUT", 900.0, minimum=0)
    connection = connections[DEFAULT_DB_ALIAS]
    started = time.monotonic()
    try:
        with migration_lock(connection, timeout=lock_timeout):
            waited = time.monotonic() - started
            call_command("migrate", interactive=False, verbosity=1)
            _run_app_migrate_hooks()
    except LockTimeout as error:
        return _fail(str(error), "is another `keel migrate` stuck? Stop it, then retry.")
    except Exception as error:
        # Anything, a failing RunPython included: the deploy must stop with a reason.
        logger.exception("migration failed")
        reason = " ".join(f"{type(error).__name__}: {error}".split())
        return _fail(reason, "fix it and run `keel migrate` again (it is idempotent).")
    logger.info(
        "migrations applied",
        extra={
            "duration_s": round(time.monotonic() - started, 2),
            "lock_wait_s": round(waited, 2),
        },
    )
    return 0


def _run_app_migrate_hooks() -> None:
    """Call each installed app's ``keel_migrate()`` (what it keeps outside Django's
    migrations, such as keel.tasks' DBOS system database), under the same lock."""
    from django.apps import apps

    for config in apps.get_app_configs():
        hook = getattr(config, "keel_migrate", None)
        if hook is not None:
            logger.info(hook(), extra={"app": config.label})


@contextlib.contextmanager
def migration_lock(connection: BaseDatabaseWrapper, *, timeout: float) -> Iterator[None]:
    """Hold the database's migration lock for the block; wait at most ``timeout`` for it."""
    if connection.vendor == "postgresql":
        with _advisory_lock(connection, timeout=timeout):
            yield
    elif connection.vendor == "sqlite" and connection.settings_dict["NAME"] != ":memory:":
        with _file_lock(Path(connection.settings_dict["NAME"]), timeout=timeout):
            yield
    else:
        yield


@contextlib.contextmanager
def _advisory_lock(connection: BaseDatabaseWrapper, *, timeout: float) -> Iterator[None]:
    # A session lock on the connection migrate itself uses, so it is held for exactly as
    # long as the migrations run, and the server drops it if this process dies.
    with connection.cursor() as cursor:

        def try_lock() -> bool:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [ADVISORY_LOCK_KEY])
            return bool(cursor.fetchone()[0])

        _wait_for(try_lock, timeout=timeout, what="PostgreSQL advisory lock")
        try:
            yield
        finally:
            # A broken connection has lost the lock already; never mask the real error.
            with contextlib.suppress(Exception):
                cursor.execute("SELECT pg_advisory_unlock(%s)", [ADVISORY_LOCK_KEY])


@contextlib.contextmanager
def _file_lock(database: Path, *, timeout: float) -> Iterator[None]:
    lock_path = database.with_name(database.name + ".migrate-lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as lock_file:

        def try_lock() -> bool:
            try:
                fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            return True

        _wait_for(try_lock, timeout=timeout, what=f"lock file {lock_path}")
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def _wait_for(try_lock: Callable[[], bool], *, timeout: float, what: str) -> None:
    started = time.monotonic()
    next_log = started
    while not try_lock():
        now = time.monotonic()
        if now - started >= timeout:
            raise LockTimeout(
                f"waited {timeout:g} s for the migration lock ({what}) held by another "
                "migration (MIGRATE_LOCK_TIMEOUT)"
            )
        if now >= next_log:
            logger.info("waiting for the migration lock held by another migration")
            next_log = now + LOCK_LOG_INTERVAL
        time.sleep(LOCK_POLL_INTERVAL)


def _fail(reason: str, hint: str) -> int:
    print(f"keel migrate: FAILED: {reason}; {hint}", file=sys.stderr, flush=True)
    return 1
