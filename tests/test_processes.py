"""The suite's one poll-until-true helper: it waits while false, and says why it gave up."""

from __future__ import annotations

import itertools
import time

import pytest

from tests.processes import wait_for


def test_wait_for_returns_once_the_condition_holds() -> None:
    calls = itertools.count(1)
    before = time.monotonic()
    became_true = wait_for(lambda: next(calls) >= 3, 5, "never", interval=0.01)
    # Two false answers, then true: it polled exactly three times, and the time it
    # returns is when the third one answered.
    assert next(calls) == 4
    assert before <= became_true <= time.monotonic()


def test_wait_for_fails_with_the_message_once_the_timeout_passes() -> None:
    with pytest.raises(AssertionError, match=r"^the gate never opened$"):
        wait_for(lambda: False, 0.05, "the gate never opened", interval=0.01)


def test_a_callable_message_says_what_was_seen_when_it_gave_up() -> None:
    seen: list[int] = []

    def grows() -> bool:
        seen.append(len(seen))
        return False

    with pytest.raises(AssertionError) as failure:
        wait_for(grows, 0.05, lambda: f"saw {len(seen)} answers", interval=0.01)
    # The message is made at the moment of failure, after every poll.
    assert str(failure.value) == f"saw {len(seen)} answers"
    assert len(seen) >= 2
