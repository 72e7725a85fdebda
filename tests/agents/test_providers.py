"""The OpenAI-compatible provider path, against a fake streaming server on loopback."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.exceptions import ImproperlyConfigured
from pydantic_ai import Agent

from keel.agents.providers import model_from_environment
from keel.conf import Env

WORDS = ["Hello", " from", " the", " fake", " server."]


class FakeChatCompletions(BaseHTTPRequestHandler):
    requests: list[dict[str, object]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeChatCompletions.requests.append(
            {"path": self.path, "auth": self.headers["Authorization"], **body}
        )
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for index, word in enumerate(WORDS):
            finish = "stop" if index == len(WORDS) - 1 else None
            chunk = {
                "id": "c1",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": "fake",
                "choices": [{"index": 0, "delta": {"content": word}, "finish_reason": finish}],
            }
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.flush()
        self.wfile.write(b"data: [DONE]\n\n")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def fake_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeChatCompletions)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_openai_compatible_endpoint_streams_tokens_through_the_real_client(
    fake_server: str,
) -> None:
    model = model_from_environment(
        "openai:fake-model", Env({"OPENAI_BASE_URL": fake_server, "OPENAI_API_KEY": "sk-test"})
    )
    agent = Agent(model)

    async def stream() -> list[str]:
        async with agent.run_stream("hi") as result:
            return [delta async for delta in result.stream_text(delta=True)]

    deltas = asyncio.run(stream())
    assert "".join(deltas) == "".join(WORDS)
    sent = FakeChatCompletions.requests[-1]
    assert sent["path"] == "/v1/chat/completions"
    assert sent["auth"] == "Bearer sk-test"
    assert sent["model"] == "fake-model"
    assert sent["stream"] is True


@pytest.mark.parametrize("spec", ["gpt-4o", "mystery:model", "openai:"])
def test_a_model_must_name_a_known_provider(spec: str) -> None:
    with pytest.raises(ImproperlyConfigured):
        model_from_environment(spec, Env({}))


def test_a_missing_key_names_the_variable() -> None:
    with pytest.raises(ImproperlyConfigured, match="ANTHROPIC_API_KEY"):
        model_from_environment("anthropic:claude", Env({}))


def test_a_scripted_model_names_a_stream_function() -> None:
    model = model_from_environment("scripted:keel.agents.demo.scripted_model", Env({}))
    assert model.model_name == "scripted:keel.agents.demo.scripted_model"
    with pytest.raises(ImproperlyConfigured, match="stream function"):
        model_from_environment("scripted:keel.agents.demo.no_such_model", Env({}))
