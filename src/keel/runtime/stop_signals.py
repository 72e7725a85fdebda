"""SIGTERM and SIGINT as something a role's main thread waits on, safely.

A Python signal handler runs in the main thread between two bytecodes, wherever that
thread is, so it must not take a lock the main thread may hold. ``threading.Event.set()``
takes the event's (non-reentrant) lock, and ``Event.wait()`` holds that lock for a few
bytecodes on its way in and out: a SIGTERM landing there deadlocked the worker for good
(seen in CI: ``keel worker`` never exited after SIGTERM, killed 30 s later). Logging from
the handler has the same hazard with the stream's buffer.

Here the handler only appends the signal's number to a list and writes a byte to a
non-blocking pipe (neither takes a Python lock); the main thread waits on the pipe's
read end with ``select``. What the handler used to log is logged by the waiter.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
from types import FrameType

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StopSignals:
    """Install with ``install()``; ``wait()`` returns once SIGTERM or SIGINT arrived."""

    def __init__(self) -> None:
        self._read, self._write = os.pipe()
        os.set_blocking(self._write, False)
        #: The numbers of the stop signals received, in order.
        self.received: list[int] = []

    def install(self) -> None:
        for number in STOP_SIGNALS:
            signal.signal(number, self.handle)

    def handle(self, signum: int, frame: FrameType | None) -> None:
        self.received.append(signum)
        # A full pipe already says "stop"; a signal must never block on it.
        with contextlib.suppress(BlockingIOError):
            os.write(self._write, b"\0")

    def wait(self, timeout: float | None = None) -> bool:
        """Wait up to ``timeout`` seconds (None: for ever); return whether one arrived."""
        if self.received:
            return True
        readable, _, _ = select.select([self._read], [], [], timeout)
        return bool(readable) or bool(self.received)

    def is_set(self) -> bool:
        return bool(self.received)

    @property
    def name(self) -> str:
        """The first stop signal's name (``SIGTERM``), or "" before one arrived."""
        return signal.Signals(self.received[0]).name if self.received else ""
