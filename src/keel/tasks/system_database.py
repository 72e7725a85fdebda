"""Where DBOS keeps its system tables, and the engine and client keel hands it.

DBOS's SQLite schema needs SQLite >= 3.42; the OS library on many hosts is older, so on
SQLite keel builds the SQLAlchemy engine on sqlean-py's bundled SQLite. An engine passed
to DBOS skips the settings DBOS applies to engines it builds itself, so this one applies
them (IMMEDIATE transactions, done so they cover reads too; a busy timeout; foreign
keys) plus WAL, which lets the web role read while workers write.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from keel import credentials
from keel.conf import POSTGRESQL_ENGINES
from keel.constants import DATABASE_POOL_TIMEOUT
from keel.errors import DatabaseUnavailable
from keel.tasks.conf import durable_settings

if TYPE_CHECKING:
    import sqlalchemy as sa

# SQLAlchemy is imported inside the functions that use it: every keel process loads this
# module at start-up (the readiness check), and SQLAlchemy costs ~0.5 s of CPU to import,
# which a web process that never enqueues a run need not pay before its first request.

#: The DBOS application name every keel process uses, so web and workers share queues.
APPLICATION_NAME = "keel"
#: DBOS's own default suffix for a system database derived from an application database.
POSTGRES_SUFFIX = "_dbos_sys"
SQLITE_BUSY_TIMEOUT_MS = 30_000
#: What DBOS sets on the PostgreSQL engines it builds: a client that died mid-transaction
#: releases its locks on the system tables after this long.
IDLE_TRANSACTION_TIMEOUT_MS = 60_000

_lock = threading.Lock()
_engine: sa.Engine | None = None
_client: Any = None
_probe_engine: sa.Engine | None = None


def system_database_url() -> str:
    """Return the SQLAlchemy URL of the DBOS system database.

    ``DBOS_SYSTEM_DATABASE_URL`` wins; otherwise it sits beside the application database:
    ``<name>_dbos_sys`` on the same PostgreSQL server (DBOS creates it at worker launch),
    or ``<file>.dbos.sqlite3`` next to the SQLite file.
    """
    import sqlalchemy as sa

    # Every engine built from this URL (DBOS's, the client's, the probe's) takes a rotating
    # password from the secret, when one is configured (keel.credentials).
    credentials.install_sqlalchemy_hook()
    configured = durable_settings().system_database_url
    if configured:
        return str(configured)
    database = settings.DATABASES["default"]
    engine = database["ENGINE"]
    if engine in POSTGRESQL_ENGINES:
        url = sa.URL.create(
            "postgresql+psycopg",
            username=database.get("USER") or None,
            password=database.get("PASSWORD") or None,
            host=database.get("HOST") or None,
            port=int(database["PORT"]) if database.get("PORT") else None,
            database=f"{database['NAME']}{POSTGRES_SUFFIX}",
        )
        return url.render_as_string(hide_password=False)
    if engine == "django.db.backends.sqlite3":
        name = str(database["NAME"])
        if name == ":memory:" or name.startswith("file:"):
            raise ImproperlyConfigured(
                "An in-memory SQLite database has no file to put the DBOS system database "
                "next to; set DBOS_SYSTEM_DATABASE_URL."
            )
        path = Path(name)
        return f"sqlite:///{path.with_name(path.stem + '.dbos.sqlite3')}"
    raise ImproperlyConfigured(f"keel.tasks does not support the database engine {engine}.")


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def build_engine(url: str) -> sa.Engine | None:
    """Return the engine to hand DBOS, or None to let DBOS build its own (PostgreSQL)."""
    if not is_sqlite(url):
        return None
    import sqlalchemy as sa
    import sqlean
    from sqlalchemy import event

    engine = sa.create_engine(url, module=sqlean, pool_size=8, max_overflow=8, pool_timeout=30)

    @event.listens_for(engine, "connect")
    def apply_dbos_sqlite_settings(dbapi_connection: Any, connection_record: Any) -> None:
        # What DBOS applies to the SQLite engines it builds: a generous busy timeout
        # rides out lock contention, and foreign keys are enforced.
        dbapi_connection.isolation_level = None
        dbapi_connection.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        dbapi_connection.execute("PRAGMA foreign_keys=ON")
        # Several processes share the file: WAL lets readers proceed during a write.
        dbapi_connection.execute("PRAGMA journal_mode=WAL")
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")

    immediate_transactions(engine)
    return engine


def immediate_transactions(engine: sa.Engine) -> None:
    """Make every transaction on ``engine`` a ``BEGIN IMMEDIATE`` one, reads included.

    DBOS sets the driver's ``isolation_level = "IMMEDIATE"``, but the sqlite3 driver
    begins only before INSERT/UPDATE/DELETE: the SELECT that counts a queue partition's
    running workflows ran outside the transaction that then claims the next ones, so two
    workers could both see one slot free and both fill it (3 running for a limit of 2).
    SQLAlchemy also resets that attribute to "" (deferred) whenever a connection that
    was used in AUTOCOMMIT returns to the pool. Here the driver never begins on its own;
    the first statement of each SQLAlchemy transaction is preceded by ``BEGIN
    IMMEDIATE``, which takes the write lock, so check-then-claim is atomic across
    processes. A transaction that opens with its own BEGIN (DBOS's migrations) or with a
    PRAGMA is left to do so.
    """
    from sqlalchemy import event

    pending = "keel_begin_pending"

    @event.listens_for(engine, "begin")
    def defer_begin(connection: sa.Connection) -> None:
        if connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
            return
        dbapi_connection = connection.connection.dbapi_connection
        assert dbapi_connection is not None
        dbapi_connection.isolation_level = None
        connection.info[pending] = True

    @event.listens_for(engine, "before_cursor_execute")
    def begin_immediate(
        connection: sa.Connection,
        cursor: Any,
        statement: str,
        parameters: Any,
        context: Any,
        executemany: bool,
    ) -> None:
        if not connection.info.get(pending):
            return
        verb = statement.lstrip()[:6].upper()
        if verb.startswith("PRAGMA"):
            return
        connection.info[pending] = False
        if not verb.startswith("BEGIN"):
            cursor.execute("BEGIN IMMEDIATE")

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def transaction_ended(connection: sa.Connection) -> None:
        connection.info[pending] = False


def shared_engine() -> sa.Engine | None:
    """Return this process's engine for the system database (built once)."""
    global _engine
    with _lock:
        if _engine is None:
            _engine = build_engine(system_database_url())
        return _engine


def client() -> Any:
    """Return this process's ``DBOSClient`` (lazy: it connects on first use).

    Web requests enqueue and cancel runs with it, and the worker's sweep enqueues. It
    never retries: DBOS's default blocks a call that lost its connection and retries it
    with back-off up to 60 s and no deadline, which held a ``POST /api/runs/`` through a
    whole outage. Here a call fails within the bounds of ``keel.constants`` instead, and
    the caller decides (``run_create`` leaves the run to the sweep; a cancel is a 503).
    """
    global _client
    with _lock:
        if _client is None:
            from dbos import DBOSClient

            url = system_database_url()
            engine = _engine if _engine is not None else build_engine(url)
            _client = DBOSClient(
                system_database_engine=engine if engine is not None else client_engine(url),
                application_name=APPLICATION_NAME,
                lazy=True,
                retry_connection_errors=False,
            )
        return _client


def client_engine(url: str) -> sa.Engine:
    """Return the PostgreSQL engine for this process's DBOS client, every wait bounded.

    DBOS's client builds its own with a 30 s pool timeout and no connect timeout; this
    one has a connection for every web request thread (a checkout never waits), the
    libpq waits of keel's own connections, and the idle-in-transaction timeout DBOS sets
    on engines it builds (one passed to it gets none).
    """
    import sqlalchemy as sa

    from keel.conf import web_threads

    return sa.create_engine(
        postgres_url(url),
        pool_size=web_threads(),
        max_overflow=0,
        pool_timeout=DATABASE_POOL_TIMEOUT,
        # A connection the database dropped (a restart) is found before use and replaced,
        # so the first hand-off after an outage does not fail.
        pool_pre_ping=True,
        pool_recycle=connection_lifetime(),
        connect_args={
            **wait_options(),
            "application_name": "dbos_transact_client",
            "options": f"-c idle_in_transaction_session_timeout={IDLE_TRANSACTION_TIMEOUT_MS}",
        },
    )


def connection_lifetime() -> int:
    """Seconds a pooled system-database connection lives: the app database's CONN_MAX_AGE
    (ten minutes where that is 0, per request, or unlimited)."""
    lifetime = settings.DATABASES["default"].get("CONN_MAX_AGE") or 0
    return int(lifetime) if lifetime and lifetime > 0 else 600


def postgres_url(url: str) -> sa.URL:
    """Return ``url`` with the psycopg (3) driver, which keel and DBOS both use."""
    import sqlalchemy as sa

    return sa.make_url(url).set(drivername="postgresql+psycopg")


def wait_options() -> dict[str, Any]:
    """Return the libpq waits of keel's own PostgreSQL connections, for DBOS's.

    The system database sits on the same server as keel's tables unless configured
    apart, so ``DATABASE_CONNECT_TIMEOUT`` (in Django's OPTIONS) governs both.
    """
    from keel.conf import postgres_wait_options

    waits = postgres_wait_options()
    database = settings.DATABASES["default"]
    if database["ENGINE"] not in POSTGRESQL_ENGINES:
        return waits
    options = database.get("OPTIONS", {})
    return {name: options.get(name, value) for name, value in waits.items()}


@contextlib.contextmanager
def unavailable_on_outage() -> Iterator[None]:
    """Raise ``DatabaseUnavailable`` for the client's connection and pool errors (a 503)."""
    import sqlalchemy as sa

    try:
        yield
    except (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError) as error:
        raise DatabaseUnavailable(f"DBOS system database: {type(error).__name__}") from error


def check_reachable() -> None:
    """Raise unless the system database answers and DBOS has created its tables.

    On PostgreSQL each probe opens its own connection (no pool to wait on or to hold a
    dead connection): ``/readyz`` is asked rarely, and must answer within
    ``READY_OUTAGE_ANSWER_BOUND`` when the database is down.
    """
    import sqlalchemy as sa

    global _probe_engine
    url = system_database_url()
    engine = shared_engine()
    if engine is None:
        with _lock:
            if _probe_engine is None:
                _probe_engine = sa.create_engine(
                    postgres_url(url), poolclass=sa.NullPool, connect_args=wait_options()
                )
            engine = _probe_engine
    with engine.connect() as connection:
        if is_sqlite(url):
            found = connection.execute(
                sa.text("SELECT 1 FROM sqlite_master WHERE name = 'workflow_status'")
            ).first()
        else:
            found = connection.execute(
                sa.text("SELECT to_regclass('dbos.workflow_status')")
            ).scalar()
    if not found:
        from keel.health.readiness import NotReady

        raise NotReady("DBOS system tables are missing; start a worker (it creates them)")


def migrate() -> None:
    """Create or upgrade the DBOS system database and its tables (the migrate role's job).

    Workers do the same at launch; doing it in ``keel migrate`` makes ``/readyz`` ready
    before the first worker starts. Idempotent and safe to run concurrently.
    """
    from dbos._serialization import DefaultSerializer
    from dbos._sys_db import SystemDatabase

    url = system_database_url()
    engine = shared_engine()
    system_database = SystemDatabase.create(
        system_database_url=url,
        engine_kwargs={"pool_timeout": 30, "max_overflow": 0, "pool_size": 2},
        engine=engine,
        schema="dbos",
        serializer=DefaultSerializer(),
        executor_id=None,
    )
    try:
        system_database.run_migrations()
        if not is_sqlite(url):
            from keel.tasks import queue_wake

            queue_wake.triggers_install(queue_wake.listener_engine(url))
    finally:
        system_database.destroy()
