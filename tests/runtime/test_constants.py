"""The runtime numbers line up with each other, and the checker catches each broken relation."""

from __future__ import annotations

import pytest

from keel.runtime import constants
from keel.runtime.constants import check_timeouts


def test_shipped_constants_are_consistent() -> None:
    assert check_timeouts() == []
    assert constants.KEEPALIVE > constants.ALB_IDLE_TIMEOUT
    assert constants.WEB_GRACEFUL_TIMEOUT < constants.STOP_TIMEOUT <= 120
    assert constants.WORKER_GRACEFUL_TIMEOUT < constants.STOP_TIMEOUT


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"keepalive": 60}, "keepalive (60 s) must exceed the ALB idle timeout"),
        ({"graceful_timeout": 120}, "graceful_timeout (120 s) must be below stopTimeout"),
        ({"stop_timeout": 180}, "at most 120 s"),
        ({"deregistration_delay": 300}, "deregistration delay (300 s)"),
        ({"health_check_timeout": 10}, "health-check timeout"),
        ({"sse_heartbeat_interval": 90}, "SSE heartbeat"),
    ],
)
def test_each_broken_relation_is_reported(overrides: dict[str, float], fragment: str) -> None:
    problems = check_timeouts(**overrides)
    assert any(fragment in problem for problem in problems), problems
