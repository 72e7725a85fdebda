"""Answer the ASGI lifespan protocol for an application with nothing to start or stop."""

from __future__ import annotations

from keel.runtime.web.asgi_types import Receive, Send


async def accept_lifespan(receive: Receive, send: Send) -> None:
    """Report start-up and shut-down complete as the server announces them; return at shut-down."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
