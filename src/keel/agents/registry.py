"""Agents registered by name: a pydantic-ai agent plus the serializer that validates its input.

Agents come from two places, both loaded on first use rather than at start-up (so a web
process that never creates a run never imports pydantic-ai): modules listed in
``KEEL_AGENT_MODULES`` that call ``register``, and agents declared in the ``KEEL_AGENTS``
setting or with ``keel.agents.declared.agent`` (built by keel.agents.declared).

Every function tool of a registered agent must be a durable step (``tool_step``): a tool
that is not would run again after a worker crash, so ``register`` refuses it
(``UnwrappedTool``; the system check keel.E014 reports it).
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from rest_framework import serializers

from keel.agents.conf import agent_settings

#: Set by ``keel.agents.durable.tool_step`` on the functions it makes DBOS steps.
STEP_MARKER = "__keel_step__"


@dataclass(frozen=True, kw_only=True, slots=True)
class RunDeps:
    """What an agent's tools and instructions see of the run (pydantic-ai ``deps``)."""

    run_id: str
    input: dict[str, Any]


@dataclass(frozen=True, kw_only=True, slots=True)
class AgentSpec:
    name: str
    #: A pydantic-ai ``Agent`` built with ``DBOSDurability`` and the run-event handler.
    agent: Any
    input_serializer: type[serializers.Serializer[Any]]
    #: Turn validated input into the user prompt.
    prompt: Callable[[dict[str, Any]], str]
    #: Seconds before a run of this agent ends ``timed_out``; None: AGENT_RUN_TIME_LIMIT.
    time_limit: float | None = None
    #: Runs of this agent one user may have executing at once (a queue of its own);
    #: None: the shared queue's AGENT_RUNS_PER_USER.
    runs_per_user: int | None = None
    #: The ``provider:model`` the agent runs on, for logs and the console (empty: unnamed).
    model: str = ""


_agents: dict[str, AgentSpec] = {}
_loaded = False
_lock = threading.RLock()


class UnknownAgent(LookupError):
    pass


class UnwrappedTool(ImproperlyConfigured):
    """A function tool that is not a durable step: it would re-run after a crash."""


def unwrapped_tools(agent: Any) -> list[str]:
    """Return the names of ``agent``'s function tools that are not ``tool_step`` steps."""
    from pydantic_ai.toolsets import FunctionToolset

    names = []
    for toolset in getattr(agent, "toolsets", ()):
        if isinstance(toolset, FunctionToolset):
            names += [
                name
                for name, tool in toolset.tools.items()
                if not getattr(tool.function, STEP_MARKER, None)
            ]
    return sorted(names)


def register(spec: AgentSpec) -> AgentSpec:
    """Register ``spec`` under its name; a second registration of a name is an error.

    Refuse an agent with a function tool that is not a durable step (``UnwrappedTool``).
    """
    unwrapped = unwrapped_tools(spec.agent)
    if unwrapped:
        raise UnwrappedTool(
            f"The agent {spec.name!r} has tools that are not durable steps: "
            f"{', '.join(unwrapped)}. A worker killed after such a tool ran would run it "
            "again. Decorate each tool function with keel.agents.durable.tool_step "
            "(under @agent.tool), or declare the agent in KEEL_AGENTS, which wraps its tools."
        )
    with _lock:
        if spec.name in _agents and _agents[spec.name] is not spec:
            raise ValueError(f"an agent named {spec.name!r} is already registered")
        _agents[spec.name] = spec
    return spec


def load() -> None:
    """Import every configured agent module and build every declared agent, once."""
    global _loaded
    with _lock:
        if _loaded:
            return
        for module in agent_settings().agent_modules:
            importlib.import_module(module)
        from keel.agents.declared import declared_agents_register

        declared_agents_register()
        _loaded = True


def get(name: str) -> AgentSpec:
    load()
    try:
        return _agents[name]
    except KeyError:
        raise UnknownAgent(name) from None


def names() -> list[str]:
    load()
    return sorted(_agents)


def specs() -> list[AgentSpec]:
    """Every registered agent, by name."""
    load()
    return [_agents[name] for name in sorted(_agents)]
