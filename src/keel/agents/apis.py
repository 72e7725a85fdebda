"""The runs API: input serializer, then a service or selector, then output serializer."""

from __future__ import annotations

import re
import uuid
from typing import cast

from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import exceptions, serializers, status
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from keel.agents import selectors, services
from keel.agents.authentication import request_user
from keel.agents.events import RunEventSource

# Also registers the OpenAPI extension describing RunCreateSerializer.
from keel.agents.schema import SEQUENCE_PATTERN
from keel.agents.serializers import (
    ErrorSerializer,
    RunCreateSerializer,
    RunListFilterSerializer,
    RunSerializer,
)
from keel.agents.throttles import RunCreateRateThrottle
from keel.errors import json_error, method_not_allowed
from keel.streaming import SSEResponse, streaming_view

UNAUTHORIZED = OpenApiResponse(ErrorSerializer, description="No or an invalid token.")
NOT_FOUND = OpenApiResponse(
    ErrorSerializer, description="No such run, or it belongs to another user."
)
BAD_REQUEST = OpenApiResponse(
    OpenApiTypes.OBJECT, description="Invalid input; the body names each offending field."
)
#: The list is paginated by hand in an APIView, which drf-spectacular cannot see.
RUN_PAGE = inline_serializer(
    "PaginatedRunList",
    fields={
        "count": serializers.IntegerField(),
        "next": serializers.URLField(allow_null=True),
        "previous": serializers.URLField(allow_null=True),
        "results": RunSerializer(many=True),
    },
)
THROTTLED = OpenApiResponse(
    ErrorSerializer,
    description="Too many runs created recently; retry after Retry-After seconds.",
)
#: The idempotency key column holds at most this many characters.
IDEMPOTENCY_KEY_LENGTH = 255
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    {"type": "string", "maxLength": IDEMPOTENCY_KEY_LENGTH},
    OpenApiParameter.HEADER,
    description="Repeating a key returns the run the first request created (200); an "
    "empty key is no key.",
)


class RunsApiView(APIView):
    """What every runs endpoint needs, whatever the project's REST_FRAMEWORK defaults are.

    A project adopting keel keeps its own DRF defaults (often session and basic
    authentication, AllowAny); the runs API always takes a token or a session and always
    requires a signed-in user.
    """

    authentication_classes = [TokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated]


class RunPagination(PageNumberPagination):
    #: Set here, not from the project's PAGE_SIZE, which a project may not have.
    page_size = 50


class RunListCreateApi(RunsApiView):
    # POST only (the throttle ignores GET): RUNS_CREATE_RATE per user.
    throttle_classes = [RunCreateRateThrottle]

    @extend_schema(
        operation_id="runs_list",
        parameters=[RunListFilterSerializer],
        responses={
            200: RUN_PAGE,
            400: BAD_REQUEST,
            401: UNAUTHORIZED,
            404: OpenApiResponse(ErrorSerializer, description="No such page."),
        },
    )
    def get(self, request: Request) -> Response:
        filters = RunListFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        # The paginator reads ``page`` itself; the selector takes the rest.
        criteria = {name: value for name, value in filters.validated_data.items() if name != "page"}
        runs = selectors.run_list(owner=request.user, **criteria)
        paginator = RunPagination()
        page = paginator.paginate_queryset(runs, request, view=self)
        return paginator.get_paginated_response(RunSerializer(page, many=True).data)

    @extend_schema(
        operation_id="runs_create",
        request=RunCreateSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            201: RunSerializer,
            200: OpenApiResponse(RunSerializer, description="An earlier run with this key."),
            400: BAD_REQUEST,
            401: UNAUTHORIZED,
            413: OpenApiResponse(ErrorSerializer, description="The request body is too large."),
            429: THROTTLED,
            503: OpenApiResponse(
                ErrorSerializer,
                description="The database is unavailable and nothing was recorded; retry "
                "after Retry-After seconds (with the same Idempotency-Key, safely).",
            ),
        },
    )
    def post(self, request: Request) -> Response:
        body = RunCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        key = request.headers.get("Idempotency-Key") or None
        if key is not None and len(key) > IDEMPOTENCY_KEY_LENGTH:
            raise exceptions.ValidationError(
                {"Idempotency-Key": [f"At most {IDEMPOTENCY_KEY_LENGTH} characters."]}
            )
        run, created = services.run_create(
            owner=cast(User, request.user),  # IsAuthenticated let only users in
            idempotency_key=key,
            **body.validated_data,
        )
        return Response(
            RunSerializer(run).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class RunDetailApi(RunsApiView):
    @extend_schema(
        operation_id="runs_retrieve",
        responses={200: RunSerializer, 401: UNAUTHORIZED, 404: NOT_FOUND},
    )
    def get(self, request: Request, run_id: uuid.UUID) -> Response:
        run = selectors.run_get(owner=request.user, run_id=run_id)
        return Response(RunSerializer(run).data)


class RunCancelApi(RunsApiView):
    @extend_schema(
        operation_id="runs_cancel",
        request=None,
        responses={
            200: OpenApiResponse(
                RunSerializer, description="The run, now cancelled (or already finished)."
            ),
            401: UNAUTHORIZED,
            404: NOT_FOUND,
        },
    )
    def post(self, request: Request, run_id: uuid.UUID) -> Response:
        run = selectors.run_get(owner=request.user, run_id=run_id)
        return Response(RunSerializer(services.run_cancel(run=run)).data)


def _sequence(value: str) -> int | None:
    """Read an event sequence number as the schema states it: 1-10 decimal digits."""
    return int(value) if re.fullmatch(SEQUENCE_PATTERN, value) else None


@streaming_view
# GET only, which changes nothing: any other method is a JSON 405 with Allow, not the
# CSRF check's HTML 403.
@csrf_exempt
def run_events(request: HttpRequest, run_id: uuid.UUID) -> SSEResponse | JsonResponse:
    """Stream a run's events as SSE, resuming after ``Last-Event-ID``.

    A plain Django view (DRF views are sync-only): it authenticates here, then
    ``SSEResponse`` streams asynchronously under ASGI and synchronously under WSGI.
    """
    # Authenticate first, as DRF views do: without a token every method is 401.
    user = request_user(request)
    if user is None:
        response = json_error(
            401, "not_authenticated", "Authentication credentials were not provided."
        )
        response["WWW-Authenticate"] = "Token"
        return response
    if request.method != "GET":
        return method_not_allowed(["GET"])
    try:
        selectors.run_get(owner=user, run_id=run_id)
    except Http404:
        return json_error(404, "not_found", "Not found.")
    # Both are checked when both are sent, though the header wins.
    given = [
        value
        for value in (request.headers.get("Last-Event-ID"), request.GET.get("after"))
        if value is not None
    ]
    positions = [_sequence(value) for value in given]
    after = positions[0] if positions else 0
    if after is None or None in positions:
        return json_error(
            400,
            "bad_request",
            "Last-Event-ID (or after) must be an event sequence number (1-10 digits).",
        )
    return SSEResponse(request, RunEventSource(run_id=run_id, after=after), owner=user)
