"""The environment every process under test gets, and the databases they share."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

from bench.processes import BIN, REPO, RESULTS, run_command

POSTGRES_ADMIN_URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")


def base_environment(**overrides: str) -> dict[str, str]:
    """Production-like settings (DEBUG off) for the example project on loopback."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "KEEL_", "PYTEST_", "DATABASE_", "WEB_", "GRANIAN_"))
        and key not in {"ECS_CONTAINER_METADATA_URI_V4", "SQLITE_PATH"}
    }
    environment.update(
        {
            "DJANGO_SETTINGS_MODULE": "example.settings",
            "PYTHONPATH": f"{REPO}{os.pathsep}{REPO / 'src'}",
            "SECRET_KEY": "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz-abcdef",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DEBUG": "false",
            "SECURE_SSL_REDIRECT": "false",
            "WEB_CONCURRENCY": "2",
            # No worker recycling: keel's default (a worker restarts after ~10,000 requests)
            # would restart a cold worker inside a 1.5 s window at 10,000 req/s, and the
            # other servers measured beside it do not recycle.
            "WEB_MAX_REQUESTS": "0",
            "LOG_LEVEL": "WARNING",
            # A developer's .env (``make run`` writes one) must not change what is measured.
            "KEEL_ENV_FILE": "",
            # The workloads are the demo endpoints, called anonymously (production refuses
            # anonymous callers there), and thousands of streams from one loopback client
            # (production caps streams per user and per address).
            "DEMO_ENDPOINTS_PUBLIC": "true",
            "SSE_MAX_STREAMS_PER_USER": "0",
            "SSE_MAX_STREAMS_PER_ADDRESS": "0",
        }
    )
    environment.update(overrides)
    return environment


def migrate(environment: dict[str, str]) -> None:
    """Apply the bench settings' migrations (the example project plus django-tasks-db)."""
    run_command(
        [str(BIN / "keel"), "migrate"],
        environment={**environment, "DJANGO_SETTINGS_MODULE": "bench.settings"},
        timeout=180,
        what="keel migrate",
    )


def sqlite_database(name: str) -> dict[str, str]:
    """Return settings for a fresh, migrated SQLite file under bench/results."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.sqlite3"
    # keel's DBOS system database sits beside the file (keel.tasks.system_database).
    for stem in (path.name, f"{name}.dbos.sqlite3"):
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                (RESULTS / f"{stem}{suffix}").unlink()
    database = {"SQLITE_PATH": str(path)}
    migrate(base_environment(**database))
    return database


@contextlib.contextmanager
def postgres_database(prefix: str = "keel_bench") -> Iterator[dict[str, str]]:
    """Create a fresh, migrated PostgreSQL database for the block; drop it afterwards."""
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = database_url(name)
    try:
        database = {"DATABASE_URL": url}
        migrate(base_environment(**database))
        yield database
    finally:
        drop_postgres_database(name)
        # keel migrate (and keel worker) create DBOS's system database beside it.
        drop_postgres_database(f"{name}_dbos_sys")


def database_url(name: str) -> str:
    return urlunsplit(urlsplit(POSTGRES_ADMIN_URL)._replace(path=f"/{name}"))


def drop_postgres_database(name: str) -> None:
    import psycopg

    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgres_available() -> bool:
    import psycopg

    try:
        with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=3):
            return True
    except psycopg.Error:
        return False
