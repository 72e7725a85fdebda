"""System checks for a project that installs keel.agents: each names the step it lacks."""

from __future__ import annotations

import importlib
from typing import Any

from django.apps import apps
from django.core.checks import CheckMessage, Error, Warning, register
from django.urls import NoReverseMatch, reverse

from keel.agents.conf import agent_settings

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
    if not modules:
        return [
            Warning(
                "keel.agents is installed but no module registers an agent.",
                hint="List the modules that register agents: KEEL_AGENT_MODULES = "
                '["myproject.agents"] in the settings (or AGENT_MODULES in the environment); '
                '"keel.agents.demo" is the offline demo agent.',
                id="keel.W012",
            )
        ]
    problems: list[CheckMessage] = []
    for module in modules:
        try:
            importlib.import_module(module)
        except Exception as error:
            problems.append(
                Error(
                    f"The agent module {module} does not import: {type(error).__name__}: {error}",
                    hint="Fix the module, or remove it from KEEL_AGENT_MODULES / AGENT_MODULES.",
                    id="keel.E013",
                )
            )
    return problems
