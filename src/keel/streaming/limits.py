"""Cap the event streams one caller holds open in a web process.

An open stream holds a connection slot of the process that serves it (a coroutine and
a socket under ``asgi``, a thread under ``wsgi``) for as long as the client wants. One
caller opening thousands would take them all, so every ``SSEResponse`` takes a slot
here before it streams: at most ``SSE_MAX_STREAMS_PER_USER`` per authenticated user, and
``SSE_MAX_STREAMS_PER_ADDRESS`` per client address for anonymous ones.
Beyond that the view raises ``keel.errors.TooManyStreams``, answered 429 with
``Retry-After``. The slot is given back when the stream ends, when the client goes away,
and, failing both, when the response is garbage-collected.

The count is per process, on purpose: the resource at stake is the process's own
slots, the count costs a dictionary update instead of a database write per stream,
and a process killed with its streams open leaves nothing behind to clean up. A user
can therefore hold up to the cap on each web worker of each task (docs/configuration.md).
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import threading
from collections import Counter
from dataclasses import dataclass, field

from django.http import HttpRequest

from keel.conf import Setting, forwarded_allow_ips
from keel.errors import TooManyStreams

#: Streams one authenticated user, and one anonymous client address, may hold open at
#: once in a process (``SSE_MAX_STREAMS_PER_USER``, ``..._PER_ADDRESS``); 0 is no cap.
PER_USER_SETTING = Setting("SSE_MAX_STREAMS_PER_USER", "integer", 20, minimum=0)
PER_ADDRESS_SETTING = Setting("SSE_MAX_STREAMS_PER_ADDRESS", "integer", 20, minimum=0)
#: Seconds a refused client is asked to wait; nothing says when one of its streams ends.
RETRY_AFTER = 10


@dataclass(eq=False, slots=True)
class StreamSlot:
    """One open stream counted against ``key``; ``release`` is idempotent."""

    key: str
    registry: StreamRegistry
    released: bool = False

    def release(self) -> None:
        self.registry.release(self)


@dataclass(slots=True)
class StreamRegistry:
    """The open streams of this process, by caller."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    open: Counter[str] = field(default_factory=Counter)

    def acquire(self, key: str, limit: int) -> StreamSlot:
        """Count a new stream for ``key`` or raise ``TooManyStreams`` at ``limit``."""
        with self.lock:
            if limit and self.open[key] >= limit:
                raise TooManyStreams(limit=limit, retry_after=RETRY_AFTER)
            self.open[key] += 1
        return StreamSlot(key=key, registry=self)

    def release(self, slot: StreamSlot) -> None:
        with self.lock:
            if slot.released:
                return
            slot.released = True
            self.open[slot.key] -= 1
            if self.open[slot.key] <= 0:
                del self.open[slot.key]

    def count(self, key: str) -> int:
        with self.lock:
            return self.open[key]

    def total(self) -> int:
        """Every stream open in this process, whoever holds it."""
        with self.lock:
            return sum(self.open.values())


#: One per process: gunicorn forks workers before any request, so none is shared.
streams = StreamRegistry()


def stream_slot_acquire(*, request: HttpRequest, owner: object | None) -> StreamSlot:
    """Take a slot for a stream of ``owner``, or of the session's user, else of the address.

    ``owner`` is the user a view authenticated itself (a token, as the runs API does).
    """
    user = owner if owner is not None else _session_user(request)
    user_id = getattr(user, "pk", None)
    if user_id is not None:
        return streams.acquire(f"user:{user_id}", PER_USER_SETTING.read())
    return streams.acquire(f"address:{client_address(request)}", PER_ADDRESS_SETTING.read())


def _session_user(request: HttpRequest) -> object | None:
    """The user AuthenticationMiddleware found, when it can be read here."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        user = getattr(request, "user", None)
        return user if user is not None and user.is_authenticated else None
    # On the event loop the lazy user would query the database synchronously: an async
    # view passes ``owner`` (from ``await request.auser()``) instead.
    return None


@functools.cache
def _trusted_proxies() -> tuple[bool, tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]]:
    entries = forwarded_allow_ips()
    networks = tuple(ipaddress.ip_network(entry, strict=False) for entry in entries if entry != "*")
    return "*" in entries, networks


def client_address(request: HttpRequest) -> str:
    """The client's IP address as far as it can be believed.

    ``REMOTE_ADDR`` is the TCP peer: behind the ALB that is the load balancer, shared by
    every client (gunicorn does not rewrite it from ``X-Forwarded-For``). When the peer
    is a trusted proxy (``FORWARDED_ALLOW_IPS``, the list gunicorn uses for
    ``X-Forwarded-Proto``), the last ``X-Forwarded-For`` entry is the address that proxy
    saw and appended; every entry before it came from the client and is ignored.
    """
    peer = str(request.META.get("REMOTE_ADDR") or "")
    forwarded = str(request.META.get("HTTP_X_FORWARDED_FOR") or "")
    if not forwarded or not _is_trusted(peer):
        return peer
    candidate = forwarded.rsplit(",", 1)[-1].strip()
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return peer


def _is_trusted(peer: str) -> bool:
    trust_all, networks = _trusted_proxies()
    if trust_all:
        return True
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    return any(address in network for network in networks)
