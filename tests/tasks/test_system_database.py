"""The SQLite engine keel hands DBOS makes check-then-claim atomic across processes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
import sqlean

from keel.tasks.system_database import build_engine


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[sa.Engine]:
    built = build_engine(f"sqlite:///{tmp_path / 'dbos.sqlite3'}")
    assert built is not None
    with built.begin() as connection:
        connection.execute(sa.text("CREATE TABLE slots (id INTEGER PRIMARY KEY, state TEXT)"))
        connection.execute(sa.text("INSERT INTO slots (state) VALUES ('pending')"))
    yield built
    built.dispose()


def other_writer(engine: sa.Engine) -> sqlean.Connection:
    """A second process's connection that gives up at once instead of waiting."""
    database = engine.url.database
    assert database is not None
    return sqlean.connect(database, timeout=0, isolation_level=None)


def test_a_transaction_that_only_read_so_far_already_holds_the_write_lock(
    engine: sa.Engine,
) -> None:
    """DBOS counts a partition's running workflows, then claims: nobody may write between."""
    other = other_writer(engine)
    with engine.connect() as connection, connection.begin():
        assert connection.execute(sa.text("SELECT count(*) FROM slots")).scalar() == 1
        with pytest.raises(sqlean.OperationalError, match="locked"):
            other.execute("INSERT INTO slots (state) VALUES ('pending')")
    # Released at commit.
    other.execute("INSERT INTO slots (state) VALUES ('pending')")
    other.close()


def test_a_connection_used_in_autocommit_still_begins_immediate_afterwards(
    engine: sa.Engine,
) -> None:
    """SQLAlchemy resets a pooled connection to deferred BEGIN after AUTOCOMMIT use."""
    with engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT")
        connection.execute(sa.text("UPDATE slots SET state = 'done'"))
    other = other_writer(engine)
    # The pool hands the same connection back (one is idle).
    with engine.connect() as connection, connection.begin():
        connection.execute(sa.text("SELECT state FROM slots")).all()
        with pytest.raises(sqlean.OperationalError, match="locked"):
            other.execute("UPDATE slots SET state = 'pending'")
    other.close()


def test_autocommit_and_explicit_begin_are_left_alone(engine: sa.Engine) -> None:
    with engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT")
        connection.execute(sa.text("UPDATE slots SET state = 'autocommitted'"))
        # No transaction stays open after an autocommit statement.
        other = other_writer(engine)
        other.execute("UPDATE slots SET state = 'other'")
        other.close()
    # DBOS's migrations open with a PRAGMA and their own BEGIN IMMEDIATE.
    with engine.begin() as connection:
        connection.execute(sa.text("PRAGMA foreign_keys = ON"))
        connection.execute(sa.text("BEGIN IMMEDIATE"))
        connection.execute(sa.text("UPDATE slots SET state = 'migrated'"))
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT state FROM slots")).scalar() == "migrated"


def test_rollback_discards_and_releases(engine: sa.Engine) -> None:
    with engine.connect() as connection:
        transaction = connection.begin()
        connection.execute(sa.text("UPDATE slots SET state = 'half-written'"))
        transaction.rollback()
    other = other_writer(engine)
    assert other.execute("SELECT state FROM slots").fetchone() == ("pending",)
    other.execute("UPDATE slots SET state = 'free'")
    other.close()
