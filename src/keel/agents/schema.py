"""OpenAPI for the one endpoint drf-spectacular cannot see: the SSE view is plain Django."""

from __future__ import annotations

from typing import Any

EVENTS_PATH = "/api/runs/{run_id}/events/"


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {"error": {"type": "string"}, "detail": {"type": "string"}},
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
                    "name": "Last-Event-ID",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "integer", "minimum": 0},
                },
            ],
            "security": [{"tokenAuth": []}, {"cookieAuth": []}],
            "responses": {
                "200": {
                    "description": "An event stream.",
                    "content": {"text/event-stream": {"schema": {"type": "string"}}},
                },
                "400": _error("Last-Event-ID is not a sequence number."),
                "401": _error("No or an invalid token."),
                "404": _error("No such run, or it belongs to another user."),
            },
        }
    }
    return result
