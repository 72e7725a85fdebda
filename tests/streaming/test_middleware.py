"""keel's GZipMiddleware: event streams untouched, other streams compressed chunk by chunk."""

from __future__ import annotations

import zlib
from collections.abc import Iterator

from django.http import HttpResponse, StreamingHttpResponse
from django.test import RequestFactory

from keel.streaming.middleware import GZipMiddleware, compress_chunks

GZIP = {"Accept-Encoding": "gzip"}


def middleware() -> GZipMiddleware:
    return GZipMiddleware(lambda request: HttpResponse())


def test_an_event_stream_is_never_compressed() -> None:
    response = StreamingHttpResponse(iter([b"data: 1\n\n"]), content_type="text/event-stream")
    answered = middleware().process_response(RequestFactory().get("/", headers=GZIP), response)
    assert "Content-Encoding" not in answered
    assert b"".join(answered.streaming_content) == b"data: 1\n\n"  # type: ignore[attr-defined]


def test_each_chunk_of_a_stream_arrives_before_the_next_is_produced() -> None:
    produced: list[int] = []

    def lines() -> Iterator[bytes]:
        for number in range(3):
            produced.append(number)
            yield f"line {number}\n".encode() * 20

    response = StreamingHttpResponse(lines(), content_type="text/plain")
    answered = middleware().process_response(RequestFactory().get("/", headers=GZIP), response)
    assert answered["Content-Encoding"] == "gzip"
    decompressor = zlib.decompressobj(wbits=31)
    seen = b""
    for piece in answered.streaming_content:  # type: ignore[attr-defined]
        seen += decompressor.decompress(piece)
        if produced:
            # Everything produced so far can already be read by the client.
            assert seen.count(b"\n") == 20 * len(produced)
    assert seen == b"".join(f"line {n}\n".encode() * 20 for n in range(3))


def test_the_random_header_padding_is_kept() -> None:
    sizes = {len(b"".join(compress_chunks([b"x"], max_random_bytes=100))) for _ in range(20)}
    assert len(sizes) > 1
    assert zlib.decompress(b"".join(compress_chunks([b"a", b"b"])), wbits=31) == b"ab"
