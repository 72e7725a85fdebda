"""Hello-world apps with no framework: the upper bound each server can reach here."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

# Only the lifespan handshake, answered as keel's router answers it; no request reaches keel.
from keel.runtime.web.lifespan import accept_lifespan

BODY = b'{"hello": "world"}'
HEADERS = [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))]


def hello_wsgi(
    environ: dict[str, Any], start_response: Callable[[str, list[tuple[str, str]]], Any]
) -> Iterable[bytes]:
    """Answer every request with a small JSON body (WSGI)."""
    start_response("200 OK", HEADERS)
    return [BODY]


async def hello_asgi(
    scope: MutableMapping[str, Any],
    receive: Callable[[], Awaitable[MutableMapping[str, Any]]],
    send: Callable[[MutableMapping[str, Any]], Awaitable[None]],
) -> None:
    """Answer every HTTP request with a small JSON body (ASGI); accept lifespan."""
    if scope["type"] == "lifespan":
        await accept_lifespan(receive, send)
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(name.lower().encode(), value.encode()) for name, value in HEADERS],
        }
    )
    await send({"type": "http.response.body", "body": BODY})
