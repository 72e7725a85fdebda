"""Where DBOS keeps its system tables, and the engine and client keel hands it.

DBOS's SQLite schema needs SQLite >= 3.42; the OS library on many hosts is older, so on
SQLite keel builds the SQLAlchemy engine on sqlean-py's bundled SQLite. An engine passed
to DBOS skips the settings DBOS applies to engines it builds itself, so this one applies
them (IMMEDIATE transactions, done so they cover reads too; a busy timeout; foreign
keys) plus WAL, which lets the web role read while workers write.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

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

    configured = durable_settings().system_database_url
    if configured:
        return str(configured)
    database = settings.DATABASES["default"]
    engine = database["ENGINE"]
    if engine == "django.db.backends.postgresql":
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
    """Return this process's ``DBOSClient`` (lazy: it connects on first use)."""
    global _client
    with _lock:
        if _client is None:
            from dbos import DBOSClient

            url = system_database_url()
            engine = _engine if _engine is not None else build_engine(url)
            _client = DBOSClient(
                system_database_url=None if engine is not None else url,
                system_database_engine=engine,
                application_name=APPLICATION_NAME,
                lazy=True,
                system_database_pool_size=4,
            )
        return _client


def check_reachable() -> None:
    """Raise unless the system database answers and DBOS has created its tables."""
    import sqlalchemy as sa

    global _probe_engine
    url = system_database_url()
    engine = shared_engine()
    if engine is None:
        with _lock:
            if _probe_engine is None:
                _probe_engine = sa.create_engine(
                    url,
                    pool_size=1,
                    max_overflow=1,
                    pool_pre_ping=True,
                    connect_args={"connect_timeout": 5},
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
    finally:
        system_database.destroy()
