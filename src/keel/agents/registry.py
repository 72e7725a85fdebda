"""Agents registered by name: a pydantic-ai agent plus the serializer that validates its input.

Agent modules (``KEEL_AGENT_MODULES``) are imported on first use rather than at start-up,
so a web process that never creates a run never imports pydantic-ai.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rest_framework import serializers

from keel.agents.conf import agent_settings


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


_agents: dict[str, AgentSpec] = {}
_loaded = False
_lock = threading.RLock()


class UnknownAgent(LookupError):
    pass


def register(spec: AgentSpec) -> AgentSpec:
    """Register ``spec`` under its name; a second registration of a name is an error."""
    with _lock:
        if spec.name in _agents and _agents[spec.name] is not spec:
            raise ValueError(f"an agent named {spec.name!r} is already registered")
        _agents[spec.name] = spec
    return spec


def load() -> None:
    """Import every configured agent module once (each registers its agents)."""
    global _loaded
    with _lock:
        if _loaded:
            return
        for module in agent_settings().agent_modules:
            importlib.import_module(module)
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
