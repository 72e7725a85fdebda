"""SSE encoding and mode selection, in-process under Django's WSGI and ASGI handlers."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient, Client, override_settings

from keel.runtime.web.asgi import is_streaming_path
from keel.streaming import Event


def test_event_encoding() -> None:
    event = Event(id="7", event="token", data="line one\nline two", retry_ms=1500)
    assert event.encode() == (
        b"id: 7\nevent: token\nretry: 1500\ndata: line one\ndata: line two\n\n"
    )
    assert Event(data="").encode() == b"data: \n\n"


@pytest.mark.parametrize("field", ["id", "event"])
def test_line_breaks_cannot_inject_fields(field: str) -> None:
    with pytest.raises(ValueError, match="line break"):
        Event(data="x", **{field: "1\ndata: injected"}).encode()


# The demo stream, anonymously: open only where the demo endpoints are public.
@override_settings(DEMO_ENDPOINTS_PUBLIC=True)
def test_wsgi_handler_gets_a_sync_stream() -> None:
    response = Client().get("/demo/stream/?count=3&interval=0", headers={"host": "testserver"})
    assert response.streaming
    assert not response.is_async
    body = b"".join(response.streaming_content)
    assert body.count(b"event: tick") == 3


@override_settings(DEMO_ENDPOINTS_PUBLIC=True)
def test_asgi_handler_gets_an_async_stream() -> None:
    async def fetch() -> tuple[bool, bytes]:
        response = await AsyncClient().get("/demo/stream/?count=3&interval=0")
        body = b"".join([chunk async for chunk in response.streaming_content])
        return response.is_async, body

    is_async, body = async_to_sync(fetch)()
    assert is_async
    assert body.count(b"event: tick") == 3


def test_router_sends_only_streaming_views_to_the_asgi_handler() -> None:
    assert is_streaming_path("/demo/stream/") is True
    assert is_streaming_path("/api/ping/") is False
    assert is_streaming_path("/healthz") is False
    assert is_streaming_path("/no/such/path/") is False
