"""The example project's support agent: the template docs/agents.md shows, run offline."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from example.support import tools
from keel.agents import durable, registry
from keel.agents.models import EventType

AGENTS_DOC = (Path(__file__).resolve().parents[2] / "docs" / "agents.md").read_text()


def test_the_template_in_docs_agents_md_is_the_example_projects_declaration() -> None:
    [block] = re.findall(r"```python\n(KEEL_AGENTS = \{.*?)\n```", AGENTS_DOC, re.DOTALL)
    shown: dict[str, Any] = {}
    exec(block, shown)  # noqa: S102  (the documentation's own code block)
    assert shown["KEEL_AGENTS"] == settings.KEEL_AGENTS


def test_the_tools_answer_from_their_data() -> None:
    assert [article["topic"] for article in tools.search_help("refund")] == ["refunds"]
    assert tools.order_status("a1001")["status"] == "shipped"
    assert tools.order_status("Z9999") == {"order_id": "Z9999", "found": False}


def test_without_a_provider_the_scripted_model_calls_both_tools_and_answers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    recorded: list[dict[str, Any]] = []
    # The run's events as the worker would store them, kept here instead of in a database.
    monkeypatch.setattr(durable, "run_event_append", lambda **event: recorded.append(event))
    validated = {"question": "Where is my refund?", "order_id": "A1002"}
    spec = registry.get("support")
    assert spec.model == "scripted:example.support.scripted.support_model"
    result = asyncio.run(
        spec.agent.run(
            spec.prompt(validated), deps=registry.RunDeps(run_id="offline", input=validated)
        )
    )

    assert "Refunds go back to the original payment method" in result.output
    assert result.output.endswith("Order A1002 is returned.")
    calls = [event["payload"] for event in recorded if event["type"] == EventType.TOOL_CALL]
    assert [call["tool"] for call in calls] == ["search_help", "order_status"]
    assert calls[1]["args"] == {"order_id": "A1002"}
    assert sum(event["type"] == EventType.TOKEN for event in recorded) > 10
