"""keel.runtime.web.lifespan: the ASGI lifespan handshake for apps with nothing to start."""

from __future__ import annotations

import asyncio
from typing import Any

from keel.runtime.web.asgi import KeelRouter
from keel.runtime.web.lifespan import accept_lifespan

Message = dict[str, Any]


class Server:
    """The ASGI server's side of the lifespan protocol: scripted messages, recorded replies."""

    def __init__(self, *messages: str) -> None:
        self.incoming: asyncio.Queue[Message] = asyncio.Queue()
        for kind in messages:
            self.incoming.put_nowait({"type": kind})
        self.sent: list[Message] = []

    async def receive(self) -> Message:
        return await self.incoming.get()

    async def send(self, message: Message) -> None:
        self.sent.append(message)


async def refuse(scope: Any, receive: Any, send: Any) -> None:
    raise AssertionError(f"the router passed a {scope['type']} scope on")


def test_startup_and_shutdown_are_acknowledged_and_shutdown_ends_the_task():
    server = Server("lifespan.startup", "lifespan.shutdown", "lifespan.startup")
    asyncio.run(asyncio.wait_for(accept_lifespan(server.receive, server.send), timeout=5))
    assert server.sent == [
        {"type": "lifespan.startup.complete"},
        {"type": "lifespan.shutdown.complete"},
    ]
    # Nothing after shut-down is read.
    assert server.incoming.qsize() == 1


def test_keel_router_answers_lifespan_itself_and_never_hands_it_to_django():
    router = KeelRouter(asgi_app=refuse, wsgi_app=refuse)
    server = Server("lifespan.startup", "lifespan.shutdown")
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}}
    asyncio.run(asyncio.wait_for(router(scope, server.receive, server.send), timeout=5))
    assert [message["type"] for message in server.sent] == [
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
    ]
