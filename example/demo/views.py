"""Small endpoints that show keel's behaviour and give the benchmarks a fixed workload."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.http import HttpRequest, JsonResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from keel.streaming import SSEResponse, streaming_view
from keel.streaming.sse import TickerSource

MAX_TICKS = 1000


class PingApi(APIView):
    """A sync DRF JSON endpoint with one ORM query: the API benchmark's workload."""

    permission_classes = [AllowAny]
    authentication_classes: list[type] = []

    @extend_schema(
        responses=inline_serializer(
            "Ping", fields={"ok": serializers.BooleanField(), "users": serializers.IntegerField()}
        )
    )
    def get(self, request: Request) -> Response:
        return Response({"ok": True, "users": get_user_model().objects.count()})


class EchoApi(APIView):
    """Validate a JSON body and echo it: input serializer in, output serializer out."""

    permission_classes = [AllowAny]
    authentication_classes: list[type] = []

    class InputSerializer(serializers.Serializer):
        message = serializers.CharField(max_length=1000)

    class OutputSerializer(serializers.Serializer):
        message = serializers.CharField()

    @extend_schema(
        request=InputSerializer,
        responses={
            200: OutputSerializer,
            400: OpenApiResponse(
                OpenApiTypes.OBJECT, description="Invalid input; the body names each field."
            ),
            413: OpenApiResponse(OpenApiTypes.OBJECT, description="The body is too large."),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(self.OutputSerializer(serializer.validated_data).data)


def hello_json(request: HttpRequest) -> JsonResponse:
    """A plain Django JSON view, no DRF and no database: an upper bound for benchmarks."""
    return JsonResponse({"hello": "world"})


@streaming_view
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
        request, TickerSource(count=count, interval=interval, start_after=start_after)
    )
