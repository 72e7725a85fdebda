"""Collect what one invocation prints and logs, for ``X-Amz-Log-Type: Tail`` and the CLI.

Lambda returns the last 4 KB of an invocation's log to a caller that asks. In keel many
invocations share a process, so the collection is per invocation: a context variable
holds the invocation's buffer, ``sys.stdout``/``sys.stderr`` are wrapped once (on first
use) to copy what a handler prints into it, and a logging handler copies log records.
Everything still goes where it went before: the wrapper writes through.
"""

from __future__ import annotations

import contextvars
import io
import logging
import sys
import threading
from typing import Any, TextIO

_buffer: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "keel_lambda_log_buffer", default=None
)
_request_id: contextvars.ContextVar[str] = contextvars.ContextVar(
    "keel_lambda_request_id", default=""
)
_install_lock = threading.Lock()
_handler: logging.Handler | None = None


class _Tee(io.TextIOBase):
    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        buffer = _buffer.get()
        if buffer is not None:
            buffer.append(text)
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()

    def fileno(self) -> int:
        return self.stream.fileno()

    def isatty(self) -> bool:
        return self.stream.isatty()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


class _CaptureHandler(logging.Handler):
    """Copy log records of the current invocation, in the Python runtime's format."""

    def emit(self, record: logging.LogRecord) -> None:
        buffer = _buffer.get()
        if buffer is None:
            return
        stamp = self.formatter.formatTime(record) if self.formatter else ""
        buffer.append(
            f"[{record.levelname}]\t{stamp}\t{_request_id.get()}\t{record.getMessage()}\n"
        )


class _UTCFormatter(logging.Formatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        import time

        seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        return f"{seconds}.{int(record.msecs):03d}Z"


def _install() -> None:
    global _handler
    with _install_lock:
        # Checked every time: whoever replaced sys.stdout since (a test runner, a
        # redirect_stdout) gets wrapped too.
        if not isinstance(sys.stdout, _Tee):
            sys.stdout = _Tee(sys.stdout)
        if not isinstance(sys.stderr, _Tee):
            sys.stderr = _Tee(sys.stderr)
        # Also checked every time: a logging configuration applied since (dictConfig,
        # Django's LOGGING, a test) replaces the root logger's handlers, ours with them.
        if _handler is None:
            _handler = _CaptureHandler()
            _handler.setFormatter(_UTCFormatter())
        root = logging.getLogger()
        if _handler not in root.handlers:
            root.addHandler(_handler)


def begin(request_id: str) -> list[str]:
    """Collect from here on, in this context; return the buffer that fills."""
    _install()
    buffer: list[str] = []
    _buffer.set(buffer)
    _request_id.set(request_id)
    return buffer
