"""GZip for everything except event streams.

Django's GZipMiddleware compresses streaming responses too, and its compressor holds
small writes until it has a block to emit: an SSE stream behind it stalls until the end.
Use this subclass instead; the ``keel.E002`` system check flags Django's.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponseBase
from django.middleware.gzip import GZipMiddleware as DjangoGZipMiddleware


class GZipMiddleware(DjangoGZipMiddleware):
    """Compress as Django does, but never ``text/event-stream`` responses."""

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if response.get("Content-Type", "").startswith("text/event-stream"):
            return response
        return super().process_response(request, response)
