"""Calls that must end within a bound: waited for only as long as the bound allows.

A wait that is not bounded then fails its test with the bound it broke, instead of
hanging the suite until pytest-timeout ends it.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import FrameType

#: Added to a bound of keel's before a call or an answer counts as late. A correctness
#: bound, not a benchmark: the waits these tests provoke end at once or at a timeout, so
#: the allowance covers only this machine (two cores, shared with other test runs), where
#: the slowest answer in an outage took 0.3 s (the outage test prints its slowest) and a
#: 2 s connect timeout ended within 0.01 s of it. Over six times that; an unbounded wait
#: (a retry loop, a pool queue) overshoots by the rest of the outage, 10 s and more.
ALLOWANCE = 2.0


@dataclass
class Outcome:
    seconds: float
    error: BaseException | None


def finishes_within(seconds: float, call: Callable[[], object]) -> Outcome:
    """Run ``call`` in a thread; fail unless it returns or raises within ``seconds``."""
    outcome: list[Outcome] = []

    def target() -> None:
        started = time.monotonic()
        try:
            call()
        except BaseException as error:  # handed to the test to look at
            outcome.append(Outcome(time.monotonic() - started, error))
        else:
            outcome.append(Outcome(time.monotonic() - started, None))

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still waiting on the database after {seconds:g} s"
    return outcome[0]


@contextlib.contextmanager
def ends_within(seconds: float) -> Iterator[None]:
    """Fail if the block runs longer than ``seconds`` (main thread only: SIGALRM).

    For calls that must run on the test's own thread, such as those using its database
    connection and transaction. The alarm interrupts the wait; the test fails even if
    the code under test swallows the interruption, and pytest-timeout's own alarm is
    put back afterwards.
    """
    late: list[float] = []

    def alarm(signum: int, frame: FrameType | None) -> None:
        late.append(seconds)
        raise AssertionError(f"still waiting on the database after {seconds:g} s")

    started = time.monotonic()
    previous_handler = signal.signal(signal.SIGALRM, alarm)
    previous_remaining, _ = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous_handler)
        if previous_remaining:
            remaining = previous_remaining - (time.monotonic() - started)
            signal.setitimer(signal.ITIMER_REAL, max(remaining, 0.001))
    assert not late, f"still waiting on the database after {seconds:g} s"
