"""keel.runtime.web.wsgi_pool: WSGI on a thread pool inside the ASGI server, in process."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

import pytest

from keel.runtime.web.wsgi_pool import PREREAD_LIMIT, WSGIPool

Message = dict[str, Any]


def http_scope(
    method: str = "GET", path: str = "/", headers: list[tuple[bytes, bytes]] | None = None
) -> dict[str, Any]:
    return {
        "type": "http",
        "http_version": "1.1",
        "method": method,
        "path": path,
        "root_path": "",
        "query_string": b"",
        "headers": headers or [],
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
    }


class Client:
    """The ASGI server's side: a scripted receive() and a recording send()."""

    def __init__(self, body_messages: list[Message] | None = None) -> None:
        self.incoming: asyncio.Queue[Message] = asyncio.Queue()
        for message in body_messages or [{"type": "http.request", "body": b""}]:
            self.incoming.put_nowait(message)
        self.received_calls = 0
        self.sent: list[Message] = []
        self.sent_threads: list[str] = []
        self.on_send: list[Any] = []

    async def receive(self) -> Message:
        self.received_calls += 1
        return await self.incoming.get()

    async def send(self, message: Message) -> None:
        self.sent.append(message)
        self.sent_threads.append(threading.current_thread().name)
        for hook in self.on_send:
            hook(message)

    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent if m["type"] == "http.response.body")


class Response:
    """A WSGI iterable that records its lifecycle, like Django's HttpResponse."""

    def __init__(self, chunks: list[bytes], *, streaming: bool, events: list[str]) -> None:
        self.chunks = chunks
        self.streaming = streaming
        self.events = events

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks

    def close(self) -> None:
        self.events.append("closed")


def serve(app: Any, scope: dict[str, Any], client: Client, threads: int = 2) -> None:
    async def main() -> None:
        await WSGIPool(app, threads=threads)(scope, client.receive, client.send)

    asyncio.run(main())


def test_a_complete_response_is_sent_after_the_thread_has_finished_with_it() -> None:
    events: list[str] = []
    threads: list[str] = []

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        threads.append(threading.current_thread().name)
        start_response("201 Created", [("Content-Type", "application/json")])
        return Response([b'{"ok":', b" true}"], streaming=False, events=events)

    client = Client()
    client.on_send.append(lambda message: events.append(message["type"]))
    serve(app, http_scope(), client)

    assert threads[0].startswith("keel-wsgi")
    # The iterable is closed (request_finished, connection clean-up) before any byte
    # leaves: the thread never waited for the event loop.
    assert events == ["closed", "http.response.start", "http.response.body"]
    assert client.sent[0]["status"] == 201
    assert client.sent[0]["headers"] == [
        (b"content-type", b"application/json"),
        (b"content-length", b"12"),
    ]
    assert client.body() == b'{"ok": true}'
    assert not client.sent[-1].get("more_body", False)


@pytest.mark.parametrize(
    ("status", "headers", "expected"),
    [
        ("301 Moved Permanently", [], [(b"content-length", b"0")]),
        ("200 OK", [("Content-Length", "5")], [(b"content-length", b"5")]),
        ("204 No Content", [], []),
        ("304 Not Modified", [], []),
    ],
)
def test_a_complete_response_says_its_length_instead_of_being_chunked(
    status: str, headers: list[tuple[str, str]], expected: list[tuple[bytes, bytes]]
) -> None:
    body = b"" if status[0] != "2" or status.startswith("204") else b"hello"

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        start_response(status, headers)
        return Response([body], streaming=False, events=[])

    client = Client()
    serve(app, http_scope(), client)
    assert client.sent[0]["headers"] == expected


def test_a_streaming_response_is_sent_as_it_is_produced() -> None:
    produced_second = threading.Event()
    first_chunk_sent = threading.Event()

    def chunks() -> Iterator[bytes]:
        yield b"first\n"
        # A buffering adapter would never send the first chunk: wait for it to be sent.
        assert first_chunk_sent.wait(timeout=5), "the first chunk was held back"
        produced_second.set()
        yield b"second\n"

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return chunks()

    client = Client()
    client.on_send.append(
        lambda message: first_chunk_sent.set() if message.get("body") == b"first\n" else None
    )
    serve(app, http_scope(), client)

    assert produced_second.is_set()
    assert client.body() == b"first\nsecond\n"
    assert client.sent[0]["type"] == "http.response.start"
    assert client.sent[-1] == {"type": "http.response.body", "body": b""}


def test_a_streamed_response_stops_its_producer_when_the_client_goes_away() -> None:
    produced: list[int] = []
    closed = threading.Event()

    def chunks() -> Iterator[bytes]:
        try:
            for index in range(1000):
                produced.append(index)
                yield b"tick\n"
        finally:
            closed.set()

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "text/event-stream")])
        return chunks()

    client = Client()

    def disconnect_after_three(message: Message) -> None:
        if message.get("body") == b"tick\n" and len(client.sent) == 4:
            client.incoming.put_nowait({"type": "http.disconnect"})

    client.on_send.append(disconnect_after_three)
    serve(app, http_scope(), client)

    assert closed.is_set()
    assert len(produced) < 10, f"the producer ran on after the disconnect: {len(produced)}"


