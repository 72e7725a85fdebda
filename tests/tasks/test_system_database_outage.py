"""Each wait a web request can make on a database that is down ends within its bound.

Real sockets on loopback stand in for the two ways a database is down: a port that
refuses (the server crashed, restarts or was stopped) and a port that accepts and never
answers (its host is gone, or a proxy in front of it waits for it). Every call runs in a
thread the test waits for only as long as the bound allows, so a wait that is not
bounded fails the test instead of hanging the suite.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator

import psycopg
import pytest
import sqlalchemy as sa
from django.db import connection
from django.db.utils import ConnectionHandler, OperationalError
from pytest_django.plugin import DjangoDbBlocker

from keel.conf import Env, database_config, web_threads
from keel.constants import (
    API_OUTAGE_ANSWER_BOUND,
    DATABASE_CONNECT_TIMEOUT,
    DATABASE_DEAD_CONNECTION_TIMEOUT,
    DATABASE_POOL_TIMEOUT,
)
from keel.errors import DatabaseUnavailable
from keel.tasks import system_database
from tests.bounded import ALLOWANCE, finishes_within
from tests.processes import free_port, postgres_url


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections (the kernel's backlog) and never says a word."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(64)
        yield int(server.getsockname()[1])


def enqueue() -> None:
    with system_database.unavailable_on_outage():
        system_database.client().enqueue(
            {"workflow_name": "keel_agents.run_agent", "queue_name": "keel_agent_runs"}, "x"
        )


def test_a_client_call_to_a_database_that_refuses_fails_at_once_instead_of_retrying(
    system_database_at: Callable[[int], None],
) -> None:
    """DBOS's client retries a lost connection for as long as it takes, by default."""
    system_database_at(free_port())
    outcome = finishes_within(API_OUTAGE_ANSWER_BOUND + ALLOWANCE, enqueue)
    assert isinstance(outcome.error, DatabaseUnavailable)
    assert isinstance(outcome.error.__cause__, sa.exc.OperationalError)


def test_a_client_call_to_a_server_that_never_answers_gives_up_at_the_connect_timeout(
    system_database_at: Callable[[int], None], silent_port: int
) -> None:
    system_database_at(silent_port)
    outcome = finishes_within(DATABASE_CONNECT_TIMEOUT + ALLOWANCE, enqueue)
    assert isinstance(outcome.error, DatabaseUnavailable)
    assert isinstance(outcome.error.__cause__.orig, psycopg.errors.ConnectionTimeout)  # type: ignore[union-attr]


def test_a_client_pool_checkout_waits_at_most_the_pool_timeout(
    system_database_at: Callable[[int], None],
    silent_port: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The pool has a connection per request thread; beyond that a checkout fails fast."""
    default = system_database.client_engine("postgresql://keel@db/keel")
    assert default.pool.size() == web_threads()  # type: ignore[attr-defined]
    monkeypatch.setenv("WEB_THREADS", "1")
    system_database_at(silent_port)
    engine = system_database.client_engine(f"postgresql://keel@127.0.0.1:{silent_port}/keel")
    assert engine.pool.timeout() == DATABASE_POOL_TIMEOUT  # type: ignore[attr-defined]

    def checkout() -> None:
        with system_database.unavailable_on_outage(), engine.connect():
            pass

    # The only connection is busy connecting to a server that never answers.
    holder = threading.Thread(target=lambda: finishes_within(10, checkout), daemon=True)
    holder.start()
    time.sleep(0.2)
    outcome = finishes_within(DATABASE_POOL_TIMEOUT + ALLOWANCE, checkout)
    assert isinstance(outcome.error, DatabaseUnavailable)
    assert isinstance(outcome.error.__cause__, sa.exc.TimeoutError)
    holder.join()
    engine.dispose()


def test_readiness_probes_of_a_server_that_never_answers_end_at_the_connect_timeout(
    system_database_at: Callable[[int], None], silent_port: int
) -> None:
    """Each probe has its own connection: three at once do not queue for a pool."""
    system_database_at(silent_port)
    errors: list[BaseException] = []

    def probe() -> None:
        with pytest.raises(sa.exc.OperationalError) as raised:
            system_database.check_reachable()
        errors.append(raised.value)

    outcome = finishes_within(
        DATABASE_CONNECT_TIMEOUT + ALLOWANCE, lambda: run_at_once([probe, probe, probe])
    )
    assert outcome.error is None
    assert len(errors) == 3


def run_at_once(calls: list[Callable[[], None]]) -> None:
    threads = [threading.Thread(target=call, daemon=True) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_a_django_connection_to_a_server_that_never_answers_gives_up_at_the_connect_timeout(
    silent_port: int, django_db_blocker: DjangoDbBlocker
) -> None:
    config = database_config(Env({"DATABASE_URL": f"postgres://keel@127.0.0.1:{silent_port}/k"}))
    # A handler of its own: the suite's connections stay untouched.
    handler = ConnectionHandler({"default": config})
    with django_db_blocker.unblock():
        outcome = finishes_within(
            DATABASE_CONNECT_TIMEOUT + ALLOWANCE, handler["default"].ensure_connection
        )
        handler.close_all()
    assert isinstance(outcome.error, OperationalError)
    assert "timeout" in str(outcome.error)


def socket_options(fd: int) -> dict[str, int]:
    duplicate = socket.socket(fileno=os.dup(fd))
    try:
        return {
            "TCP_USER_TIMEOUT": duplicate.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT),
            "SO_KEEPALIVE": duplicate.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
            "TCP_KEEPIDLE": duplicate.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
            "TCP_KEEPINTVL": duplicate.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL),
        }
    finally:
        duplicate.close()


@pytest.mark.skipif(postgres_url() is None, reason="PostgreSQL only: CI's PostgreSQL phase runs it")
@pytest.mark.django_db
def test_keels_connections_hand_the_dead_connection_bound_to_the_kernel() -> None:
    """A statement to a vanished host fails when the kernel says so: these make it say so."""
    expected = {
        "TCP_USER_TIMEOUT": DATABASE_DEAD_CONNECTION_TIMEOUT * 1000,
        "SO_KEEPALIVE": 1,
        "TCP_KEEPIDLE": DATABASE_DEAD_CONNECTION_TIMEOUT,
        "TCP_KEEPINTVL": DATABASE_DEAD_CONNECTION_TIMEOUT,
    }
    connection.ensure_connection()
    assert socket_options(connection.connection.pgconn.socket) == expected
    url = postgres_url()
    assert url is not None
    engine = system_database.client_engine(url)
    with engine.connect() as client_connection:
        dbapi_connection = client_connection.connection.dbapi_connection
        assert socket_options(dbapi_connection.pgconn.socket) == expected  # type: ignore[union-attr]
    engine.dispose()
