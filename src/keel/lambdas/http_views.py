"""The view of every HTTP function's route: request -> event -> handler -> response.

One view per path (keel.lambdas.urls), dispatching on the method, since two functions
may serve one path with different methods as API Gateway routes allow. Django validated
the Host header and ran its middleware (sessions, authentication) before this; the
trigger's ``authorizer`` turns what Django knows of the caller into
``requestContext.authorizer``.
"""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseBase
from django.utils.module_loading import import_string

from keel.errors import method_not_allowed, permission_denied
from keel.lambdas import http_events, http_responses, invocation, registry
from keel.lambdas.context import new_request_id
from keel.lambdas.triggers import HttpTrigger

logger = logging.getLogger("keel.lambdas")


class Route:
    """The functions serving one path, by method (``ANY`` for any other method)."""

    csrf_exempt = True  # a Lambda function authenticates its callers itself, not by CSRF

    def __init__(self, path: str, by_method: dict[str, tuple[str, HttpTrigger]]) -> None:
        self.path = path
        self.by_method = by_method
        self.regex = next(iter(by_method.values()))[1].regex

    def __call__(self, request: HttpRequest, **path_parameters: str) -> HttpResponseBase:
        method = request.method or "GET"
        served = self.by_method.get(method) or self.by_method.get("ANY")
        if served is None and method == "HEAD":
            served = self.by_method.get("GET")
        if served is None:
            return method_not_allowed(sorted(self.by_method))
        function_name, trigger = served
        function = registry.get(function_name)
        assert function is not None  # routes are built from the registry
        authorizer = None
        if trigger.authorizer:
            try:
                authorizer = import_string(trigger.authorizer)(request, trigger.format)
            except PermissionDenied:
                return permission_denied(request)
        request_id = getattr(request, "keel_request_id", None) or new_request_id()
        event = http_events.event_of(
            request,
            trigger,
            path_parameters=path_parameters,
            request_id=request_id,
            authorizer=authorizer,
        )
        outcome = invocation.invoke(function, event, request_id=request_id)
        if outcome.failed:
            return http_responses.failed_response(trigger.format)
        try:
            return http_responses.response_of(outcome.result, trigger.format)
        except http_responses.MalformedResponse as error:
            logger.error(
                "function %s returned a malformed %s response: %s",
                function.name,
                trigger.format,
                error,
                extra={"function": function.name, "request_id": request_id},
            )
            return http_responses.failed_response(trigger.format)


def routes() -> list[Route]:
    """One route per distinct path of the declared HTTP triggers, in declaration order."""
    by_path: dict[str, dict[str, tuple[str, HttpTrigger]]] = {}
    for function in registry.functions().values():
        for trigger in function.http_triggers:
            methods = by_path.setdefault(trigger.path, {})
            for method in trigger.methods or ("ANY",):
                methods[method] = (function.name, trigger)
    return [Route(path, methods) for path, methods in by_path.items()]