def test_a_stream_stops_its_producer_when_the_server_cancels_the_request() -> None:
    # With a body the application reads itself (chunked, or over PREREAD_LIMIT) nothing
    # watches for http.disconnect; gunicorn then cancels the request's task once its
    # disconnect grace period is over, and sends to the closed connection are dropped
    # silently. The pool thread must still stop streaming, or it is lost for good.
    produced: list[int] = []
    closed = threading.Event()

    def chunks() -> Iterator[bytes]:
        try:
            for index in range(2000):
                produced.append(index)
                time.sleep(0.005)
                yield b"tick\n"
        finally:
            closed.set()

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "text/event-stream")])
        return chunks()

    client = Client([{"type": "http.request", "body": b"ab", "more_body": False}])

    async def main() -> None:
        pool = WSGIPool(app, threads=1)
        scope = http_scope("POST", headers=[(b"transfer-encoding", b"chunked")])
        streaming = asyncio.Event()
        client.on_send.append(lambda message: len(client.sent) >= 4 and streaming.set())
        task = asyncio.create_task(pool(scope, client.receive, client.send))
        await streaming.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await asyncio.to_thread(closed.wait, 5), "the producer ran on after cancel"

    asyncio.run(main())
    assert len(produced) < 100, f"the producer ran on after the cancel: {len(produced)}"


@pytest.mark.parametrize("size", [5, PREREAD_LIMIT, PREREAD_LIMIT + 1, 200_000])
def test_the_request_body_arrives_whole_whatever_its_size(size: int) -> None:
    payload = bytes(index % 251 for index in range(size))
    half = size // 2
    messages = [
        {"type": "http.request", "body": payload[:half], "more_body": True},
        {"type": "http.request", "body": payload[half:], "more_body": False},
    ]
    seen: list[bytes] = []

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        assert environ["CONTENT_LENGTH"] == str(size)
        seen.append(environ["wsgi.input"].read())
        start_response("200 OK", [])
        return [b"done"]

    client = Client(messages)
    serve(
        app,
        http_scope("POST", headers=[(b"content-length", str(size).encode())]),
        client,
    )
    assert seen == [payload]
    assert client.body() == b"done"


def test_a_large_declared_body_is_left_unread_for_the_application_to_refuse() -> None:
    messages = [{"type": "http.request", "body": b"x" * 1000, "more_body": True}]

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        start_response("413 Content Too Large", [])
        return [b"too large"]

    client = Client(messages)
    serve(app, http_scope("POST", headers=[(b"content-length", b"10000000")]), client)
    assert client.received_calls == 0
    assert client.sent[0]["status"] == 413


def test_a_chunked_body_is_read_by_the_application() -> None:
    messages = [
        {"type": "http.request", "body": b"ab", "more_body": True},
        {"type": "http.request", "body": b"cd", "more_body": False},
    ]
    seen: list[bytes] = []

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        seen.append(environ["wsgi.input"].read())
        start_response("200 OK", [])
        return [b""]

    client = Client(messages)
    serve(app, http_scope("POST", headers=[(b"transfer-encoding", b"chunked")]), client)
    assert seen == [b"abcd"]


def test_an_error_before_the_response_starts_reaches_the_server() -> None:
    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        raise RuntimeError("view exploded")

    with pytest.raises(RuntimeError, match="view exploded"):
        serve(app, http_scope(), Client())


def test_exc_info_after_the_headers_went_out_is_re_raised() -> None:
    def chunks(start_response: Any) -> Iterator[bytes]:
        yield b"partial"
        try:
            raise ValueError("midway")
        except ValueError as error:
            start_response("500 Internal Server Error", [], (ValueError, error, None))
        yield b"never"

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        start_response("200 OK", [])
        return chunks(start_response)

    client = Client()
    with pytest.raises(ValueError, match="midway"):
        serve(app, http_scope(), client)
    assert client.sent[0]["status"] == 200
    assert client.body() == b"partial"


def test_exc_info_before_anything_was_sent_replaces_the_response() -> None:
    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        start_response("200 OK", [("X-First", "1")])
        try:
            raise ValueError("changed my mind")
        except ValueError as error:
            start_response(
                "503 Service Unavailable", [("X-Second", "1")], (ValueError, error, None)
            )
        return [b"later"]

    client = Client()
    serve(app, http_scope(), client)
    assert client.sent[0]["status"] == 503
    assert client.sent[0]["headers"] == [(b"x-second", b"1"), (b"content-length", b"5")]


def test_the_write_callable_sends_before_the_iterable() -> None:
    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        write = start_response("200 OK", [])
        write(b"written ")
        return iter([b"iterated"])

    client = Client()
    serve(app, http_scope(), client)
    assert client.body() == b"written iterated"


def test_the_pool_bounds_concurrent_requests() -> None:
    inside = 0
    most = 0
    lock = threading.Lock()
    release = threading.Event()

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        nonlocal inside, most
        with lock:
            inside += 1
            most = max(most, inside)
        release.wait(timeout=0.2)
        with lock:
            inside -= 1
        start_response("200 OK", [])
        return [b"ok"]

    async def main() -> None:
        pool = WSGIPool(app, threads=2)
        clients = [Client() for _ in range(6)]
        await asyncio.gather(*(pool(http_scope(), c.receive, c.send) for c in clients))
        assert all(c.body() == b"ok" for c in clients)

    asyncio.run(main())
    assert most == 2
