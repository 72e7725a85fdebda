"""GZip for everything except event streams, and streams that are not held back.

Django's GZipMiddleware compresses streaming responses too. Before Django 6.0 its
compressor holds small writes until it has a block to emit, so any stream behind it (a
plain ``StreamingHttpResponse`` of a few lines, a progress feed) arrives all at once at
the end; Django 6.0 flushes after each chunk. Use this subclass instead: it never
compresses ``text/event-stream``, and on Django 5.2 it flushes each chunk of a sync
stream as 6.0 does (an async stream is compressed chunk by chunk by Django itself). The
``keel.E002`` system check flags Django's own middleware.
"""

from __future__ import annotations

import gzip
import io
import secrets
from collections.abc import Iterable, Iterator

import django
from django.http import HttpRequest, HttpResponseBase, StreamingHttpResponse
from django.middleware.gzip import GZipMiddleware as DjangoGZipMiddleware

#: Django 6.0 made its own streaming compressor flush after every chunk.
DJANGO_FLUSHES_STREAMS = django.VERSION >= (6, 0)


class GZipMiddleware(DjangoGZipMiddleware):
    """Compress as Django does, but never ``text/event-stream``, and never hold a chunk."""

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if response.get("Content-Type", "").startswith("text/event-stream"):
            return response
        flush_here = (
            not DJANGO_FLUSHES_STREAMS
            and isinstance(response, StreamingHttpResponse)
            and not response.is_async
        )
        # Read before Django wraps it: its compressor has not started, so nothing is lost.
        original = response.streaming_content if flush_here else None  # type: ignore[attr-defined]
        response = super().process_response(request, response)
        if original is not None and response.get("Content-Encoding") == "gzip":
            response.streaming_content = compress_chunks(  # type: ignore[attr-defined]
                original, max_random_bytes=self.max_random_bytes
            )
        return response


def compress_chunks(chunks: Iterable[bytes], *, max_random_bytes: int = 0) -> Iterator[bytes]:
    """Gzip ``chunks`` as one stream, flushing after each so no chunk waits for the next.

    As Django's compressor, it pads the gzip header's file name with a random number of
    bytes (up to ``max_random_bytes``) against BREACH-style length attacks.
    """
    buffer = io.BytesIO()
    name = b"a" * secrets.randbelow(max_random_bytes) if max_random_bytes else None
    with gzip.GzipFile(
        filename=name,
        mode="wb",
        compresslevel=6,
        fileobj=buffer,
        mtime=0,
    ) as compressor:
        yield _take(buffer)
        for chunk in chunks:
            compressor.write(chunk)
            compressor.flush()
            if data := _take(buffer):
                yield data
    yield _take(buffer)


def _take(buffer: io.BytesIO) -> bytes:
    data = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return data
