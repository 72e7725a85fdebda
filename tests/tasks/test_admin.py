"""The tasks admin: the list shows status, attempts and errors; failed tasks can be retried.

Driven through Django's test client as staff users, so the real admin site, its
permission checks and its action form are what is tested.
"""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from keel.tasks import services
from keel.tasks.models import TaskRecord, TaskStatus
from tests.tasks import durable_tasks

pytestmark = pytest.mark.django_db(transaction=True)

LIST_URL = "/admin/keel_tasks/taskrecord/"
TRACEBACK = 'Traceback (most recent call last):\n  File "hooks.py"\nConnectionError: refused\n'


@pytest.fixture
def dispatched(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The task ids handed to the workers, in order (instead of enqueueing in DBOS)."""
    handed: list[str] = []
    monkeypatch.setattr(services, "task_dispatch", lambda *, task_id: handed.append(task_id))
    return handed


def failed_task(label: str, attempts: int) -> TaskRecord:
    """A task whose every attempt failed, recorded as the workflow records one."""
    result = durable_tasks.flaky.enqueue(label, 99)
    for attempt in range(1, attempts + 1):
        services.task_attempt_begin(task_id=result.id, attempt=attempt)
        services.task_attempt_fail(
            task_id=result.id,
            error={"exception_class_path": "builtins.ConnectionError", "traceback": TRACEBACK},
            final=attempt == attempts,
        )
    return TaskRecord.objects.get(pk=result.id)


def succeeded_task(label: str) -> TaskRecord:
    result = durable_tasks.marked.enqueue(label)
    services.task_attempt_begin(task_id=result.id, attempt=1)
    services.task_succeed(task_id=result.id, return_value=label)
    return TaskRecord.objects.get(pk=result.id)


def staff_client(django_user_model, *permissions: str) -> Client:  # type: ignore[no-untyped-def]
    user = django_user_model.objects.create_user(
        username=f"operator-{len(permissions)}", password="unused", is_staff=True
    )
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="keel_tasks", codename__in=permissions)
    )
    client = Client()
    client.force_login(user)
    return client


def row_of(html: str, task_id: str) -> str:
    """The changelist's table row of one task, tags stripped, cells separated by |."""
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", html, flags=re.DOTALL)
    [row] = [row for row in rows if task_id in row]
    cells = re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, flags=re.DOTALL)
    return "|".join(re.sub(r"<[^>]+>", "", cell).strip() for cell in cells)


def test_the_list_shows_each_tasks_status_attempts_and_last_error(
    django_user_model, dispatched: list[str]
) -> None:
    failed = failed_task("webhook", attempts=3)
    succeeded = succeeded_task("report")
    client = staff_client(django_user_model, "view_taskrecord")

    response = client.get(LIST_URL)

    assert response.status_code == 200
    html = response.content.decode()
    for heading in ("Status", "Attempts", "Last error"):
        assert f">{heading}<" in html, heading
    failed_row = row_of(html, failed.id)
    assert "|Failed|3|builtins.ConnectionError|" in failed_row, failed_row
    succeeded_row = row_of(html, succeeded.id)
    assert "|Successful|1|-|" in succeeded_row, succeeded_row


def test_the_failed_filter_lists_only_failed_tasks(
    django_user_model, dispatched: list[str]
) -> None:
    failed = failed_task("webhook", attempts=1)
    succeeded = succeeded_task("report")
    client = staff_client(django_user_model, "view_taskrecord")

    html = client.get(LIST_URL, {"status__exact": "FAILED"}).content.decode()

    assert failed.id in html
    assert succeeded.id not in html


def test_a_tasks_page_shows_every_errors_traceback(
    django_user_model, dispatched: list[str]
) -> None:
    failed = failed_task("webhook", attempts=2)
    client = staff_client(django_user_model, "view_taskrecord")

    response = client.get(f"{LIST_URL}{failed.id}/change/")

    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("ConnectionError: refused") == 2
    assert 'name="_save"' not in html  # read-only: the record must agree with the workflow


def test_retry_failed_sends_only_the_failed_tasks_back_to_the_workers(
    django_user_model, dispatched: list[str]
) -> None:
    failed = [failed_task(f"webhook-{index}", attempts=1) for index in range(2)]
    succeeded = succeeded_task("report")
    dispatched.clear()
    client = staff_client(django_user_model, "view_taskrecord", "change_taskrecord")

    response = client.post(
        LIST_URL,
        {
            "action": "retry_failed",
            "_selected_action": [record.id for record in [*failed, succeeded]],
        },
        follow=True,
    )

    assert response.status_code == 200
    assert "Sent 2 failed task(s) back to the workers." in response.content.decode()
    assert sorted(dispatched) == sorted(record.id for record in failed)
    for record in failed:
        record.refresh_from_db()
        assert (record.status, record.generation) == (TaskStatus.READY, 1)
        assert [error["exception_class_path"] for error in record.errors] == [
            "builtins.ConnectionError"
        ]
    succeeded.refresh_from_db()
    assert (succeeded.status, succeeded.generation) == (TaskStatus.SUCCESSFUL, 0)


def test_a_staff_user_who_may_only_view_tasks_cannot_retry_them(
    django_user_model, dispatched: list[str]
) -> None:
    failed = failed_task("webhook", attempts=1)
    dispatched.clear()
    client = staff_client(django_user_model, "view_taskrecord")

    assert "retry_failed" not in client.get(LIST_URL).content.decode()
    client.post(LIST_URL, {"action": "retry_failed", "_selected_action": [failed.id]})

    failed.refresh_from_db()
    assert (failed.status, failed.generation) == (TaskStatus.FAILED, 0)
    assert dispatched == []
