"""``/``: where a newcomer lands after ``make run``, and what an API client finds there."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe

#: The repository's documentation, by file: it is not served, so the page names it.
DOCUMENTATION = [
    ("README.md", "set-up, the keel command and the API walk-through"),
    ("docs/configuration.md", "every environment variable and setting"),
    ("docs/agents.md", "agents, durable runs, recovery"),
    ("docs/deploy.md", "the image, preflight and the Pulumi stack"),
    ("docs/operations.md", "what failures look like and what to do"),
    ("docs/benchmarks.md", "measurements against the alternatives"),
]


def links() -> list[tuple[str, str, str]]:
    """Return (title, URL, what it is) for each place worth a visit on this server."""
    found = [
        ("Run console", reverse("keel_console:runs"), "start agent runs and watch them stream"),
        ("API docs", reverse("api-docs"), "the runs API, browsable"),
        ("OpenAPI schema", reverse("schema"), "for clients and code generators"),
        ("Readiness", reverse("readyz"), "database, migrations and the DBOS system database"),
        ("Liveness", "/healthz", "what the load balancer checks"),
        ("Admin", reverse("admin:index"), "runs, events and workers (staff sign-in)"),
    ]
    if settings.DEBUG:
        found.append(
            ("Demo stream", reverse("demo-stream"), "Server-Sent Events, one tick at a time")
        )
    return found


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    """List what this server offers: a page for people, JSON for clients that ask for it."""
    if request.get_preferred_type(["text/html", "application/json"]) == "application/json":
        return JsonResponse(
            {
                "links": [
                    {"title": title, "href": href, "description": description}
                    for title, href, description in links()
                ],
                "documentation": [path for path, _ in DOCUMENTATION],
            }
        )
    return render(request, "demo/home.html", {"links": links(), "documentation": DOCUMENTATION})
