"""The console's pages: thin views over the runs selectors and services.

Every page needs a signed-in user (Django's session); a run of another user is a 404,
exactly as in the runs API. Creating and cancelling are plain form posts (CSRF-checked),
so the pages work by keyboard and without script; the scripts only make them live.
"""

from __future__ import annotations

import json
import uuid
from typing import Any, cast

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.views.decorators.http import require_POST, require_safe
from rest_framework import serializers

from keel.agents import registry, selectors, services
from keel.agents.console.csp import console_policy
from keel.agents.console.forms import UnrenderableInput, input_form_class, run_input
from keel.agents.serializers import RunSerializer
from keel.agents.throttles import run_create_wait

LOGIN_URL = reverse_lazy("keel_console:login")
#: How many runs the list shows (newest first); older ones are in the API's pages.
LIST_LENGTH = 50


def console_page(view: Any) -> Any:
    """A console page: the console's policy, and a signed-in user (else the sign-in page)."""
    return console_policy(login_required(login_url=LOGIN_URL)(view))


login = console_policy(
    auth_views.LoginView.as_view(
        template_name="keel_console/login.html", next_page=reverse_lazy("keel_console:runs")
    )
)
logout = console_policy(auth_views.LogoutView.as_view(next_page=LOGIN_URL))


def _not_found(request: HttpRequest) -> HttpResponse:
    return render(request, "keel_console/not_found.html", status=404)


@console_page
@require_safe
def run_list(request: HttpRequest) -> HttpResponse:
    runs = selectors.run_list(owner=request.user)[:LIST_LENGTH]
    return render(
        request,
        "keel_console/runs.html",
        {"runs": runs, "agents": registry.names(), "runs_api": reverse("keel_agents:runs")},
    )


@console_page
def run_new(request: HttpRequest, agent: str) -> HttpResponse:
    """Show the form for ``agent``'s input; on POST, create the run and show it."""
    try:
        spec = registry.get(agent)
    except registry.UnknownAgent:
        return _not_found(request)
    try:
        form_class = input_form_class(spec.input_serializer)
    except UnrenderableInput as problem:
        return render(
            request, "keel_console/new_run.html", {"agent": agent, "problem": str(problem)}
        )
    if request.method == "POST":
        form = form_class(request.POST)
        wait = run_create_wait(owner_id=request.user.pk) if form.is_valid() else None
        if wait is not None:
            form.add_error(None, f"Too many runs started recently; try again in {wait:.0f} s.")
        elif form.is_valid():
            try:
                run, _ = services.run_create(
                    owner=cast(User, request.user), agent=agent, input=run_input(form)
                )
            except serializers.ValidationError as invalid:
                _add_errors(form, invalid.detail)
            else:
                return redirect("keel_console:run", run_id=run.id)
        status = 429 if wait is not None else 400
    elif request.method in ("GET", "HEAD"):
        form, status = form_class(), 200
    else:
        return HttpResponse(status=405, headers={"Allow": "GET, HEAD, POST"})
    return render(
        request, "keel_console/new_run.html", {"agent": agent, "form": form}, status=status
    )


def _add_errors(form: Any, detail: Any) -> None:
    """Put the service's validation errors (``{"input": {field: [...]}}``) on the form."""
    errors = detail.get("input", detail) if isinstance(detail, dict) else detail
    if isinstance(errors, dict):
        for name, messages in errors.items():
            for message in messages if isinstance(messages, list) else [messages]:
                form.add_error(name if name in form.fields else None, str(message))
    else:
        for message in errors if isinstance(errors, list) else [errors]:
            form.add_error(None, str(message))


@console_page
@require_safe
def run_detail(request: HttpRequest, run_id: uuid.UUID) -> HttpResponse:
    try:
        run = selectors.run_get(owner=request.user, run_id=run_id)
    except Http404:
        return _not_found(request)
    return render(
        request,
        "keel_console/run.html",
        {
            "run": run,
            "input_json": json.dumps(run.input, indent=2, ensure_ascii=False),
            "events_url": reverse("keel_agents:run-events", kwargs={"run_id": run.id}),
        },
    )


@console_page
@require_POST
def run_cancel(request: HttpRequest, run_id: uuid.UUID) -> HttpResponseBase:
    """Cancel the run; answer JSON to the page's script, else go back to the run."""
    try:
        run = selectors.run_get(owner=request.user, run_id=run_id)
    except Http404:
        return _not_found(request)
    run = services.run_cancel(run=run)
    if request.headers.get("Accept") == "application/json":
        return JsonResponse(RunSerializer(run).data)
    return redirect("keel_console:run", run_id=run.id)
