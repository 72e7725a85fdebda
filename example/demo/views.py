"""Small endpoints that show keel's behaviour and give the benchmarks a fixed workload.

They are open to anyone only where ``DEMO_ENDPOINTS_PUBLIC`` is on: by default under
``DEBUG`` (``make run``), never in production, where a caller needs a token or a
session like every other endpoint (an anonymous stream endpoint lets one client hold
thousands of connections; docs/configuration.md).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db.migrations.recorder import MigrationRecorder
from django.http import HttpRequest, HttpResponseBase, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from keel.agents.authentication import request_user
from keel.agents.fields import StrictCharField
from keel.errors import json_error, method_not_allowed
from keel.streaming import SSEResponse, streaming_view
from keel.streaming.sse import TickerSource

MAX_TICKS = 1000
UNAUTHORIZED = OpenApiResponse(
    OpenApiTypes.OBJECT, description="No or an invalid token (unless DEMO_ENDPOINTS_PUBLIC)."
)


def demo_endpoints_public() -> bool:
    return bool(getattr(settings, "DEMO_ENDPOINTS_PUBLIC", settings.DEBUG))


class DemoApi(APIView):
    """A DRF demo endpoint: anonymous only while the demo endpoints are public.

    The permission is chosen per request rather than fixed, so the schema (which
    drf-spectacular derives from it) says what this process does.
    """

    def get_permissions(self) -> list[BasePermission]:
        return [AllowAny() if demo_endpoints_public() else IsAuthenticated()]


class PingApi(DemoApi):
    """A sync DRF JSON endpoint with one ORM query: the API benchmark's workload.

    The query reads Django's migration table, which says nothing about accounts.
    """

    @extend_schema(
        responses={
            200: inline_serializer(
                "Ping",
                fields={"ok": serializers.BooleanField(), "migrated": serializers.BooleanField()},
            ),
            401: UNAUTHORIZED,
        }
    )
    def get(self, request: Request) -> Response:
        return Response({"ok": True, "migrated": MigrationRecorder.Migration.objects.exists()})


class EchoApi(DemoApi):
    """Validate a JSON body and echo it: input serializer in, output serializer out."""

    class InputSerializer(serializers.Serializer[Any]):
        message = StrictCharField(max_length=1000)

    class OutputSerializer(serializers.Serializer[Any]):
        message = serializers.CharField()

    @extend_schema(
        request=InputSerializer,
        responses={
            200: OutputSerializer,
            400: OpenApiResponse(
                OpenApiTypes.OBJECT, description="Invalid input; the body names each field."
            ),
            401: UNAUTHORIZED,
            413: OpenApiResponse(OpenApiTypes.OBJECT, description="The body is too large."),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(self.OutputSerializer(serializer.validated_data).data)


View = Callable[..., HttpResponseBase]


def demo_view(*methods: str) -> Callable[[View], View]:
    """Allow ``methods`` only, and anonymous callers only while the demo is public."""

    def decorate(view: View) -> View:
        # Safe methods only, which change nothing: another method is a JSON 405 with
        # Allow, not the CSRF check's HTML 403.
        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            # Without a token header or a session cookie this makes no query.
            user = request_user(request)
            if user is None and not demo_endpoints_public():
                response = json_error(
                    401, "not_authenticated", "Authentication credentials were not provided."
                )
                response["WWW-Authenticate"] = "Token"
                return response
            request.keel_demo_user = user  # type: ignore[attr-defined]
            if request.method not in methods:
                return method_not_allowed(list(methods))
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


@demo_view("GET", "HEAD")
def hello_json(request: HttpRequest) -> JsonResponse:
    """A plain Django JSON view, no DRF and no database: an upper bound for benchmarks."""
    return JsonResponse({"hello": "world"})


@streaming_view
@demo_view("GET")
def demo_stream(request: HttpRequest) -> SSEResponse | JsonResponse:
    """Stream ``count`` tick events ``interval`` seconds apart; resumes from Last-Event-ID."""
    try:
        count = int(request.GET.get("count", "20"))
        interval = float(request.GET.get("interval", "0.5"))
        start_after = int(request.headers.get("Last-Event-ID") or 0)
    except ValueError:
        return JsonResponse(
            {
                "error": "bad_request",
                "detail": "count, interval and Last-Event-ID must be numbers.",
            },
            status=400,
        )
    if not (1 <= count <= MAX_TICKS and 0 <= interval <= 60 and 0 <= start_after <= count):
        return JsonResponse(
            {
                "error": "bad_request",
                "detail": f"count must be 1-{MAX_TICKS}, interval 0-60 s, Last-Event-ID 0-count.",
            },
            status=400,
        )
    return SSEResponse(
        request,
        TickerSource(count=count, interval=interval, start_after=start_after),
        owner=getattr(request, "keel_demo_user", None),
    )
