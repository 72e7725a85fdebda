"""Agents declared in settings or with ``@agent``: built durable, on the model the
environment picks."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from pydantic_ai.models.function import FunctionModel
from pydantic_ai.models.openai import OpenAIChatModel
from pytest_django.fixtures import Settings
from rest_framework import serializers

from keel.agents import declared, registry, services
from keel.agents.declared import AgentDeclaration, agent_build, declaration_from_setting
from keel.conf import Env

SCRIPTED = "scripted:keel.agents.demo.scripted_model"


class AskInput(serializers.Serializer[Any]):
    prompt = serializers.CharField()


def forecast(city: str) -> str:
    """Return the weather in a city."""
    return f"sunny in {city}"


async def rates(currency: str) -> float:
    """Return an exchange rate."""
    return 1.1


def declaration(**overrides: Any) -> AgentDeclaration:
    values: dict[str, Any] = {
        "name": "helper",
        "model": SCRIPTED,
        "instructions": "Help.",
        "tools": [forecast, rates],
        "input_serializer": AskInput,
    }
    return AgentDeclaration(**{**values, **overrides})


def tool_functions(spec: registry.AgentSpec) -> dict[str, Any]:
    [toolset] = spec.agent.toolsets
    return {name: tool.function for name, tool in toolset.tools.items()}


def test_the_model_variable_is_named_after_the_agent() -> None:
    assert declared.model_variable("support") == "AGENT_SUPPORT_MODEL"
    assert declared.model_variable("support-openai") == "AGENT_SUPPORT_OPENAI_MODEL"


def test_the_declared_model_is_used_when_the_environment_names_none() -> None:
    spec = agent_build(declaration(name="offline-helper"), Env({}))
    assert isinstance(spec.agent.model.wrapped, FunctionModel)
    assert spec.model == SCRIPTED


def test_the_environment_picks_the_provider_per_agent() -> None:
    environ = Env({"AGENT_ONLINE_HELPER_MODEL": "openai:gpt-test", "OPENAI_API_KEY": "sk-test"})
    spec = agent_build(declaration(name="online-helper"), environ)
    model = spec.agent.model.wrapped
    assert isinstance(model, OpenAIChatModel)
    assert model.model_name == "gpt-test"
    assert spec.model == "openai:gpt-test"


def test_a_bad_model_in_the_environment_names_the_variable() -> None:
    with pytest.raises(ImproperlyConfigured, match=r"AGENT_BAD_HELPER_MODEL.*OPENAI_API_KEY"):
        agent_build(declaration(name="bad-helper"), Env({"AGENT_BAD_HELPER_MODEL": "openai:x"}))
    with pytest.raises(ImproperlyConfigured, match=r"AGENT_BAD_HELPER_MODEL.*provider"):
        agent_build(declaration(name="bad-helper"), Env({"AGENT_BAD_HELPER_MODEL": "gpt-4o"}))


def test_every_tool_becomes_a_durable_step_named_after_agent_and_tool() -> None:
    spec = agent_build(declaration(name="stepped-helper"), Env({}))
    functions = tool_functions(spec)
    assert {name: getattr(f, registry.STEP_MARKER) for name, f in functions.items()} == {
        "forecast": "stepped-helper.forecast",
        "rates": "stepped-helper.rates",
    }
    assert registry.unwrapped_tools(spec.agent) == []
    # The schema the model sees is the function's own.
    [toolset] = spec.agent.toolsets
    assert toolset.tools["forecast"].description == "Return the weather in a city."
    assert toolset.tools["forecast"].function_schema.json_schema["required"] == ["city"]


def test_a_sync_tool_runs_in_a_thread_and_returns_its_result() -> None:
    spec = agent_build(declaration(name="sync-helper"), Env({}))
    called = tool_functions(spec)["forecast"]
    # Outside a workflow a DBOS step is a plain call: the wrapper's own result.
    assert asyncio.run(called(city="Oslo")) == "sunny in Oslo"


def test_a_tools_module_gives_its_tools_list() -> None:
    spec = agent_build(declaration(name="module-helper", tools="example.support.tools"), Env({}))
    assert sorted(tool_functions(spec)) == ["order_status", "search_help"]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"instructions": "x", "input_serializer": "a.B"}, "needs 'model'"),
        ({"model": SCRIPTED, "instructions": "x", "input_serializer": "a.B", "x": 1}, "x"),
        ("openai:gpt-4o", "must be a dict"),
    ],
)
def test_a_setting_entry_names_what_is_wrong(entry: Any, message: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=message):
        declaration_from_setting("helper", entry)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"name": "Helper_1"}, "lowercase"),
        ({"input_serializer": "example.support.inputs.Nothing"}, "input_serializer"),
        ({"input_serializer": "example.support.inputs.SupportInput"}, "no 'prompt' field"),
        ({"tools": "example.no_such_tools"}, "tools 'example.no_such_tools'"),
        ({"time_limit": 0}, "time_limit"),
        ({"runs_per_user": 0}, "runs_per_user"),
    ],
)
def test_a_bad_declaration_is_refused_at_build(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=message):
        agent_build(declaration(**overrides), Env({}))


def test_the_decorator_declares_an_agent_on_its_input_serializer(
    monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    monkeypatch.setattr(declared, "_declared", [])
    settings.KEEL_AGENTS = {}

    @declared.agent(name="decorated", model=SCRIPTED, instructions="Help.", tools=[forecast])
    class DecoratedInput(serializers.Serializer[Any]):
        prompt = serializers.CharField()

    [found] = declared.declarations()
    assert found.name == "decorated"
    assert found.input_serializer is DecoratedInput
    assert found.tools == [forecast]


@pytest.mark.django_db
def test_an_agent_with_its_own_limits_gets_its_own_queue_and_time_limit() -> None:
    # The example project's support agent: runs_per_user 2, time_limit 300.
    assert services.run_limits(agent="support") == ("keel_agent_runs.support", 300)
    assert services.run_limits(agent="demo") == ("keel_agent_runs", 1800.0)
    assert services.run_limits(agent="gone") == ("keel_agent_runs", 1800.0)
