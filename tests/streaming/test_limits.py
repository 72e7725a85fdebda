"""The per-process count of open streams and the client address it is keyed on."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from django.test import RequestFactory, override_settings

from keel.errors import TooManyStreams
from keel.streaming import SSEResponse, limits
from keel.streaming.limits import StreamRegistry, client_address
from keel.streaming.sse import TickerSource


@pytest.fixture
def trusted(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """FORWARDED_ALLOW_IPS as the ALB's VPC would set it."""
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "10.0.0.0/16,fd00::/8")
    limits._trusted_proxies.cache_clear()
    yield
    limits._trusted_proxies.cache_clear()


def request_from(peer: str, forwarded: str | None = None) -> object:
    meta = {"REMOTE_ADDR": peer}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **meta)


@pytest.mark.usefixtures("trusted")
@pytest.mark.parametrize(
    ("peer", "forwarded", "address"),
    [
        # Through the ALB: the address it appended, last.
        ("10.0.3.4", "203.0.113.9", "203.0.113.9"),
        ("10.0.3.4", "198.51.100.1, 203.0.113.9", "203.0.113.9"),
        ("fd00::5", "2001:db8::1", "2001:db8::1"),
        # Not through a trusted proxy: the header is anyone's to write.
        ("203.0.113.50", "198.51.100.1", "203.0.113.50"),
        # A trusted peer that sent garbage: the peer.
        ("10.0.3.4", "not-an-address", "10.0.3.4"),
        ("10.0.3.4", None, "10.0.3.4"),
    ],
)
def test_client_address_believes_x_forwarded_for_only_from_a_trusted_proxy(
    peer: str, forwarded: str | None, address: str
) -> None:
    assert client_address(request_from(peer, forwarded)) == address  # type: ignore[arg-type]


def test_streams_are_counted_per_key_up_to_the_limit_and_given_back_once() -> None:
    registry = StreamRegistry()
    slots = [registry.acquire("user:1", 2) for _ in range(2)]
    with pytest.raises(TooManyStreams) as refused:
        registry.acquire("user:1", 2)
    assert (refused.value.limit, refused.value.retry_after) == (2, limits.RETRY_AFTER)
    assert registry.acquire("user:2", 2).key == "user:2"
    slots[0].release()
    slots[0].release()  # a second release (close() after the iterator's finally) is a no-op
    assert registry.count("user:1") == 1
    registry.acquire("user:1", 2)
    assert registry.count("user:1") == 2


def test_a_limit_of_zero_is_no_cap() -> None:
    registry = StreamRegistry()
    for _ in range(1000):
        registry.acquire("address:127.0.0.1", 0)
    assert registry.count("address:127.0.0.1") == 1000


class Owner:
    pk = "test-limits-owner"


def open_response() -> SSEResponse:
    return SSEResponse(RequestFactory().get("/"), TickerSource(count=1, interval=0), owner=Owner())


# close() sends request_finished, whose handler tidies database connections.
@pytest.mark.django_db
@override_settings(KEEL_SSE_MAX_STREAMS_PER_USER=1)
def test_closing_a_response_or_dropping_it_unstreamed_gives_its_slot_back() -> None:
    closed = open_response()
    with pytest.raises(TooManyStreams):
        open_response()
    closed.close()  # what every server does once a response is done
    dropped = open_response()
    with pytest.raises(TooManyStreams):
        open_response()
    del dropped  # never streamed nor closed: a middleware replaced it, say
    gc.collect()
    open_response().close()
    assert limits.streams.count(f"user:{Owner.pk}") == 0
