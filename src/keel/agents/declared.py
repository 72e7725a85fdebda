"""Agents declared rather than built: in the ``KEEL_AGENTS`` setting or with ``@agent``.

A declaration names what a team decides (instructions, tools, input, limits); keel builds
the durable pydantic-ai agent from it. The model is a ``provider:model`` default in the
declaration that the environment overrides per agent (``AGENT_<NAME>_MODEL``, e.g.
``AGENT_SUPPORT_MODEL=anthropic:claude-sonnet-4-5``), so the same image runs on a
scripted model in tests and on a real provider in production; credentials are the
provider's own variables or the task role (keel.agents.providers), never code.

Every tool becomes a durable step named ``<agent>.<tool>`` (``durable.durable_tool``):
a tool the project forgot to wrap cannot run twice after a crash.
"""

from __future__ import annotations

import importlib
import inspect
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string
from rest_framework import serializers

from keel.agents.registry import AgentSpec, register
from keel.conf import Env, env

#: The keys of one ``KEEL_AGENTS`` entry (the fields of ``AgentDeclaration`` but its name).
KEYS = (
    "model",
    "instructions",
    "tools",
    "input_serializer",
    "prompt",
    "time_limit",
    "runs_per_user",
)
_NAME = re.compile(r"[a-z][a-z0-9-]{0,62}")


@dataclass(frozen=True, kw_only=True, slots=True)
class AgentDeclaration:
    name: str
    #: ``provider:model``, used unless ``AGENT_<NAME>_MODEL`` is set.
    model: str
    instructions: str
    #: A module path (its ``TOOLS`` list, else its public functions) or the functions.
    tools: str | Sequence[Callable[..., Any]] = ()
    #: The input serializer class or its dotted path.
    input_serializer: str | type[serializers.Serializer[Any]] = ""
    #: Turns the validated input into the user prompt (or its dotted path); by default
    #: the input's ``prompt`` field.
    prompt: str | Callable[[dict[str, Any]], str] | None = None
    time_limit: float | None = None
    runs_per_user: int | None = None
    #: Where it was declared, for error messages.
    origin: str = field(default="KEEL_AGENTS", compare=False)


def model_variable(name: str) -> str:
    """Return the variable that picks agent ``name``'s model: ``AGENT_<NAME>_MODEL``."""
    return f"AGENT_{re.sub(r'[^A-Z0-9]', '_', name.upper())}_MODEL"


def declaration_from_setting(name: str, entry: Any) -> AgentDeclaration:
    """Read one ``KEEL_AGENTS`` entry, naming the key that is wrong."""
    where = f"KEEL_AGENTS[{name!r}]"
    if not isinstance(entry, Mapping):
        raise ImproperlyConfigured(f"{where} must be a dict of {', '.join(KEYS)}.")
    unknown = sorted(set(entry) - set(KEYS))
    if unknown:
        raise ImproperlyConfigured(
            f"{where} has unknown keys {', '.join(unknown)}; known: {', '.join(KEYS)}."
        )
    for required in ("model", "instructions", "input_serializer"):
        if not entry.get(required):
            raise ImproperlyConfigured(f"{where} needs {required!r}.")
    return AgentDeclaration(name=name, origin=where, **entry)


def agent_build(declaration: AgentDeclaration, environ: Env = env) -> AgentSpec:
    """Build the durable agent ``declaration`` describes, on the model the environment picks."""
    from keel.agents.durable import durable_agent, durable_tool
    from keel.agents.providers import model_from_environment

    where = declaration.origin
    if not _NAME.fullmatch(declaration.name):
        raise ImproperlyConfigured(
            f"{where}: agent name {declaration.name!r} must be lowercase letters, digits "
            "and hyphens, starting with a letter."
        )
    _check_limits(declaration)
    variable = model_variable(declaration.name)
    model_spec = environ.string(variable, None) or declaration.model
    try:
        model = model_from_environment(model_spec, environ)
    except ImproperlyConfigured as error:
        source = variable if environ.string(variable, None) else f"{where} 'model'"
        raise ImproperlyConfigured(f"{where}: the model from {source}: {error}") from None
    input_serializer = _imported(declaration.input_serializer, where, "input_serializer")
    if not (
        isinstance(input_serializer, type) and issubclass(input_serializer, serializers.Serializer)
    ):
        raise ImproperlyConfigured(f"{where}: input_serializer must be a DRF Serializer class.")
    prompt = _imported(declaration.prompt, where, "prompt") or _prompt_field
    if not callable(prompt):
        raise ImproperlyConfigured(f"{where}: prompt must be a function of the input.")
    if prompt is _prompt_field and "prompt" not in input_serializer().fields:
        raise ImproperlyConfigured(
            f"{where}: {input_serializer.__name__} has no 'prompt' field; name the "
            "function that makes the prompt from the input in 'prompt'."
        )
    tools = [
        durable_tool(function, agent=declaration.name)
        for function in _tools(declaration.tools, where)
    ]
    agent = durable_agent(
        name=declaration.name, model=model, instructions=declaration.instructions, tools=tools
    )
    return AgentSpec(
        name=declaration.name,
        agent=agent,
        input_serializer=input_serializer,
        prompt=prompt,
        time_limit=declaration.time_limit,
        runs_per_user=declaration.runs_per_user,
        model=model_spec,
    )


