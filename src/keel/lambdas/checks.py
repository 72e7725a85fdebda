"""System checks for a project that installs keel.lambdas: each names what it lacks."""

from __future__ import annotations

import re
from typing import Any

from django.apps import apps
from django.core.checks import CheckMessage, Error, Warning, register
from django.core.exceptions import ImproperlyConfigured
from django.urls import NoReverseMatch, reverse

from keel.lambdas.conf import invoke_credentials, lambda_settings


@register()
def check_tasks_installed(**kwargs: Any) -> list[CheckMessage]:
    if apps.is_installed("keel.tasks"):
        return []
    return [
        Error(
            "keel.lambdas needs keel.tasks in INSTALLED_APPS.",
            hint='Asynchronous invocations are durable tasks: add "keel.tasks" to '
            "INSTALLED_APPS and its backend to TASKS (docs/tasks.md).",
            id="keel.E030",
        )
    ]


@register()
def check_urls_included(**kwargs: Any) -> list[CheckMessage]:
    try:
        reverse("keel_lambdas:invoke", args=["check"])
    except NoReverseMatch:
        return [
            Error(
                "The Lambda functions' URLs are not in the URLconf.",
                hint='Add path("", include("keel.lambdas.urls")) to the root URLconf\'s '
                "urlpatterns (the HTTP functions and the Invoke API).",
                id="keel.E031",
            )
        ]
    return []


@register()
def check_task_queue(**kwargs: Any) -> list[CheckMessage]:
    from django.conf import settings

    queue = lambda_settings().task_queue
    backend = getattr(settings, "TASKS", {}).get("default", {})
    if queue in backend.get("QUEUES", ["default"]):
        return []
    return [
        Error(
            f"Asynchronous invocations go to the task queue {queue!r}, which TASKS['default'] "
            "does not declare.",
            hint=f"Add {queue!r} to TASKS['default']['QUEUES'], or set LAMBDA_TASK_QUEUE to "
            "one of them.",
            id="keel.E032",
        )
    ]


@register()
def check_invoke_credentials(**kwargs: Any) -> list[CheckMessage]:
    try:
        invoke_credentials()
    except ImproperlyConfigured as error:
        return [Error(str(error), hint="See docs/lambdas.md, the Invoke API.", id="keel.E033")]
    return []


@register()
def check_routes_reachable(**kwargs: Any) -> list[CheckMessage]:
    """Each HTTP function's path must resolve to it, not to a pattern the URLconf has first."""
    from django.urls import Resolver404, resolve

    from keel.lambdas import registry
    from keel.lambdas.http_views import Route

    problems: list[CheckMessage] = []
    for function in registry.functions().values():
        for trigger in function.http_triggers:
            sample = re.sub(r"\{(\w+)\+\}", r"\1/more", trigger.path)
            sample = re.sub(r"\{(\w+)\}", r"\1", sample)
            try:
                view = resolve(sample).func
            except Resolver404:
                continue  # keel.E031 says the URLs are not included
            if not isinstance(view, Route) or trigger.path != view.path:
                problems.append(
                    Warning(
                        f"KEEL_LAMBDAS[{function.name!r}]: {trigger.path} is served by "
                        f"{getattr(view, '__module__', '?')}.{getattr(view, '__name__', view)}, "
                        "a URL pattern before keel.lambdas.urls: the function never runs.",
                        hint="Include keel.lambdas.urls before that pattern, or move the "
                        "function to another path.",
                        id="keel.W034",
                    )
                )
    return problems
