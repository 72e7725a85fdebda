"""Server-Sent Events that stream unbuffered under both WSGI and ASGI servers."""

from keel.streaming.sse import Event, EventSource, SSEResponse, StreamEnd, streaming_view

__all__ = ["Event", "EventSource", "SSEResponse", "StreamEnd", "streaming_view"]
