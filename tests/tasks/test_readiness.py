"""``/readyz``'s ``tasks`` check: green when every keel task backend loads and its table
answers; red, saying why, when a backend is misconfigured or its table is unreachable.

Requests go through Django's test client to the real readiness view. Other checks (the
DBOS system database) may be red in-process; each test reads the ``tasks`` entry.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from asgiref.local import Local
from django.db import connection
from django.test import Client
from pytest_django.fixtures import Settings

from keel.tasks.api import task_backends
from keel.tasks.models import TaskRecord
from keel.tasks.readiness import check_task_queues

pytestmark = pytest.mark.django_db


def forget_task_backends() -> None:
    """Make Django build the task backends from ``TASKS`` again (it caches them)."""
    task_backends.__dict__.pop("settings", None)
    task_backends._settings = None
    task_backends._connections = Local()


@pytest.fixture
def tasks_setting(settings: Settings) -> Iterator[Callable[[Any], None]]:
    """Replace ``TASKS`` for one test; the next one builds the project's backends again."""

    def configure(value: Any) -> None:
        settings.TASKS = value
        forget_task_backends()

    yield configure
    forget_task_backends()


def tasks_check(client: Client) -> tuple[int, dict[str, Any]]:
    response = client.get("/readyz", headers={"host": "app.example.com"})
    return response.status_code, response.json()["checks"]["tasks"]


def test_the_tasks_check_passes_with_the_projects_backends(client: Client) -> None:
    check_task_queues()
    status, check = tasks_check(client)
    assert check["ok"] is True, check
    assert "error" not in check
    assert status in (200, 503)  # 503 only if another check (the system database) is red


def test_a_misconfigured_queue_fails_the_check_naming_the_setting(
    client: Client, settings: Settings, tasks_setting: Callable[[Any], None]
) -> None:
    broken = copy.deepcopy(settings.TASKS)
    broken["default"]["OPTIONS"]["queues"]["reports"] = {"concurency": 2}
    tasks_setting(broken)

    status, check = tasks_check(client)

    assert status == 503
    assert check["ok"] is False
    assert "TASKS['default']['OPTIONS']['queues']['reports']" in check["error"]
    assert "concurency" in check["error"]


def test_a_backend_that_does_not_import_fails_the_check(
    client: Client, settings: Settings, tasks_setting: Callable[[Any], None]
) -> None:
    tasks_setting({**settings.TASKS, "mail": {"BACKEND": "no.such.module.Backend"}})

    status, check = tasks_check(client)

    assert status == 503
    assert check["ok"] is False
    assert "no.such.module.Backend" in check["error"]


def test_an_unreachable_task_table_fails_the_check(client: Client) -> None:
    table = TaskRecord._meta.db_table
    # Inside the test's transaction: the rename is rolled back with it.
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {table} RENAME TO {table}_gone")

    status, check = tasks_check(client)

    assert status == 503
    assert check["ok"] is False
    # The driver's message stays in the log; the response names only the exception type.
    assert check["error"] in {"OperationalError", "ProgrammingError"}, check
