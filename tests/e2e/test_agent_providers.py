"""The example's support agent through ``keel web`` + ``keel worker`` on each provider path.

Each provider's own SDK (openai, anthropic, boto3) talks to a fake server on loopback
that speaks the provider's streaming wire format (tests/agents/fake_providers.py) and
counts every request, so "the completed model request was not sent again" is a count,
not a guess.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from typing import Any

import pytest

from tests.agents import fake_providers
from tests.agents.cluster import Cluster, cluster, read_events

pytestmark = pytest.mark.e2e

PROVIDERS = ["openai", "anthropic", "bedrock"]
MODELS = {
    "openai": "openai:fake-gpt",
    "anthropic": "anthropic:claude-fake",
    "bedrock": "bedrock:anthropic.claude-3-5-haiku-20241022-v1:0",
}
#: What each turn of the fake's support conversation reports as usage, summed.
INPUT_TOKENS = sum(fake_providers.usage(turn)[0] for turn in range(3))
OUTPUT_TOKENS = sum(fake_providers.usage(turn)[1] for turn in range(3))


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, fake_providers.FakeServer]]:
    started = {provider: fake_providers.start(provider) for provider in PROVIDERS}
    yield started
    for server in started.values():
        server.release.set()
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def keel(
    servers: dict[str, fake_providers.FakeServer], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    environment = {
        "DJANGO_SETTINGS_MODULE": "tests.settings_providers",
        "AGENT_SUPPORT_OPENAI_MODEL": MODELS["openai"],
        "OPENAI_BASE_URL": f"{servers['openai'].url}/v1",
        "OPENAI_API_KEY": "sk-fake",
        "AGENT_SUPPORT_ANTHROPIC_MODEL": MODELS["anthropic"],
        "ANTHROPIC_BASE_URL": servers["anthropic"].url,
        "ANTHROPIC_API_KEY": "sk-ant-fake",
        "AGENT_SUPPORT_BEDROCK_MODEL": MODELS["bedrock"],
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": servers["bedrock"].url,
        # Bedrock signs with SigV4 whatever the endpoint: keys that sign, and nothing else
        # of the machine's AWS configuration.
        "AWS_ACCESS_KEY_ID": "AKIAFAKEFAKEFAKE",
        "AWS_SECRET_ACCESS_KEY": "fake-secret",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    }
    with cluster(tmp_path_factory.mktemp("providers"), users=["ada"], **environment) as running:
        running.start_worker()
        yield running


def run_to_end(keel: Cluster, provider: str, scenario: str) -> tuple[dict[str, Any], list[Any]]:
    """Start a support run of ``scenario`` on ``provider``; return it finished, and its events."""
    run = keel.create_run(
        "ada",
        agent=f"support-{provider}",
        question=f"[scenario:{scenario}] Where is my refund?",
        order_id="A1002",
    )
    [finished] = keel.wait_runs([("ada", run["id"])], timeout=90)
    with keel.client("ada") as api, api.stream("GET", f"/api/runs/{run['id']}/events/") as events:
        return finished, read_events(events)


def texts_by_turn(events: list[dict[str, Any]]) -> list[str]:
    """The streamed text of each model response: tokens between tool calls."""
    texts = [""]
    for event in events:
        if event["type"] == "token":
            texts[-1] += event["payload"]["text"]
        elif event["type"] == "tool_call":
            texts.append("")
    return texts


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_run_with_two_tool_calls_streams_tokens_and_records_usage(
    keel: Cluster, servers: dict[str, fake_providers.FakeServer], provider: str
) -> None:
    scenario = f"ok-{provider}"
    run, events = run_to_end(keel, provider, scenario)

    assert run["status"] == "succeeded", run["error"]
    assert run["output"] == fake_providers.SUPPORT_TURNS[2].text
    # One request per turn; each turn's text arrived as tokens, word by word.
    assert servers[provider].turns(scenario) == {0: 1, 1: 1, 2: 1}
    assert texts_by_turn(events) == [turn.text for turn in fake_providers.SUPPORT_TURNS]
    tokens = [event for event in events if event["type"] == "token"]
    assert len(tokens) >= sum(len(turn.words) for turn in fake_providers.SUPPORT_TURNS)
    calls = [event["payload"] for event in events if event["type"] == "tool_call"]
    assert [(call["tool"], call["args"]) for call in calls] == [
        ("search_help", {"query": "refund"}),
        ("order_status", {"order_id": "A1002"}),
    ]
    results = [event["payload"] for event in events if event["type"] == "tool_result"]
    assert "Refunds go back" in results[0]["content"]
    assert '"status":"returned"' in results[1]["content"]
    assert (run["input_tokens"], run["output_tokens"]) == (INPUT_TOKENS, OUTPUT_TOKENS)


def test_each_provider_was_asked_for_a_stream(
    keel: Cluster, servers: dict[str, fake_providers.FakeServer]
) -> None:
    """What the SDKs sent: streaming requests on each provider's own endpoint."""
    for provider in PROVIDERS:
        run_to_end(keel, provider, f"shape-{provider}")
    openai = servers["openai"].requests[-1]
    assert openai["path"] == "/v1/chat/completions"
    assert openai["headers"]["authorization"] == "Bearer sk-fake"
    assert openai["stream"] is True
    assert openai["stream_options"] == {"include_usage": True}
    anthropic = servers["anthropic"].requests[-1]
    assert anthropic["path"] == "/v1/messages"
    # The key as the SDK sends it: x-api-key, or (anthropic >= 2.x) a bearer token.
    sent = anthropic["headers"]
    assert "sk-ant-fake" in (sent.get("x-api-key"), sent.get("authorization", "")[7:])
    assert anthropic["stream"] is True
    bedrock = servers["bedrock"].requests[-1]
    assert bedrock["path"].startswith("/model/anthropic.claude-3-5-haiku-20241022-v1")
    assert bedrock["path"].endswith("/converse-stream")
    assert "Credential=AKIAFAKEFAKEFAKE/" in bedrock["headers"]["authorization"]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_worker_killed_after_the_first_model_request_resumes_without_repeating_it(
    keel: Cluster, servers: dict[str, fake_providers.FakeServer], provider: str
) -> None:
    server = servers[provider]
    server.held.clear()
    server.release.clear()
    scenario = f"hold-{provider}"
    run = keel.create_run(
        "ada",
        agent=f"support-{provider}",
        question=f"[scenario:{scenario}] Where is my refund?",
        order_id="A1002",
    )
    # The second model request has been sent: the first completed, and so did the tool
    # call after it. The fake holds that request while the worker is killed.
    assert server.held.wait(60), "the second model request never came"
    victim = keel.workers[-1]
    victim.signal(signal.SIGKILL)
    victim.wait(10)
    server.release.set()
    keel.start_worker()
    [finished] = keel.wait_runs([("ada", run["id"])], timeout=90)
    with keel.client("ada") as api, api.stream("GET", f"/api/runs/{run['id']}/events/") as stream:
        events = read_events(stream)

    assert finished["status"] == "succeeded", finished["error"]
    assert finished["attempts"] == 2
    # The first request once; the interrupted second one again; the last once.
    assert server.turns(scenario) == {0: 1, 1: 2, 2: 1}
    calls = [event["payload"]["tool"] for event in events if event["type"] == "tool_call"]
    assert calls.count("search_help") == 1
    resumed = [event for event in events if event["payload"].get("resumed")]
    assert len(resumed) == 1
    # Usage of the recorded request is kept from its checkpoint, not lost or doubled.
    assert (finished["input_tokens"], finished["output_tokens"]) == (INPUT_TOKENS, OUTPUT_TOKENS)


