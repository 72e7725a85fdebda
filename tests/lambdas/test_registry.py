"""KEEL_LAMBDAS is read once, and every mistake names its function."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from keel.lambdas import registry
from keel.lambdas.triggers import HttpTrigger, QueueTrigger, ScheduleTrigger
from tests.processes import KEEL, REPO, base_environment, run_keel

HANDLER = "tests.lambdas.handlers.create_order"
BROKEN = "tests.lambdas.broken_handlers"


def test_defaults_are_lambdas() -> None:
    (function,) = registry.load({"orders": {"handler": HANDLER}}).values()
    assert (function.timeout, function.memory, function.retries) == (3.0, 128, 2)
    assert function.maximum_event_age == 21_600
    assert function.triggers == ()
    from tests.lambdas import handlers

    assert function.handler is handlers.create_order


def test_triggers_are_read_into_their_kinds() -> None:
    (function,) = registry.load(
        {
            "orders": {
                "handler": HANDLER,
                "triggers": [
                    {"type": "http", "path": "/orders/{id}", "methods": ["get"]},
                    {"type": "sqs", "queue_url": "https://sqs.eu-west-1.amazonaws.com/1/q"},
                    {"type": "schedule", "expression": "rate(5 minutes)"},
                ],
            }
        }
    ).values()
    http, queue, schedule = function.triggers
    assert isinstance(http, HttpTrigger)
    assert (http.methods, http.format, http.stage) == (("GET",), "apigateway-v1", "prod")
    assert http.regex == r"^orders/(?P<id>[^/]+)\Z"
    assert isinstance(queue, QueueTrigger)
    assert queue.batch_size == 10
    assert isinstance(schedule, ScheduleTrigger)
    assert schedule.cron == "0 */5 * * * *"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"handler": "tests.lambdas.nowhere.handler"}, "does not import"),
        ({"handler": "handler"}, "dotted path"),
        ({"handler": f"{BROKEN}.takes_nothing"}, "cannot be called as handler(event, context)"),
        ({"handler": f"{BROKEN}.async_handler"}, "is async"),
        ({"handler": f"{BROKEN}.NOT_CALLABLE"}, "not callable"),
        ({"handler": HANDLER, "timeout": 901}, "timeout must be a number 1-900"),
        ({"handler": HANDLER, "memory": 64}, "memory must be a whole number 128-10240"),
        ({"handler": HANDLER, "retries": 3}, "retries must be a whole number 0-2"),
        ({"handler": HANDLER, "timeut": 3}, "unknown keys ['timeut']"),
        ({"handler": HANDLER, "triggers": [{"type": "sns"}]}, "trigger type 'sns'"),
        (
            {"handler": HANDLER, "triggers": [{"type": "http", "path": "/a/{p+}/b"}]},
            "must be last",
        ),
        (
            {"handler": HANDLER, "triggers": [{"type": "http", "path": "/a", "format": "v3"}]},
            "format 'v3'",
        ),
        (
            {"handler": HANDLER, "triggers": [{"type": "sqs", "queue_url": "orders"}]},
            "queue's URL",
        ),
        (
            {
                "handler": HANDLER,
                "triggers": [{"type": "schedule", "expression": "rate(7 minutes)"}],
            },
            "no exact cron form",
        ),
    ],
)
def test_a_bad_function_is_refused_with_its_name(entry: dict[str, Any], message: str) -> None:
    with pytest.raises(ImproperlyConfigured) as refused:
        registry.load({"orders-api": entry})
    assert "KEEL_LAMBDAS['orders-api']" in str(refused.value)
    assert message in str(refused.value)


def test_two_functions_on_one_route_are_refused() -> None:
    route = {"type": "http", "path": "/orders", "methods": ["GET"]}
    with pytest.raises(ImproperlyConfigured, match="GET /orders is also 'a''s route"):
        registry.load(
            {
                "a": {"handler": HANDLER, "triggers": [route]},
                "b": {"handler": HANDLER, "triggers": [route]},
            }
        )


def test_a_bad_name_is_refused() -> None:
    with pytest.raises(ImproperlyConfigured, match="1-64 letters"):
        registry.load({"orders api": {"handler": HANDLER}})


@pytest.mark.e2e
def test_a_bad_handler_path_stops_start_up_with_the_functions_name() -> None:
    environment = base_environment(DJANGO_SETTINGS_MODULE="tests.lambdas.settings_broken")
    for role in (["manage", "check"], ["worker"], ["lambdas", "list"]):
        result = run_keel(role, environment, timeout=60)
        assert result.returncode == 2, (role, result.stdout, result.stderr)
        assert "configuration error: KEEL_LAMBDAS['legacy-orders']: handler" in result.stderr
        assert "'legacy.orders.handler' does not import" in result.stderr


@pytest.mark.e2e
def test_keel_web_does_not_start_with_a_bad_handler(tmp_path: Path) -> None:
    from bench.processes import free_port

    environment = base_environment(
        DJANGO_SETTINGS_MODULE="tests.lambdas.settings_broken",
        SQLITE_PATH=str(tmp_path / "db.sqlite3"),
    )
    web = subprocess.run(
        [KEEL, "web", "--bind", f"127.0.0.1:{free_port()}"],
        env=environment,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert web.returncode != 0
    assert "KEEL_LAMBDAS['legacy-orders']: handler 'legacy.orders.handler' does not import" in (
        web.stdout + web.stderr
    )
