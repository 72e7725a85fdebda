"""Fake model providers on loopback that speak each provider's real streaming wire format.

Driven by the providers' own SDKs inside pydantic-ai (openai, anthropic, boto3), so what
the worker parses is byte for byte what it would parse from the real service. Where the
formats come from:

- OpenAI chat completions streaming: server-sent events of ``chat.completion.chunk``
  objects (``choices[].delta.content``, ``delta.tool_calls[]`` with ``index``, ``id`` and
  ``function.arguments`` fragments, ``finish_reason``), then, because the client asks
  with ``stream_options: {"include_usage": true}``, a last chunk with ``"choices": []``
  and ``usage``, then ``data: [DONE]``. OpenAI API reference, "The chat completion chunk
  object" (platform.openai.com/docs/api-reference/chat-streaming).
- Anthropic messages streaming: named SSE events ``message_start`` (with input usage),
  ``content_block_start`` / ``content_block_delta`` (``text_delta``; ``input_json_delta``
  with ``partial_json`` for a ``tool_use`` block) / ``content_block_stop``, ``ping``,
  ``message_delta`` (``stop_reason``, output usage) and ``message_stop``; errors as
  ``{"type": "error", "error": {"type": ..., "message": ...}}``. Anthropic docs,
  "Streaming messages" (docs.claude.com/en/docs/build-with-claude/streaming).
- Amazon Bedrock ConverseStream: ``application/vnd.amazon.eventstream`` binary frames
  (prelude of total and header lengths with its CRC32, string headers ``:event-type``,
  ``:content-type``, ``:message-type``, a JSON payload, a message CRC32), one frame per
  ``messageStart``, ``contentBlockStart`` (``start.toolUse``), ``contentBlockDelta``
  (``delta.text`` / ``delta.toolUse.input``), ``contentBlockStop``, ``messageStop`` and
  ``metadata`` (``usage``); errors as HTTP status with ``x-amzn-ErrorType`` and
  ``{"message": ...}``. AWS Bedrock API reference, ConverseStream and
  ConverseStreamOutput (docs.aws.amazon.com/bedrock/latest/APIReference/), and the AWS
  event stream encoding that botocore's ``EventStreamBuffer`` parses.

What a server answers is chosen by the run: the user prompt carries ``[scenario:<name>]``
and the turn is the number of tool results the request already holds. Every request is
counted per (scenario, turn).
"""

from __future__ import annotations

import binascii
import json
import re
import struct
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

SCENARIO = re.compile(r"\[scenario:([\w-]+)\]")


@dataclass(frozen=True)
class Turn:
    """One model response: text streamed word by word, then maybe one tool call."""

    words: list[str]
    tool: str | None = None
    #: The tool call's arguments as the model streams them: JSON split in fragments.
    arguments: list[str] | None = None
    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def text(self) -> str:
        return "".join(self.words)


def words(text: str) -> list[str]:
    parts = text.split(" ")
    return [parts[0], *(f" {part}" for part in parts[1:])]


def usage(turn: int) -> tuple[int, int]:
    """The token usage the fake reports for a turn (input, output)."""
    return 100 + 10 * turn, 5 + turn


#: The conversation of a support run with two tool calls, turn by turn.
SUPPORT_TURNS = [
    Turn(
        words("Let me check the help centre."),
        tool="search_help",
        arguments=['{"que', 'ry": "ref', 'und"}'],
    ),
    Turn(words("Now the order."), tool="order_status", arguments=['{"order_id"', ': "A1002"}']),
    Turn(words("Your refund was issued on 28 November.")),
]
#: A tool call whose streamed arguments do not add up to JSON.
MALFORMED_TURN = Turn(words("Searching."), tool="search_help", arguments=['{"query": "ref', "und"])
RATE_LIMIT_MESSAGE = "Rate limit reached for requests; try again in 1s."
SERVER_ERROR_MESSAGE = "The server had an error while processing your request."


def count_tool_results(body: Any) -> int:
    """Tool results in a request body, in any of the three providers' shapes."""
    if isinstance(body, list):
        return sum(count_tool_results(item) for item in body)
    if not isinstance(body, dict):
        return 0
    here = int(body.get("role") == "tool" or body.get("type") == "tool_result")
    here += int("toolResult" in body)
    return here + sum(count_tool_results(value) for value in body.values())