#: Each provider error, the requests it took (the SDK's own retries included) and what
#: the failed run's error keeps. docs/agents.md, "Provider errors", lists the same.
ERRORS = {
    "ratelimit": (
        {0: 3},
        ["ModelRateLimitError", "429", fake_providers.RATE_LIMIT_MESSAGE],
    ),
    "servererror": (
        {0: 3},
        ["ModelServerError", "500", fake_providers.SERVER_ERROR_MESSAGE],
    ),
    "drop": ({0: 1}, ["ModelConnectionError"]),
    "malformed": ({0: 1, 1: 1}, ["UnexpectedModelBehavior", "search_help", "max retries"]),
}
#: How a dropped stream's error begins on each provider: with the transport's own words.
#: anthropic and bedrock (urllib3, under boto3) put them in pydantic-ai's message; the
#: openai SDK's says only "Connection error.", so the cause two levels down is added.
DROPPED = {
    "openai": "ModelConnectionError: Connection error. (caused by RemoteProtocolError: "
    "peer closed connection without sending complete message body",
    "anthropic": "ModelConnectionError: peer closed connection without sending complete "
    "message body",
    "bedrock": "ModelConnectionError: Response ended prematurely",
}


@pytest.mark.parametrize("error", list(ERRORS))
@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_provider_error_fails_the_run_with_the_providers_message(
    keel: Cluster, servers: dict[str, fake_providers.FakeServer], provider: str, error: str
) -> None:
    scenario = f"{error}-{provider}"
    run, events = run_to_end(keel, provider, scenario)

    requests, kept = ERRORS[error]
    assert run["status"] == "failed"
    for part in kept:
        assert part in run["error"], run["error"]
    assert servers[provider].turns(scenario) == requests
    assert events[-1]["payload"] == {"status": "failed", "error": run["error"]}
    if error == "drop":
        assert run["error"].startswith(DROPPED[provider]), run["error"]
        # Tokens that reached the handler before the connection broke stay in the run's
        # events (how many did is up to the SDK's buffering); nothing after the drop.
        before_drop = "".join(fake_providers.SUPPORT_TURNS[0].words[:2])
        assert before_drop.startswith(texts_by_turn(events)[0])
