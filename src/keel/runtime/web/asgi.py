"""The default web application: API on Django's WSGI handler, streams on its ASGI handler.

Neither gunicorn mode serves both well (docs/adr/0001-web-runtime.md). Under gthread an
open stream holds a thread, and ten streams starve the health check. Under the native
ASGI worker every sync DRF request makes ~17 thread hand-offs through asgiref and the
API loses four fifths of its throughput. So one ASGI server routes each request:

- views marked with ``keel.streaming.streaming_view`` go to Django's ASGI handler, where
  an open stream costs a coroutine (``keel.runtime.web.stream_handler``: its sync steps
  share a fixed set of threads instead of holding a thread per stream);
- everything else goes to Django's WSGI handler on a fixed pool of threads
  (``keel.runtime.web.wsgi_pool``): one hand-off each way per request, persistent database
  connections per pool thread, and a bounded number of requests in Django at once;
- ``/healthz`` is answered here, on the event loop, with the same answer Django's
  HealthCheckMiddleware gives: behind a saturated pool it waited its turn and its p99
  reached seconds under full API load (docs/adr/0001-web-runtime.md).
"""

from __future__ import annotations

import functools
import logging

import django
from django.core.servers.basehttp import get_internal_wsgi_application
from django.urls import Resolver404, get_resolver

from keel.conf import ensure_settings_module, web_threads
from keel.health.liveness import Liveness, liveness
from keel.runtime.web.asgi_types import ASGIApp, Receive, Scope, Send
from keel.runtime.web.lifespan import accept_lifespan
from keel.runtime.web.stream_handler import StreamHandler
from keel.runtime.web.wsgi_pool import WSGIPool
from keel.streaming.sse import STREAMING_VIEW_ATTRIBUTE

logger = logging.getLogger("keel.runtime.web.asgi")


@functools.lru_cache(maxsize=4096)
def is_streaming_path(path: str) -> bool:
    """Tell whether ``path`` resolves to a view marked with ``streaming_view``."""
    try:
        match = get_resolver().resolve(path)
    except Resolver404:
        return False
    view = match.func
    return bool(
        getattr(view, STREAMING_VIEW_ATTRIBUTE, False)
        or getattr(getattr(view, "view_class", None), STREAMING_VIEW_ATTRIBUTE, False)
    )


class KeelRouter:
    """Route streaming views to an ASGI app and all other HTTP to a WSGI app in a pool."""

    def __init__(self, *, asgi_app: ASGIApp, wsgi_app: ASGIApp) -> None:
        self.asgi_app = asgi_app
        self.wsgi_app = wsgi_app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            path = scope["path"]
            root_path = scope.get("root_path", "")
            if root_path and path.startswith(root_path):
                path = path[len(root_path) :]
            answer = liveness(scope["method"], path)
            if answer is not None:
                await _send_liveness(answer, send)
                return
            app = self.asgi_app if is_streaming_path(path) else self.wsgi_app
            await app(scope, receive, send)
        elif kind == "lifespan":
            # Django's ASGI handler refuses lifespan scopes; Django needs no start-up hook.
            await accept_lifespan(receive, send)
        else:
            await self.asgi_app(scope, receive, send)


async def _send_liveness(answer: Liveness, send: Send) -> None:
    headers = [(name.lower().encode(), value.encode()) for name, value in answer.headers]
    headers.append((b"content-length", str(len(answer.body)).encode()))
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body})


def build_application() -> KeelRouter:
    ensure_settings_module()
    # What django.core.asgi.get_asgi_application does, with keel's handler for streams.
    django.setup(set_prefix=False)
    asgi_handler = StreamHandler(threads=web_threads())
    # The project's own WSGI application (settings.WSGI_APPLICATION, as runserver uses it,
    # with whatever it wraps Django in), else Django's.
    wsgi_app = WSGIPool(get_internal_wsgi_application(), threads=web_threads())
    return KeelRouter(asgi_app=asgi_handler, wsgi_app=wsgi_app)  # type: ignore[arg-type]


application = build_application()
