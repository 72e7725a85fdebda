"""System checks for a project that installs keel.agents: each names the step it lacks."""

from __future__ import annotations

import importlib
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register
from django.core.exceptions import ImproperlyConfigured
from django.urls import NoReverseMatch, reverse

from keel.agents.conf import agent_settings
from keel.agents.registry import UnwrappedTool

#: What agent runs are built on: DRF and its token authentication for the runs API, and
#: keel.tasks, whose worker runs them durably.
REQUIRED_APPS = ("rest_framework", "rest_framework.authtoken", "keel.tasks")


@register()
def check_required_apps(**kwargs: Any) -> list[CheckMessage]:
    missing = [name for name in REQUIRED_APPS if not apps.is_installed(name)]
    if not missing:
        return []
    return [
        Error(
            f"keel.agents needs {', '.join(missing)} in INSTALLED_APPS.",
            hint="The runs API is a DRF API authenticated by tokens, and runs are durable "
            "workflows of keel.tasks: add "
            + ", ".join(f'"{name}"' for name in missing)
            + " to INSTALLED_APPS.",
            id="keel.E010",
        )
    ]


@register()
def check_runs_api_included(**kwargs: Any) -> list[CheckMessage]:
    try:
        reverse("keel_agents:runs")
    except NoReverseMatch:
        return [
            Error(
                "The runs API is not in the URLconf.",
                hint='Add path("api/", include("keel.agents.urls")) to the root URLconf\'s '
                "urlpatterns (the API at /api/runs/).",
                id="keel.E011",
            )
        ]
    return []


@register()
def check_agent_modules(**kwargs: Any) -> list[CheckMessage]:
    modules = agent_settings().agent_modules
    if not modules and not getattr(settings, "KEEL_AGENTS", None):
        return [
            Warning(
                "keel.agents is installed but no agent is declared or registered.",
                hint="Declare agents in KEEL_AGENTS (docs/agents.md), or list the modules "
                'that register them: KEEL_AGENT_MODULES = ["myproject.agents"] in the '
                'settings (or AGENT_MODULES in the environment); "keel.agents.demo" is the '
                "offline demo agent.",
                id="keel.W012",
            )
        ]
    problems: list[CheckMessage] = []
    for module in modules:
        try:
            importlib.import_module(module)
        except UnwrappedTool as error:
            problems.append(Error(str(error), hint=TOOL_STEP_HINT, id="keel.E014"))
        except Exception as error:
            problems.append(
                Error(
                    f"The agent module {module} does not import: {type(error).__name__}: {error}",
                    hint="Fix the module, or remove it from KEEL_AGENT_MODULES / AGENT_MODULES.",
                    id="keel.E013",
                )
            )
    return problems


TOOL_STEP_HINT = (
    "Put @tool_step('<agent>.<tool>') (from keel.agents.durable) under @agent.tool on each "
    "of them; the name is the step's durable identity, keep it."
)


@register()
def check_declared_agents(**kwargs: Any) -> list[CheckMessage]:
    """Every KEEL_AGENTS entry and @agent declaration builds (its model, tools, input)."""
    from keel.agents import declared, registry

    problems: list[CheckMessage] = []
    try:
        declared.declarations()
    except ImproperlyConfigured as error:
        problems.append(Error(str(error), hint=DECLARATION_HINT, id="keel.E015"))
        return problems
    try:
        registry.load()
    except (UnwrappedTool, ImportError):
        pass  # a module's problem: keel.E013 and keel.E014 report it
    except ImproperlyConfigured as error:
        problems.append(Error(str(error), hint=DECLARATION_HINT, id="keel.E015"))
    return problems


DECLARATION_HINT = (
    "Each KEEL_AGENTS entry needs model (provider:model, overridden by AGENT_<NAME>_MODEL), "
    "instructions and input_serializer; docs/agents.md shows one."
)
