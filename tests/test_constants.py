"""The runtime numbers line up with each other, and every broken relation is reported."""

from __future__ import annotations

import pytest

from keel import constants
from keel.constants import check_timeouts, timeout_relations


def test_shipped_constants_are_consistent() -> None:
    assert check_timeouts() == []
    assert all(relation.holds for relation in timeout_relations())
    assert constants.KEEPALIVE > constants.ALB_IDLE_TIMEOUT
    assert constants.WEB_GRACEFUL_TIMEOUT < constants.STOP_TIMEOUT <= 120
    assert constants.WORKER_GRACEFUL_TIMEOUT < constants.STOP_TIMEOUT


@pytest.mark.parametrize(
    ("overrides", "key", "fragment"),
    [
        ({"keepalive": 60}, "keepalive", "keepalive > ALB idle timeout (60 s > 60 s)"),
        (
            {"web_graceful_timeout": 120},
            "web_graceful_timeout",
            "web graceful timeout < stopTimeout (120 s < 120 s)",
        ),
        (
            {"worker_graceful_timeout": 130},
            "worker_graceful_timeout",
            "worker graceful timeout < stopTimeout (130 s < 120 s)",
        ),
        ({"stop_timeout": 180}, "stop_timeout", "stopTimeout <= 120 s (180 s <= 120 s)"),
        ({"deregistration_delay": 300}, "deregistration_delay", "deregistration delay"),
        ({"health_check_timeout": 10}, "health_check_timeout", "health-check timeout"),
        ({"sse_heartbeat_interval": 90}, "sse_heartbeat", "SSE heartbeat"),
    ],
)
def test_each_broken_relation_is_reported_once_by_its_key(
    overrides: dict[str, float], key: str, fragment: str
) -> None:
    broken = [relation for relation in timeout_relations(**overrides) if not relation.holds]
    assert [relation.key for relation in broken] == [key]
    assert fragment in broken[0].problem
    assert check_timeouts(**overrides) == [broken[0].problem]


def test_relations_that_involve_the_stop_timeout_say_so() -> None:
    involved = {relation.key for relation in timeout_relations() if relation.involves_stop_timeout}
    assert involved == {
        "stop_timeout",
        "web_graceful_timeout",
        "worker_graceful_timeout",
        "deregistration_delay",
    }
