"""Raw DBOS: a worker process running a no-op workflow from a queue, and its client.

``python -m bench.dbos_app`` runs the worker until SIGTERM/SIGINT. The system database
comes from ``BENCH_DBOS_DATABASE``: a PostgreSQL URL, or a SQLite file path, opened on
the bundled sqlean SQLite because DBOS needs SQLite >= 3.42 (the design's note).
"""

from __future__ import annotations

import os
import signal
import threading
from typing import Any

import sqlalchemy as sa

from bench.jobs import record_start

QUEUE = "keel-bench"
WORKFLOW = "bench_noop"


def system_database() -> dict[str, Any]:
    """Return DBOS config keys for the system database named by the environment."""
    target = os.environ["BENCH_DBOS_DATABASE"]
    if target.startswith(("postgres://", "postgresql://")):
        return {"system_database_url": target}
    return {"system_database_engine": sqlite_engine(target)}


def sqlite_engine(path: str) -> sa.Engine:
    import sqlean

    engine = sa.create_engine(f"sqlite:///{path}", module=sqlean.dbapi2)

    # DBOS skips its own SQLite settings for an engine it is handed; set the same ones.
    @sa.event.listens_for(engine, "connect")
    def configure(connection: Any, record: Any) -> None:
        connection.isolation_level = "IMMEDIATE"
        connection.execute("PRAGMA busy_timeout=30000")
        connection.execute("PRAGMA foreign_keys=ON")
        connection.execute("PRAGMA journal_mode=WAL")

    return engine


def main() -> None:
    from dbos import DBOS, DBOSConfig

    @DBOS.workflow(name=WORKFLOW)
    def noop(tag: str, job: int, enqueued_at: float) -> None:
        record_start(tag, job, enqueued_at)

    config: DBOSConfig = {"name": "keel-bench", **system_database()}  # type: ignore[typeddict-item]
    DBOS(config=config)
    DBOS.launch()
    DBOS.register_queue(QUEUE)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    DBOS.destroy()


if __name__ == "__main__":
    main()
