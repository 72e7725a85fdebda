"""The runs API: input serializer, then a service or selector, then output serializer."""

from __future__ import annotations

import uuid
from typing import cast

from django.contrib.auth.models import AnonymousUser, User
from django.http import HttpRequest, JsonResponse
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
from keel.agents.events import RunEventSource
from keel.agents.serializers import (
    ErrorSerializer,
    RunCreateSerializer,
    RunListFilterSerializer,
    RunSerializer,
)
from keel.agents.throttles import RunCreateRateThrottle
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
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    description="Repeating a key returns the run the first request created (200).",
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
        responses={200: RUN_PAGE, 400: BAD_REQUEST, 401: UNAUTHORIZED},
    )
    def get(self, request: Request) -> Response:
        filters = RunListFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        runs = selectors.run_list(owner=request.user, **filters.validated_data)
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
            503: OpenApiResponse(ErrorSerializer, description="The run could not be queued."),
        },
    )
    def post(self, request: Request) -> Response:
        body = RunCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        key = request.headers.get("Idempotency-Key") or None
        if key is not None and len(key) > 255:
            raise exceptions.ValidationError({"Idempotency-Key": ["At most 255 characters."]})
        try:
            run, created = services.run_create(
                owner=cast(User, request.user),  # IsAuthenticated let only users in
                idempotency_key=key,
                **body.validated_data,
            )
        except services.EnqueueFailed:
            return Response(
                {"detail": "The run could not be queued; try again."},
                status=status.HTTP_503_SERVICE_UNAVAILABLE,
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


def _error(status_code: int, code: str, detail: str) -> JsonResponse:
    return JsonResponse({"error": code, "detail": detail}, status=status_code)


def _user(request: HttpRequest) -> object:
    """Authenticate as the API does: a ``Token`` header, else the session."""
    try:
        authenticated = TokenAuthentication().authenticate(request)  # type: ignore[arg-type]
    except exceptions.AuthenticationFailed:
        return None
    if authenticated is not None:
        return authenticated[0]
    user = getattr(request, "user", AnonymousUser())
    return user if user.is_authenticated else None


@streaming_view
def run_events(request: HttpRequest, run_id: uuid.UUID) -> SSEResponse | JsonResponse:
    """Stream a run's events as SSE, resuming after ``Last-Event-ID``.

    A plain Django view (DRF views are sync-only): it authenticates here, then
    ``SSEResponse`` streams asynchronously under ASGI and synchronously under WSGI.
    """
    # Authenticate first, as DRF views do: without a token every method is 401.
    user = _user(request)
    if user is None:
        response = _error(401, "not_authenticated", "Authentication credentials were not provided.")
        response["WWW-Authenticate"] = "Token"
        return response
    if request.method != "GET":
        return _error(405, "method_not_allowed", "Use GET.")
    from django.http import Http404

    try:
        selectors.run_get(owner=user, run_id=run_id)  # type: ignore[arg-type]
    except Http404:
        return _error(404, "not_found", "Not found.")
    last = request.headers.get("Last-Event-ID") or request.GET.get("after") or "0"
    try:
        after = int(last)
    except ValueError:
        return _error(400, "bad_request", "Last-Event-ID must be an event sequence number.")
    if after < 0:
        return _error(400, "bad_request", "Last-Event-ID must be an event sequence number.")
    return SSEResponse(request, RunEventSource(run_id=run_id, after=after))
