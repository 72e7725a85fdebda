"""Run a WSGI application on a fixed thread pool inside an ASGI server.

The API half of ``keel.runtime.web.asgi``. a2wsgi, which keel used first, hands every ASGI
message between the pool thread and the event loop and makes the thread wait for each
one: ``start_response``, the body and the end of the body are three round trips per
request, each waiting for an event loop that is also serving a thousand streams. With
1,000 streams open the pool threads spent most of their samples in that wait
(docs/adr/0001-web-runtime.md). Here a request costs two hand-offs, as in any thread
pool: the loop gives the request to a thread and gets the finished response back.

- A response that is not streaming (Django's ``HttpResponse``, a list or tuple) is
  collected in the thread and sent by the loop after the thread is done with it.
- A streaming response (``StreamingHttpResponse``, ``FileResponse``, a generator) is
  sent chunk by chunk as the application yields it, the thread waiting for each send,
  so a slow client slows the producer instead of filling memory. When the client goes
  away the iterable is closed at the next chunk, so its producer stops (gunicorn drops
  sends to a closed connection silently; the loop watches for ``http.disconnect``, and
  the request's task being cancelled counts as the client leaving).
- A request body of known length up to ``PREREAD_LIMIT`` bytes is read on the loop
  before the thread starts; a larger one, or one of unknown length, is read by the
  application through ``wsgi.input``, one ASGI message at a time. Django refuses a
  declared length over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` before reading any of it.

The environ is built by a2wsgi's ``build_environ`` (PEP 3333 from an ASGI scope).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import io
import threading
from collections.abc import Callable, Coroutine, Iterable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import Any, cast

from a2wsgi.wsgi import Body, build_environ

from keel.runtime.web.asgi_types import Message, Receive, Scope, Send

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]
WSGIApp = Callable[..., Iterable[bytes]]

PREREAD_LIMIT = 64 * 1024
"""Bodies up to this many bytes (declared by Content-Length) are read before dispatch."""

#: Responses that never carry a body, so never a Content-Length of keel's making.
NO_BODY_STATUSES = frozenset({100, 101, 102, 103, 204, 304})

Buffered = tuple[int, list[tuple[bytes, bytes]], bytes]


class WSGIPool:
    """An ASGI application that runs ``app`` (WSGI) on ``threads`` pool threads."""

    def __init__(self, app: WSGIApp, *, threads: int) -> None:
        self.app = app
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="keel-wsgi")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        loop = asyncio.get_running_loop()
        body = await _request_body(scope, receive, loop)
        environ = cast(dict[str, Any], build_environ(scope, body))  # type: ignore[arg-type]
        # Once the body is read, receive() has only http.disconnect left to say.
        exchange = _Exchange(loop, send, receive if isinstance(body, io.BytesIO) else None)
        context = contextvars.copy_context()
        try:
            buffered = await loop.run_in_executor(
                self.executor, functools.partial(context.run, exchange.run, self.app, environ)
            )
        finally:
            # Also when this call is cancelled (gunicorn cancels a request once its client
            # has been gone for the disconnect grace period): a thread still streaming
            # stops at its next chunk instead of producing into a dropped connection.
            exchange.client_gone.set()
            if exchange.watcher is not None:
                exchange.watcher.cancel()
        if buffered is not None:
            status, headers, content = buffered
            if status not in NO_BODY_STATUSES and not any(
                name == b"content-length" for name, _ in headers
            ):
                # The whole body is here: say its length rather than send it chunked.
                headers.append((b"content-length", str(len(content)).encode()))
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": content})


async def _request_body(
    scope: Scope, receive: Receive, loop: asyncio.AbstractEventLoop
) -> io.BytesIO | Body:
    length = _declared_length(scope)
    if length is None or length > PREREAD_LIMIT:
        # Unknown (chunked) or large: let the application read it, and refuse it unread.
        return Body(loop, receive)  # type: ignore[arg-type]
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":  # http.disconnect: nothing more will come
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return io.BytesIO(b"".join(chunks))


def _declared_length(scope: Scope) -> int | None:
    """Content-Length as an int; 0 when the request declares no body; None if unknown."""
    length: int | None = 0
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                length = int(value)
            except ValueError:
                return None
        elif name == b"transfer-encoding":
            return None
    return length


class _Exchange:
    """One request's response, seen from the pool thread."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, send: Send, receive: Receive | None
    ) -> None:
        self.loop = loop
        self.send = send
        self.receive = receive
        self.status: int | None = None
        self.headers: list[tuple[bytes, bytes]] = []
        self.headers_sent = False
        self.client_gone = threading.Event()
        self.watcher: asyncio.Task[None] | None = None

    def run(self, app: WSGIApp, environ: MutableMapping[str, Any]) -> Buffered | None:
        """Call ``app``; return a complete response for the loop to send, or None if sent."""
        iterable = app(environ, self.start_response)
        try:
            if not self.headers_sent and _is_buffered(iterable):
                content = b"".join(iterable)
                if self.status is None:
                    raise RuntimeError("the WSGI application returned without start_response")
                return self.status, self.headers, content
            self.loop.call_soon_threadsafe(self._watch_for_disconnect)
            try:
                for chunk in iterable:
                    if chunk:
                        self.write(chunk)
                self._send_headers()
                self._send_now({"type": "http.response.body", "body": b""})
            except _ClientGone:
                pass  # closing the iterable below stops its producer
            return None
        finally:
            close = getattr(iterable, "close", None)
            if close is not None:
                close()

    def start_response(
        self,
        status: str,
        headers: list[tuple[str, str]],
        exc_info: ExcInfo | None = None,
    ) -> Callable[[bytes], None]:
        if exc_info is not None:
            if self.headers_sent:  # PEP 3333: too late to change the response; re-raise
                raise exc_info[1].with_traceback(exc_info[2])
        elif self.status is not None:
            raise RuntimeError("start_response called twice without exc_info")
        self.status = int(status.split(" ", 1)[0])
        self.headers = [
            (name.strip().lower().encode("latin1"), value.strip().encode("latin1"))
            for name, value in headers
        ]
        return self.write

    def write(self, chunk: bytes) -> None:
        """Send part of the body now (WSGI's write callable, and each streamed chunk)."""
        self._send_headers()
        self._send_now({"type": "http.response.body", "body": chunk, "more_body": True})

    def _send_headers(self) -> None:
        if self.headers_sent:
            return
        if self.status is None:
            raise RuntimeError("the WSGI application sent a body before start_response")
        self._send_now(
            {"type": "http.response.start", "status": self.status, "headers": self.headers}
        )
        self.headers_sent = True

    def _send_now(self, message: Message) -> None:
        if self.client_gone.is_set():
            raise _ClientGone
        # Wait for the send: a slow reader holds back the producer rather than memory.
        sending = cast(Coroutine[Any, Any, None], self.send(message))
        asyncio.run_coroutine_threadsafe(sending, self.loop).result()
        if self.client_gone.is_set():
            raise _ClientGone

    def _watch_for_disconnect(self) -> None:
        """On the loop: note when a streamed response's client goes away."""
        if self.receive is not None:
            self.watcher = self.loop.create_task(self._watch(self.receive))

    async def _watch(self, receive: Receive) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        self.client_gone.set()


class _ClientGone(Exception):
    """The client of a streamed response disconnected."""


def _is_buffered(iterable: Iterable[bytes]) -> bool:
    """True for a response whose whole body is already in memory."""
    if isinstance(iterable, (list, tuple)):
        return True
    # Django's HttpResponse says streaming = False; StreamingHttpResponse and
    # FileResponse say True. Anything else (a generator) is treated as streaming.
    return getattr(iterable, "streaming", None) is False
