"""Carry a run's own database writes through a database outage instead of failing it.

DBOS retries its checkpoint writes while the database is away; the run's writes that
keel makes itself (status changes, streamed events) would otherwise raise on the first
dropped connection, and the run would end ``failed`` for want of a few seconds of
patience. Here such a write waits, with back-off, for the database to come back. A
write whose commit reached the server but whose answer was lost is repeated: a run may
then show one streamed event twice, which is better than losing the run.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable

from django.db import close_old_connections

from keel import constants, metrics
from keel.errors import DATABASE_UNAVAILABLE

logger = logging.getLogger("keel.agents.database_retry")

#: How long a write keeps trying before the error reaches the run (a managed database's
#: failover takes one to two minutes).
RETRY_FOR = 300.0
FIRST_DELAY = 0.2
MAX_DELAY = 5.0


def retrying_through_outages[**P, R](
    function: Callable[P, R], *, retry_for: float = RETRY_FOR
) -> Callable[P, R]:
    """Wrap a synchronous database call so it retries while the database is unavailable."""

    @functools.wraps(function)
    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        deadline = time.monotonic() + retry_for
        delay = FIRST_DELAY
        while True:
            try:
                return function(*args, **kwargs)
            except DATABASE_UNAVAILABLE as error:
                if time.monotonic() + delay > deadline:
                    raise
                metrics.emit({constants.DATABASE_ERRORS: 1})
                logger.warning(
                    "database unavailable, retrying",
                    extra={
                        "call": function.__name__,
                        "exception_type": type(error).__name__,
                        "retry_in_s": delay,
                    },
                )
                # Drop this thread's broken connection so the next attempt opens a new one.
                close_old_connections()
                time.sleep(delay)
                delay = min(delay * 2, MAX_DELAY)

    return call
