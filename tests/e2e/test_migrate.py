"""``keel migrate`` is idempotent and fails loudly (concurrent runs: test_container_contract)."""

from __future__ import annotations

import contextlib
import fcntl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from keel.runtime.migrate import ADVISORY_LOCK_KEY
from tests.processes import base_environment, free_port, run_keel, scratch_database

pytestmark = pytest.mark.e2e

NO_DUPLICATES = (
    "from django.db import connection\n"
    "with connection.cursor() as cursor:\n"
    "    cursor.execute('SELECT app, name FROM django_migrations "
    "GROUP BY app, name HAVING COUNT(*) > 1')\n"
    "    print('duplicates:', cursor.fetchall())"
)


def test_migrate_twice_is_idempotent(tmp_path: Path) -> None:
    with scratch_database(tmp_path) as database:
        environment = base_environment(**database)
        first = run_keel(["migrate"], environment)
        second = run_keel(["migrate"], environment)
        assert first.returncode == 0, first.stdout + first.stderr
        assert second.returncode == 0, second.stdout + second.stderr
        assert "No migrations to apply." in second.stdout
        check = run_keel(["manage", "migrate", "--check"], environment)
        assert check.returncode == 0, check.stdout + check.stderr


def test_unreachable_database_fails_with_one_clear_line_and_no_secret() -> None:
    url = f"postgres://keel:hunter2-secret@127.0.0.1:{free_port()}/keel"
    result = run_keel(["migrate"], base_environment(DATABASE_URL=url))

    assert result.returncode == 1
    assert result.stderr.startswith("keel migrate: FAILED: OperationalError")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "hunter2" not in result.stdout + result.stderr


@contextlib.contextmanager
def migration_lock_held(database: dict[str, str]) -> Iterator[None]:
    """Hold the lock another running ``keel migrate`` would hold."""
    if "DATABASE_URL" in database:
        import psycopg

        with psycopg.connect(database["DATABASE_URL"], autocommit=True) as holder:
            holder.execute("SELECT pg_advisory_lock(%s)", [ADVISORY_LOCK_KEY])
            yield
        return
    sqlite_path = Path(database["SQLITE_PATH"])
    with sqlite_path.with_name(sqlite_path.name + ".migrate-lock").open("a") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        yield


def test_a_lock_held_too_long_fails_instead_of_hanging_the_deploy(tmp_path: Path) -> None:
    with scratch_database(tmp_path) as database:
        environment = base_environment(**database, MIGRATE_LOCK_TIMEOUT="1")
        with migration_lock_held(database):
            started = time.monotonic()
            result = run_keel(["migrate"], environment)
            waited = time.monotonic() - started

    assert result.returncode == 1
    assert "keel migrate: FAILED: waited 1 s for the migration lock" in result.stderr
    assert waited < 30
