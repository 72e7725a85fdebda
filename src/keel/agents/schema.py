"""OpenAPI for what drf-spectacular cannot see by itself.

- ``POST /api/runs/`` takes one body shape per registered agent: ``RunCreateSchema``
  describes it as a ``oneOf`` with the ``agent`` name as discriminator and each agent's
  own input serializer, so the schema accepts exactly the bodies the server accepts.
- The SSE view is plain Django (DRF views are sync-only): ``add_run_events_endpoint``
  documents it.
- drf-spectacular (0.30) has no way to declare OpenAPI links: ``add_run_links`` adds
  them, so a client or a stateful fuzzer follows the ``id`` of a created run to the
  endpoints that take it.

Both hooks are listed in ``SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]``; the extension
registers itself when this module is imported (``keel.agents.apis`` does).
"""

from __future__ import annotations

import functools
import re
from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension
from rest_framework import serializers

from keel.agents import registry
from keel.agents.models import EventType

EVENTS_PATH = "/api/runs/{run_id}/events/"
#: An event sequence number as ``Last-Event-ID`` or ``after`` carries it: up to ten
#: decimal digits, which every database compares without overflow.
SEQUENCE_PATTERN = r"^[0-9]{1,10}$"
MAX_SEQUENCE = 9_999_999_999
#: One event of the stream, as a client's SSE parser hands it over.
RUN_EVENT = {
    "type": "object",
    "properties": {
        "id": {
            "type": "string",
            "pattern": SEQUENCE_PATTERN,
            "description": "The event's sequence number: send it back as Last-Event-ID.",
        },
        "event": {"type": "string", "enum": list(EventType.values)},
        "data": {
            "type": "string",
            "description": 'JSON: {"sequence": int, "type": the event type, "payload": '
            'object, "created_at": ISO 8601 time}.',
        },
    },
    "required": ["id", "event", "data"],
}
#: ``$response.body#/id`` of these responses feeds the ``run_id`` of the linked operations.
#: (Not the 200 of a repeated Idempotency-Key: that run's 201 carried the same links.)
RUN_LINK_SOURCES = {"runs_create": ("201",), "runs_cancel": ("200",)}
RUN_LINK_TARGETS = {
    "runs_create": {
        "GetRun": "runs_retrieve",
        "CancelRun": "runs_cancel",
        "StreamRunEvents": "runs_events",
    },
    "runs_cancel": {"GetRun": "runs_retrieve", "StreamRunEvents": "runs_events"},
}


@functools.cache
def run_create_variant(agent: str) -> type[serializers.Serializer[Any]]:
    """Build the body serializer of ``POST /api/runs/`` for one agent (schema only)."""
    spec = registry.get(agent)
    input_required = any(field.required for field in spec.input_serializer().fields.values())
    component = "".join(part.capitalize() for part in re.split(r"[^0-9A-Za-z]+", agent))
    return type(
        f"{component}RunCreateSerializer",
        (serializers.Serializer,),
        {
            "agent": serializers.ChoiceField(choices=[agent]),
            "input": spec.input_serializer(required=input_required),
            "__module__": __name__,
        },
    )


class RunCreateSchema(OpenApiSerializerExtension):
    """Describe ``RunCreateSerializer`` as one variant per registered agent."""

    target_class = "keel.agents.serializers.RunCreateSerializer"

    def get_name(self, auto_schema: Any, direction: Any) -> str:
        return "RunCreate"

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        names = registry.names()
        variants = {
            name: auto_schema.resolve_serializer(run_create_variant(name), direction).ref
            for name in names
        }
        input_required = all(run_create_variant(name)().fields["input"].required for name in names)
        return {
            # What every variant has in common, stated at the top as well: drf-spectacular
            # marks the body required from "required", and a client (or a fuzzer learning
            # from 400s) that reads only this level sees the fields' real types.
            "type": "object",
            "properties": {
                "agent": {"type": "string", "enum": names},
                "input": {"type": "object", "additionalProperties": True},
            },
            "required": ["agent", "input"] if input_required else ["agent"],
            "oneOf": list(variants.values()),
            "discriminator": {
                "propertyName": "agent",
                "mapping": {name: ref["$ref"] for name, ref in variants.items()},
            },
        }


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {"error": {"type": "string"}, "detail": {"type": "string"}},
                    "required": ["error", "detail"],
                }
            }
        },
    }


def add_run_events_endpoint(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """A drf-spectacular postprocessing hook adding ``GET /api/runs/{run_id}/events/``."""
    result.setdefault("paths", {})[EVENTS_PATH] = {
        "get": {
            "operationId": "runs_events",
            "summary": "Stream a run's events (Server-Sent Events)",
            "description": "`id` is the event's sequence number, `event` its type (token, "
            "tool_call, tool_result, status), `data` JSON. Reconnect with `Last-Event-ID` "
            "to resume exactly after the last event received. Heartbeat comments keep an "
            "idle stream open; the stream ends after the run's final status event.",
            "tags": ["runs"],
            "parameters": [
                {
                    "name": "run_id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "format": "uuid"},
                },
                {
                    # A string, as SSE defines it (and as every header arrives).
                    "name": "Last-Event-ID",
                    "in": "header",
                    "required": False,
                    "description": "Send only the events after this sequence number.",
                    "schema": {"type": "string", "pattern": SEQUENCE_PATTERN},
                },
                {
                    "name": "after",
                    "in": "query",
                    "required": False,
                    "description": "Like Last-Event-ID, for clients that cannot set "
                    "headers; the header wins when both are sent.",
                    "schema": {"type": "integer", "minimum": 0, "maximum": MAX_SEQUENCE},
                },
            ],
            "security": [{"tokenAuth": []}, {"cookieAuth": []}],
            "responses": {
                "200": {
                    "description": "An event stream; the schema is that of one event.",
                    "content": {"text/event-stream": {"schema": RUN_EVENT}},
                },
                "400": _error("Last-Event-ID or after is not a sequence number."),
                "401": _error("No or an invalid token."),
                "404": _error("No such run, or it belongs to another user."),
                "429": _error(
                    "Too many streams open for this user or client address; retry after "
                    "Retry-After seconds."
                ),
            },
        }
    }
    return result


def add_run_links(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """A drf-spectacular postprocessing hook linking a returned run to what takes its id."""
    operations = {
        operation["operationId"]: operation
        for path in result.get("paths", {}).values()
        for operation in path.values()
        if isinstance(operation, dict) and "operationId" in operation
    }
    for source, statuses in RUN_LINK_SOURCES.items():
        links = {
            name: {
                "operationId": target,
                "parameters": {"run_id": "$response.body#/id"},
                "description": f"The run's id as `run_id` of {target}.",
            }
            for name, target in RUN_LINK_TARGETS[source].items()
            if target in operations
        }
        for status in statuses:
            response = operations.get(source, {}).get("responses", {}).get(status)
            if response is not None:
                response["links"] = links
    return result