class FakeProvider(BaseHTTPRequestHandler):
    """Answer one provider's streaming endpoint; subclasses write its wire format."""

    protocol_version = "HTTP/1.1"
    name: ClassVar[str]
    server: FakeServer

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        text = json.dumps(body)
        found = SCENARIO.search(text)
        scenario = found.group(1) if found else "none"
        turn = count_tool_results(body)
        fake = self.server
        with fake.lock:
            fake.counts[(scenario, turn)] += 1
            attempt = fake.counts[(scenario, turn)]
            fake.requests.append(
                {
                    "path": self.path,
                    "headers": {name.lower(): value for name, value in self.headers.items()},
                    **body,
                }
            )
        kind = scenario.split("-")[0]
        if kind == "hold" and turn == 1 and attempt == 1:
            # The first model request completed (and its tool call after it); hold the
            # second until the test has killed the worker that sent it.
            fake.held.set()
            fake.release.wait(120)
            self.close_connection = True
            return
        if kind == "ratelimit":
            self.error(429, "rate_limit", RATE_LIMIT_MESSAGE, retry_after="1")
        elif kind == "servererror":
            self.error(500, "server", SERVER_ERROR_MESSAGE)
        elif kind == "malformed":
            self.stream(MALFORMED_TURN, turn)
        elif kind == "drop" and turn == 0:
            self.stream(SUPPORT_TURNS[0], turn, drop=True)
        else:
            self.stream(SUPPORT_TURNS[min(turn, len(SUPPORT_TURNS) - 1)], turn)

    def stream(self, script: Turn, turn: int, drop: bool = False) -> None:
        input_tokens, output_tokens = usage(turn)
        script = Turn(script.words, script.tool, script.arguments, input_tokens, output_tokens)
        self.send_response(200)
        self.send_header("Content-Type", self.content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        #: With ``drop``, the connection breaks right after the second word went out.
        second_word = json.dumps(script.words[1])[1:-1].encode() if drop else None
        for piece in self.pieces(script):
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.flush()
            if second_word is not None and second_word in piece:
                # No terminating chunk: the socket just closes, mid-response.
                self.close_connection = True
                self.connection.shutdown(2)
                return
            time.sleep(0.002)
        self.wfile.write(b"0\r\n\r\n")

    def send_json(self, status: int, payload: Any, headers: dict[str, str]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for header, value in headers.items():
            self.send_header(header, value)
        self.end_headers()
        self.wfile.write(data)

    content_type = "text/event-stream"

    def pieces(self, script: Turn) -> Iterator[bytes]:
        raise NotImplementedError

    def error(self, status: int, kind: str, message: str, retry_after: str | None = None) -> None:
        raise NotImplementedError

    def log_message(self, *args: object) -> None:
        pass


def sse(data: Any, event: str | None = None) -> bytes:
    prefix = f"event: {event}\n" if event else ""
    return f"{prefix}data: {json.dumps(data)}\n\n".encode()


class FakeOpenAI(FakeProvider):
    name = "openai"

    def chunk(self, delta: dict[str, Any], finish: str | None = None) -> bytes:
        return sse(
            {
                "id": "chatcmpl-fake",
                "object": "chat.completion.chunk",
                "created": 1_764_547_200,
                "model": "fake-gpt",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
        )

    def pieces(self, script: Turn) -> Iterator[bytes]:
        yield self.chunk({"role": "assistant", "content": ""})
        for word in script.words:
            yield self.chunk({"content": word})
        if script.tool:
            yield self.chunk(
                {
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": f"call_{script.tool}",
                            "type": "function",
                            "function": {"name": script.tool, "arguments": ""},
                        }
                    ]
                }
            )
            for fragment in script.arguments or ():
                yield self.chunk(
                    {"tool_calls": [{"index": 0, "function": {"arguments": fragment}}]}
                )
        yield self.chunk({}, "tool_calls" if script.tool else "stop")
        yield sse(
            {
                "id": "chatcmpl-fake",
                "object": "chat.completion.chunk",
                "created": 1_764_547_200,
                "model": "fake-gpt",
                "choices": [],
                "usage": {
                    "prompt_tokens": script.input_tokens,
                    "completion_tokens": script.output_tokens,
                    "total_tokens": script.input_tokens + script.output_tokens,
                },
            }
        )
        yield b"data: [DONE]\n\n"

    def error(self, status: int, kind: str, message: str, retry_after: str | None = None) -> None:
        code = {"rate_limit": "rate_limit_exceeded", "server": "server_error"}[kind]
        self.send_json(
            status,
            {
                "error": {
                    "message": message,
                    "type": "requests" if status == 429 else kind,
                    "code": code,
                }
            },
            {"Retry-After": retry_after} if retry_after else {},
        )


class FakeAnthropic(FakeProvider):
    name = "anthropic"

    def pieces(self, script: Turn) -> Iterator[bytes]:
        yield sse(
            {
                "type": "message_start",
                "message": {
                    "id": "msg_fake",
                    "type": "message",
                    "role": "assistant",
                    "model": "claude-fake",
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {"input_tokens": script.input_tokens, "output_tokens": 1},
                },
            },
            "message_start",
        )
        yield sse(
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
            "content_block_start",
        )
        yield sse({"type": "ping"}, "ping")
        for word in script.words:
            yield sse(
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": word},
                },
                "content_block_delta",
            )
        yield sse({"type": "content_block_stop", "index": 0}, "content_block_stop")
        if script.tool:
            yield sse(
                {
                    "type": "content_block_start",
                    "index": 1,
                    "content_block": {
                        "type": "tool_use",
                        "id": f"toolu_{script.tool}",
                        "name": script.tool,
                        "input": {},
                    },
                },
                "content_block_start",
            )
            for fragment in script.arguments or ():
                yield sse(
                    {
                        "type": "content_block_delta",
                        "index": 1,
                        "delta": {"type": "input_json_delta", "partial_json": fragment},
                    },
                    "content_block_delta",
                )
            yield sse({"type": "content_block_stop", "index": 1}, "content_block_stop")
        yield sse(
            {
                "type": "message_delta",
                "delta": {
                    "stop_reason": "tool_use" if script.tool else "end_turn",
                    "stop_sequence": None,
                },
                "usage": {"output_tokens": script.output_tokens},
            },
            "message_delta",
        )
        yield sse({"type": "message_stop"}, "message_stop")

    def error(self, status: int, kind: str, message: str, retry_after: str | None = None) -> None:
        error_type = {"rate_limit": "rate_limit_error", "server": "api_error"}[kind]
        self.send_json(
            status,
            {"type": "error", "error": {"type": error_type, "message": message}},
            {"retry-after": retry_after} if retry_after else {},
        )


