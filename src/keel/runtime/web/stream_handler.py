"""Django's ASGI handler for event streams: one thread hand-off to set a stream up, few threads.

Django's ``ASGIHandler`` runs every request inside its own ``ThreadSensitiveContext``:
the first thread-sensitive ``sync_to_async`` call of a request (a sync middleware, the
sync part of a view, ``response.close``) starts a new thread, and that thread lives
until the request ends. For an API request that is a thread for a few milliseconds;
for an event stream it is a thread for as long as the client listens. With 10,000
streams open a web worker held one OS thread per stream (1,650 threads for 1,650
streams, measured), ~75 KB of memory a stream, and spent a share of its event loop
starting threads while new streams waited in the listen queue
(docs/adr/0012-ten-thousand-streams.md).

Two changes, both measured with 10,000 streams against one ``keel web``:

- **A fixed set of threads.** ``StreamHandler`` gives each stream one of a fixed set of
  single-thread executors instead, in turn. A request's sync code still runs on one thread from start to
  end (what thread-sensitive means: thread-local database connections, for instance),
  and at most ``threads`` threads ever run it in a worker, however many streams are
  open. The cost is that two streams on the same executor wait for each other's sync
  steps, which for a stream are its set-up and its close, not the events it sends
  (those are async: ``keel.streaming.sse.SSEResponse`` reads its source with
  ``areceive``).
- **The middleware chain in one hand-off.** In async mode Django runs each sync-only
  middleware (WhiteNoise, say) through ``sync_to_async`` and the async-capable ones
  around it through ``async_to_sync``, and ``MiddlewareMixin`` hands each
  ``process_request`` and ``process_response`` to a thread: ~16 loop-thread round trips
  to open one stream, which is where the loop's time went while the listen queue
  overflowed. Here the chain is built in sync mode and the whole of it, view included,
  runs in one ``sync_to_async`` call; the response it returns (an ``SSEResponse`` on an
  ``ASGIRequest``, so with an async iterator) is then streamed by the loop. An async
  streaming view still works: Django runs it through ``async_to_sync`` from the chain.
"""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpRequest, HttpResponseBase


class StreamHandler(ASGIHandler):
    """``ASGIHandler`` whose requests share ``threads`` single-thread executors."""

    def __init__(self, *, threads: int) -> None:
        super().__init__()
        # The chain Django built in async mode is replaced by the same middleware in sync
        # mode; BaseHandler.get_response (sync) runs it.
        self.load_middleware(is_async=False)
        if threads < 1:
            raise ValueError("threads must be at least 1")
        self.executors = [
            ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"keel-stream-{index}")
            for index in range(threads)
        ]
        self._next = itertools.cycle(self.executors)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            # Django's own refusal (it serves HTTP only), unchanged.
            await super().__call__(scope, receive, send)
            return
        async with ThreadSensitiveContext(executor=next(self._next)):
            await self.handle(scope, receive, send)

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        """Run the sync middleware chain and the view in one hand-off to the stream's thread."""
        response: HttpResponseBase = await sync_to_async(self.get_response, thread_sensitive=True)(
            request
        )
        return response
