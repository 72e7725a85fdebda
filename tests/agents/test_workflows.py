"""What a failed run's ``error`` says: the exception and the causes that say more.

The chains are the ones the provider SDKs raise on a dropped stream (docs/agents.md,
"Provider errors"); tests/e2e/test_agent_providers.py sees the real ones end to end.
"""

from __future__ import annotations

from itertools import pairwise

from pydantic_ai.exceptions import ModelConnectionError

from keel.agents.workflows import error_message

PEER_CLOSED = (
    "peer closed connection without sending complete message body (incomplete chunked read)"
)


class APIConnectionError(Exception):
    """Stands in for the openai SDK's, whose message is only "Connection error."."""


class RemoteProtocolError(Exception):
    """Stands in for httpx's (and httpcore's, under it)."""


def raised(error: BaseException, *causes: BaseException) -> BaseException:
    """``error`` as raised ``from`` the first cause, raised from the next, and so on."""
    for outer, inner in pairwise([error, *causes]):
        outer.__cause__ = inner
    return error


def test_an_error_without_a_cause_is_its_type_and_message() -> None:
    error = ValueError("no answer")

    assert error_message(error) == "ValueError: no answer"


def test_a_cause_two_levels_down_is_kept_when_the_wrappers_say_less() -> None:
    # openai: pydantic-ai's error from the SDK's, both "Connection error.", from httpx's.
    error = raised(
        ModelConnectionError(model_name="fake-gpt", message="Connection error."),
        APIConnectionError("Connection error."),
        RemoteProtocolError(PEER_CLOSED),
        RemoteProtocolError(PEER_CLOSED),
    )

    assert error_message(error) == (
        f"ModelConnectionError: Connection error. (caused by RemoteProtocolError: {PEER_CLOSED})"
    )


def test_a_cause_the_message_already_says_is_not_repeated() -> None:
    # anthropic: pydantic-ai's message is the transport's words already.
    error = raised(
        ModelConnectionError(model_name="claude-fake", message=PEER_CLOSED),
        RemoteProtocolError(PEER_CLOSED),
    )

    assert error_message(error) == f"ModelConnectionError: {PEER_CLOSED}"


def test_a_cause_without_text_adds_nothing() -> None:
    error = raised(RuntimeError("the model gave up"), TimeoutError())

    assert error_message(error) == "RuntimeError: the model gave up"


def test_each_cause_that_says_more_is_added_in_order() -> None:
    error = raised(RuntimeError("run failed"), OSError("disk full"), ValueError("bad block 7"))

    assert error_message(error) == (
        "RuntimeError: run failed (caused by OSError: disk full)"
        " (caused by ValueError: bad block 7)"
    )


def test_a_cause_chain_that_loops_ends() -> None:
    first = RuntimeError("first")
    second = ValueError("second")
    raised(first, second)
    second.__cause__ = first

    assert error_message(first) == "RuntimeError: first (caused by ValueError: second)"