def event_stream_frame(event_type: str, payload: Any) -> bytes:
    """One AWS event stream message: prelude + CRC, string headers, JSON payload, CRC."""
    headers = b""
    for name, value in (
        (":event-type", event_type),
        (":content-type", "application/json"),
        (":message-type", "event"),
    ):
        encoded = value.encode()
        # name length (1 byte), name, value type 7 (string), value length (2 bytes), value.
        headers += struct.pack("!B", len(name)) + name.encode()
        headers += struct.pack("!BH", 7, len(encoded)) + encoded
    body = json.dumps(payload).encode()
    total = 4 + 4 + 4 + len(headers) + len(body) + 4
    prelude = struct.pack("!II", total, len(headers))
    prelude += struct.pack("!I", binascii.crc32(prelude))
    message = prelude + headers + body
    return message + struct.pack("!I", binascii.crc32(message))


class FakeBedrock(FakeProvider):
    name = "bedrock"
    content_type = "application/vnd.amazon.eventstream"

    def pieces(self, script: Turn) -> Iterator[bytes]:
        yield event_stream_frame("messageStart", {"role": "assistant"})
        for word in script.words:
            yield event_stream_frame(
                "contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": word}}
            )
        yield event_stream_frame("contentBlockStop", {"contentBlockIndex": 0})
        if script.tool:
            yield event_stream_frame(
                "contentBlockStart",
                {
                    "contentBlockIndex": 1,
                    "start": {
                        "toolUse": {"toolUseId": f"tooluse_{script.tool}", "name": script.tool}
                    },
                },
            )
            for fragment in script.arguments or ():
                yield event_stream_frame(
                    "contentBlockDelta",
                    {"contentBlockIndex": 1, "delta": {"toolUse": {"input": fragment}}},
                )
            yield event_stream_frame("contentBlockStop", {"contentBlockIndex": 1})
        yield event_stream_frame(
            "messageStop", {"stopReason": "tool_use" if script.tool else "end_turn"}
        )
        yield event_stream_frame(
            "metadata",
            {
                "usage": {
                    "inputTokens": script.input_tokens,
                    "outputTokens": script.output_tokens,
                    "totalTokens": script.input_tokens + script.output_tokens,
                },
                "metrics": {"latencyMs": 12},
            },
        )

    def error(self, status: int, kind: str, message: str, retry_after: str | None = None) -> None:
        error_type = {"rate_limit": "ThrottlingException", "server": "InternalServerException"}[
            kind
        ]
        headers = {
            "x-amzn-ErrorType": f"{error_type}:http://internal.amazon.com/coral/com.amazon.bedrock/"
        }
        if retry_after:
            headers["Retry-After"] = retry_after
        self.send_json(status, {"message": message}, headers)


class FakeServer(ThreadingHTTPServer):
    """A fake provider's server, with what it was sent."""

    daemon_threads = True

    def __init__(self, handler: type[FakeProvider]) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.provider = handler.name
        self.lock = threading.Lock()
        self.counts: Counter[tuple[str, int]] = Counter()
        self.requests: list[dict[str, Any]] = []
        self.held = threading.Event()
        self.release = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def turns(self, scenario: str) -> dict[int, int]:
        """How many requests each turn of ``scenario`` took."""
        with self.lock:
            return {
                turn: count
                for (name, turn), count in sorted(self.counts.items())
                if name == scenario
            }


PROVIDERS: dict[str, type[FakeProvider]] = {
    "openai": FakeOpenAI,
    "anthropic": FakeAnthropic,
    "bedrock": FakeBedrock,
}


def start(provider: str) -> FakeServer:
    server = FakeServer(PROVIDERS[provider])
    threading.Thread(target=server.serve_forever, name=f"fake-{provider}", daemon=True).start()
    return server
