"""A role's stop signals: a handler that cannot deadlock the thread it interrupts."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable
from types import FrameType
from typing import Any

from keel.runtime.stop_signals import StopSignals


def builtins_called(call: Callable[[], object]) -> list[str]:
    """The built-in functions ``call`` invokes (sys.setprofile's c_call events)."""
    seen: list[str] = []

    def profile(frame: FrameType, event: str, argument: Any) -> None:
        if event == "c_call":
            seen.append(getattr(argument, "__qualname__", repr(argument)))

    sys.setprofile(profile)
    try:
        call()
    finally:
        sys.setprofile(None)
    return [name for name in seen if name != "setprofile"]


def test_the_handler_takes_no_lock() -> None:
    # A handler runs between two bytecodes of the main thread; Event.set() there took the
    # lock Event.wait() holds on its way in, and keel worker never exited (CI). Checked
    # against that handler, this finds its lock.__enter__ and lock.acquire.
    stop = StopSignals()
    called = builtins_called(lambda: stop.handle(signal.SIGTERM, None))
    assert called == ["list.append", "write"], called
    assert stop.wait(0)
    assert stop.name == "SIGTERM"


def test_wait_times_out_without_a_signal_and_a_full_pipe_never_blocks_the_handler() -> None:
    stop = StopSignals()
    assert not stop.wait(0.05)
    assert (stop.is_set(), stop.name) == (False, "")
    for _ in range(100_000):  # far more than a pipe holds (64 KiB on Linux)
        stop.handle(signal.SIGINT, None)
    assert stop.wait(0)
    assert stop.name == "SIGINT"


def test_a_real_sigterm_ends_the_wait_of_a_waiting_main_thread() -> None:
    program = textwrap.dedent(
        """
        import os, signal, sys, threading
        from keel.runtime.stop_signals import StopSignals
        stop = StopSignals()
        stop.install()
        threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGTERM)).start()
        print(stop.wait(20), stop.name, flush=True)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=30, check=False
    )
    assert (result.returncode, result.stdout.strip()) == (0, "True SIGTERM"), result.stderr
