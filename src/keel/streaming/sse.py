"""One way to return Server-Sent Events that streams in both server modes.

Django buffers a StreamingHttpResponse whose iterator is of the wrong kind for the
server: under ASGI it consumes a sync iterator to the end before sending a byte, and
under WSGI it does the same to an async one. A token stream then arrives all at once.
``SSEResponse`` looks at the request it answers (``ASGIRequest`` or ``WSGIRequest``)
and drives its ``EventSource`` with the matching kind of iterator, so a view never
chooses, and never chooses wrong.

An ``EventSource`` is asked for events with a timeout in both forms (``receive`` and
``areceive``). That lets the response send a heartbeat comment whenever a stream has
been quiet for ``heartbeat`` seconds, in either mode, without a helper thread.

Every ``SSEResponse`` counts against its caller's cap of open streams
(``keel.streaming.limits``) from construction until it ends or its client goes away.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, StreamingHttpResponse

from keel.conf import Setting
from keel.constants import ALB_IDLE_TIMEOUT, SSE_HEARTBEAT_INTERVAL
from keel.streaming.limits import stream_slot_acquire

logger = logging.getLogger("keel.streaming")

#: Seconds of silence after which a stream sends a heartbeat comment; below the ALB's
#: idle timeout, or the ALB cuts quiet streams.
HEARTBEAT_SETTING = Setting(
    "SSE_HEARTBEAT_INTERVAL",
    "number",
    SSE_HEARTBEAT_INTERVAL,
    minimum=0.05,
    maximum=ALB_IDLE_TIMEOUT - 5,
)

#: Marks a view as streaming so the ASGI router sends it to Django's ASGI handler.
STREAMING_VIEW_ATTRIBUTE = "keel_streaming"

View = TypeVar("View", bound=Callable[..., Any])


def streaming_view[View: Callable[..., Any]](view: View) -> View:
    """Mark ``view`` as one that returns an ``SSEResponse``.

    Under ``keel web --server asgi`` requests go to Django's WSGI handler on a bounded
    thread pool, except those whose view carries this mark: they go to Django's ASGI
    handler, where an open stream costs a coroutine instead of a pool thread.
    """
    setattr(view, STREAMING_VIEW_ATTRIBUTE, True)
    return view


class StreamEnd(Exception):
    """Raised by an ``EventSource`` when it has nothing more to send."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Event:
    """One Server-Sent Event."""

    data: str
    event: str | None = None
    id: str | None = None
    retry_ms: int | None = None

    def encode(self) -> bytes:
        lines = []
        if self.id is not None:
            lines.append(f"id: {_single_line(self.id, 'id')}")
        if self.event is not None:
            lines.append(f"event: {_single_line(self.event, 'event')}")
        if self.retry_ms is not None:
            lines.append(f"retry: {int(self.retry_ms)}")
        lines.extend(f"data: {line}" for line in self.data.splitlines() or [""])
        return ("\n".join(lines) + "\n\n").encode()


def _single_line(value: str, field: str) -> str:
    if "\n" in value or "\r" in value:
        raise ValueError(f"an SSE {field} cannot contain a line break")
    return value


HEARTBEAT = b": heartbeat\n\n"


class EventSource:
    """What an ``SSEResponse`` reads from. Subclasses implement both receive methods.

    Each returns the events available within ``timeout`` seconds (an empty sequence
    when none arrived, which makes the response send a heartbeat) and raises
    ``StreamEnd`` once the stream is over. ``close``/``aclose`` release resources; they
    run when the stream ends and when the client goes away.
    """

    def receive(self, timeout: float) -> Sequence[Event]:
        raise NotImplementedError

    async def areceive(self, timeout: float) -> Sequence[Event]:
        raise NotImplementedError

    def close(self) -> None:
        """Release resources held for the stream (sync mode)."""

    async def aclose(self) -> None:
        """Release resources held for the stream (async mode)."""


