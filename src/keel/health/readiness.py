"""Readiness checks behind ``/readyz``: deep, for humans, preflight and deploy gates.

Each check is a callable that returns normally when healthy and raises when not.
Apps add their own with ``register`` (the agents app adds the DBOS system database).
Results never include exception messages: a driver's message can carry hosts, users
or a connection string. The full error goes to the log, the response names its type.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

logger = logging.getLogger("keel.health.readiness")

Check = Callable[[], None]
_checks: dict[str, Check] = {}
#: A check's name -> the check that must pass before it can tell anything.
_requires: dict[str, str] = {}


class NotReady(Exception):
    """A check's own, safe-to-show reason for failing."""


@dataclass(frozen=True, kw_only=True)
class CheckResult:
    name: str
    ok: bool
    duration_ms: float
    error: str | None = None

    def as_dict(self) -> dict[str, object]:
        result: dict[str, object] = {"ok": self.ok, "duration_ms": self.duration_ms}
        if self.error:
            result["error"] = self.error
        return result


def register(name: str, *, requires: str | None = None) -> Callable[[Check], Check]:
    """Register a readiness check under ``name`` (re-registering replaces it).

    A check that ``requires`` another is not run when that one failed: it could only
    fail the same way, after waiting as long again for a database that is down.
    """

    def decorator(check: Check) -> Check:
        _checks[name] = check
        if requires is None:
            _requires.pop(name, None)
        else:
            _requires[name] = requires
        return check

    return decorator


def run_checks() -> list[CheckResult]:
    """Run every registered check, in registration order, and time each."""
    results: list[CheckResult] = []
    failed: set[str] = set()
    for name, check in _checks.items():
        required = _requires.get(name)
        if required in failed:
            failed.add(name)
            results.append(
                CheckResult(
                    name=name, ok=False, duration_ms=0.0, error=f"not checked: {required} failed"
                )
            )
            continue
        started = time.perf_counter()
        error = None
        try:
            check()
        except NotReady as reason:
            error = str(reason)
        except Exception as exception:
            error = type(exception).__name__
            logger.warning("readiness check %s failed", name, exc_info=True)
        duration_ms = round((time.perf_counter() - started) * 1000, 1)
        if error is not None:
            failed.add(name)
        results.append(
            CheckResult(name=name, ok=error is None, duration_ms=duration_ms, error=error)
        )
    return results


@register("database")
def check_database() -> None:
    connection = connections[DEFAULT_DB_ALIAS]
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


@register("migrations", requires="database")
def check_migrations() -> None:
    connection = connections[DEFAULT_DB_ALIAS]
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        names = sorted({f"{migration.app_label}.{migration.name}" for migration, _ in plan})
        shown = ", ".join(names[:5]) + (" ..." if len(names) > 5 else "")
        raise NotReady(f"{len(names)} unapplied migration(s): {shown}; run `keel migrate`")