def _prompt_field(validated: dict[str, Any]) -> str:
    return str(validated["prompt"])


def _check_limits(declaration: AgentDeclaration) -> None:
    limit, per_user = declaration.time_limit, declaration.runs_per_user
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int | float)):
        raise ImproperlyConfigured(f"{declaration.origin}: time_limit must be seconds.")
    if limit is not None and limit < 1:
        raise ImproperlyConfigured(f"{declaration.origin}: time_limit must be at least 1 s.")
    if per_user is not None and (
        isinstance(per_user, bool) or not isinstance(per_user, int) or per_user < 1
    ):
        raise ImproperlyConfigured(
            f"{declaration.origin}: runs_per_user must be a whole number, at least 1."
        )


def _imported(value: Any, where: str, key: str) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return import_string(value)
    except ImportError as error:
        raise ImproperlyConfigured(f"{where}: {key} {value!r} does not import: {error}") from None


def _tools(tools: str | Sequence[Callable[..., Any]], where: str) -> list[Callable[..., Any]]:
    """The tool functions: a module's ``TOOLS``, else its public functions; or the list."""
    if not isinstance(tools, str):
        functions = list(tools)
    else:
        try:
            module: ModuleType = importlib.import_module(tools)
        except ImportError as error:
            raise ImproperlyConfigured(
                f"{where}: tools {tools!r} does not import: {error}"
            ) from None
        functions = list(getattr(module, "TOOLS", None) or _public_functions(module))
    for function in functions:
        if not callable(function):
            raise ImproperlyConfigured(f"{where}: tool {function!r} is not a function.")
    return functions


def _public_functions(module: ModuleType) -> list[Callable[..., Any]]:
    return [
        value
        for name, value in vars(module).items()
        if not name.startswith("_")
        and inspect.isfunction(value)
        and getattr(value, "__module__", None) == module.__name__
    ]


_declared: list[AgentDeclaration] = []
_lock = threading.Lock()


def agent(
    *,
    name: str,
    model: str,
    instructions: str,
    tools: str | Sequence[Callable[..., Any]] = (),
    prompt: str | Callable[[dict[str, Any]], str] | None = None,
    time_limit: float | None = None,
    runs_per_user: int | None = None,
) -> Callable[[type[serializers.Serializer[Any]]], type[serializers.Serializer[Any]]]:
    """Declare an agent on its input serializer, the other way to a ``KEEL_AGENTS`` entry.

    The agent is built with the declared ones when the registry loads (the decorated
    module must be in ``KEEL_AGENT_MODULES``).
    """

    def declare(
        input_serializer: type[serializers.Serializer[Any]],
    ) -> type[serializers.Serializer[Any]]:
        declaration = AgentDeclaration(
            name=name,
            model=model,
            instructions=instructions,
            tools=tools,
            input_serializer=input_serializer,
            prompt=prompt,
            time_limit=time_limit,
            runs_per_user=runs_per_user,
            origin=f"@agent(name={name!r}) on {input_serializer.__qualname__}",
        )
        with _lock:
            _declared.append(declaration)
        return input_serializer

    return declare


def declarations() -> list[AgentDeclaration]:
    """Every declared agent: the ``KEEL_AGENTS`` entries, then the decorated ones."""
    configured = getattr(settings, "KEEL_AGENTS", {})
    if not isinstance(configured, Mapping):
        raise ImproperlyConfigured("KEEL_AGENTS must be a dict of agent name -> declaration.")
    with _lock:
        decorated = list(_declared)
    return [declaration_from_setting(name, entry) for name, entry in configured.items()] + decorated


def declared_agents_register() -> None:
    """Build and register every declared agent (keel.agents.registry.load calls this).

    All are built before any is registered: a declaration that fails leaves none
    registered, so a later load builds them all again rather than meeting half of them.
    """
    for spec in [agent_build(declaration) for declaration in declarations()]:
        register(spec)