class SSEResponse(StreamingHttpResponse):
    """Stream ``source`` as ``text/event-stream``, unbuffered under WSGI and ASGI."""

    keel_sse = True

    def __init__(
        self,
        request: HttpRequest,
        source: EventSource,
        *,
        heartbeat: float | None = None,
        status: int = 200,
        owner: object | None = None,
    ) -> None:
        if heartbeat is None:
            heartbeat = HEARTBEAT_SETTING.read()
        if heartbeat <= 0:
            raise ValueError("heartbeat must be positive")
        # Before the stream is built: beyond the caller's cap this raises
        # keel.errors.TooManyStreams (a 429). ``owner`` is the user a view authenticated
        # itself; without one the session's user, else the client address, is counted.
        self.slot = stream_slot_acquire(request=request, owner=owner)
        # Given back when the stream ends or the client goes away (the iterators' finally,
        # close()); this catches a response that is dropped without either.
        weakref.finalize(self, self.slot.release)
        self.source = source
        self.heartbeat = heartbeat
        # Iteration happens after the middleware has returned, outside the request's
        # logging context, so keep the id for the closing log line.
        self.request_id = getattr(request, "keel_request_id", None)
        content: Iterator[bytes] | AsyncIterator[bytes]
        content = self._aiterate() if isinstance(request, ASGIRequest) else self._iterate()
        super().__init__(content, status=status, content_type="text/event-stream; charset=utf-8")
        self["Cache-Control"] = "no-cache"
        # Tell nginx-style proxies (and anything honouring it) not to buffer the stream.
        self["X-Accel-Buffering"] = "no"

    def close(self) -> None:
        # Django's ASGI handler closes the response after the client went away without
        # closing an async iterator it was cancelled in; release the slot here too.
        self.slot.release()
        super().close()

    def _iterate(self) -> Iterator[bytes]:
        # Send something at once: headers reach the client and proxies commit to streaming.
        yield b": stream open\n\n"
        sent, finished = 0, False
        try:
            while True:
                try:
                    events = self.source.receive(self.heartbeat)
                except StreamEnd:
                    finished = True
                    return
                sent += len(events)
                yield b"".join(event.encode() for event in events) if events else HEARTBEAT
        finally:
            # Runs when the stream ends and when the server closes the response because
            # the client went away (a write failed), so the producer stops promptly.
            self.source.close()
            self.slot.release()
            _log_closed(self.request_id, sent, finished, "wsgi")

    async def _aiterate(self) -> AsyncIterator[bytes]:
        yield b": stream open\n\n"
        sent, finished = 0, False
        try:
            while True:
                try:
                    events = await self.source.areceive(self.heartbeat)
                except StreamEnd:
                    finished = True
                    return
                sent += len(events)
                yield b"".join(event.encode() for event in events) if events else HEARTBEAT
        finally:
            # Django cancels this iterator when the client disconnects; the source is
            # closed even then, so its producer stops promptly.
            self.slot.release()
            await asyncio.shield(self.source.aclose())
            _log_closed(self.request_id, sent, finished, "asgi")


def _log_closed(request_id: str | None, sent: int, finished: bool, mode: str) -> None:
    logger.info(
        "event stream closed",
        extra={
            "request_id": request_id,
            "events_sent": sent,
            "reason": "source finished" if finished else "client disconnected",
            "mode": mode,
        },
    )


class TickerSource(EventSource):
    """Emit ``count`` numbered events, one every ``interval`` seconds (a demo and test aid)."""

    def __init__(self, *, count: int, interval: float, start_after: int = 0) -> None:
        self.count = count
        self.interval = interval
        self.sent = start_after
        self.next_at = time.monotonic()
        self.closed = False

    def _due(self) -> list[Event]:
        if self.sent >= self.count:
            raise StreamEnd
        self.sent += 1
        self.next_at = time.monotonic() + self.interval
        payload = f'{{"tick": {self.sent}, "sent_at": {time.time():.6f}}}'
        return [Event(id=str(self.sent), event="tick", data=payload)]

    def _wait(self, timeout: float) -> float:
        return max(0.0, min(timeout, self.next_at - time.monotonic()))

    def receive(self, timeout: float) -> Sequence[Event]:
        if self.sent >= self.count:
            raise StreamEnd
        wait = self._wait(timeout)
        time.sleep(wait)
        return self._due() if time.monotonic() >= self.next_at else []

    async def areceive(self, timeout: float) -> Sequence[Event]:
        if self.sent >= self.count:
            raise StreamEnd
        await asyncio.sleep(self._wait(timeout))
        return self._due() if time.monotonic() >= self.next_at else []

    def close(self) -> None:
        self.closed = True

    async def aclose(self) -> None:
        self.closed = True
