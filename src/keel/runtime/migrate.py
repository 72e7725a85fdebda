"""``keel migrate``: apply migrations once, however many tasks start it at the same time."""

from __future__ import annotations

import logging
import time

from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

logger = logging.getLogger("keel.migrate")

#: Arbitrary but fixed: every keel deployment sharing a database takes the same lock.
ADVISORY_LOCK_KEY = 0x6B65656C  # "keel"


def run_migrate() -> int:
    """Apply all migrations; return a process exit status."""
    connection = connections[DEFAULT_DB_ALIAS]
    started = time.monotonic()
    try:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                logger.info("waiting for the migration advisory lock")
                cursor.execute("SELECT pg_advisory_lock(%s)", [ADVISORY_LOCK_KEY])
                try:
                    call_command("migrate", interactive=False, verbosity=1)
                finally:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [ADVISORY_LOCK_KEY])
        else:
            call_command("migrate", interactive=False, verbosity=1)
    except (CommandError, DatabaseError) as error:
        logger.error("migration failed: %s", error)
        print(f"keel migrate: failed: {error}", flush=True)
        return 1
    logger.info("migrations applied", extra={"duration_s": round(time.monotonic() - started, 2)})
    return 0
