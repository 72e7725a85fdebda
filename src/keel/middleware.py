"""Request ids, body limits and JSON errors for every request."""

from __future__ import annotations

import contextvars
import logging
import re
import uuid
from collections.abc import Awaitable, Callable

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponseBase, JsonResponse

from keel.errors import (
    DATABASE_UNAVAILABLE,
    TooManyStreams,
    database_unavailable,
    json_error,
    payload_too_large,
    too_many_streams,
)
from keel.logs import request_id_var, trace_id_var

logger = logging.getLogger("keel.errors")

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_Tokens = tuple[contextvars.Token[str | None], contextvars.Token[str | None]]
GetResponse = Callable[[HttpRequest], HttpResponseBase | Awaitable[HttpResponseBase]]


class HybridMiddleware:
    """Base for middleware that runs natively in both modes: no thread hand-off under ASGI."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)  # type: ignore[type-var]


class AnswerFirstMiddleware(HybridMiddleware):
    """Middleware that may answer a request itself before the rest of the stack sees it."""

    def answer(self, request: HttpRequest) -> HttpResponseBase | None:
        """Return a response to send instead of calling the stack, or None to go on."""
        raise NotImplementedError

    def __call__(self, request: HttpRequest) -> HttpResponseBase | Awaitable[HttpResponseBase]:
        if self.is_async:
            return self.__acall__(request)
        return self.answer(request) or self.get_response(request)

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        return self.answer(request) or await self.get_response(request)  # type: ignore[misc]


class RequestIdMiddleware(HybridMiddleware):
    """Give each request an id (the caller's ``X-Request-ID`` if sane), echo it back.

    The id is bound to a context variable for the JSON log formatter and returned in
    the ``X-Request-ID`` response header, where gunicorn's access logger picks it up.
    """

    def __call__(self, request: HttpRequest) -> HttpResponseBase | Awaitable[HttpResponseBase]:
        if self.is_async:
            return self.__acall__(request)
        tokens = self._bind(request)
        try:
            response = self.get_response(request)
        finally:
            self._unbind(tokens)
        response["X-Request-ID"] = request.keel_request_id  # type: ignore[attr-defined,index]
        return response

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        tokens = self._bind(request)
        try:
            response = await self.get_response(request)  # type: ignore[misc]
        finally:
            self._unbind(tokens)
        response["X-Request-ID"] = request.keel_request_id  # type: ignore[attr-defined]
        return response

    @staticmethod
    def _bind(request: HttpRequest) -> _Tokens:
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.keel_request_id = request_id  # type: ignore[attr-defined]
        trace_id = request.META.get("HTTP_X_AMZN_TRACE_ID", "")[:256] or None
        return request_id_var.set(request_id), trace_id_var.set(trace_id)

    @staticmethod
    def _unbind(tokens: _Tokens) -> None:
        request_id_var.reset(tokens[0])
        trace_id_var.reset(tokens[1])


class BodyLimitMiddleware(AnswerFirstMiddleware):
    """Refuse oversized (413) and length-less (411) request bodies before reading them.

    Django's WSGI request reads exactly Content-Length bytes; a chunked body without
    one would reach the view as empty and its data would be silently lost, so it is
    refused with 411 and the client told to send a length. Bodies within a declared
    length are still capped by ``DATA_UPLOAD_MAX_MEMORY_SIZE`` when read.
    """

    def answer(self, request: HttpRequest) -> JsonResponse | None:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        declared = request.META.get("CONTENT_LENGTH")
        if not declared:
            if "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
                return json_error(
                    411, "length_required", "Send the request body with a Content-Length."
                )
            return None
        try:
            length = int(declared)
        except ValueError:
            return json_error(400, "bad_request", "Content-Length is not a number.")
        if limit is not None and length > limit:
            return payload_too_large(limit)
        return None


class JsonErrorMiddleware(HybridMiddleware):
    """Turn any unexpected exception into a JSON 500 with an error id that is also logged.

    A lost or unreachable database is a 503 with ``Retry-After`` instead: the request
    was fine and will succeed once the database is back. A caller over its cap of open
    streams is a 429 with ``Retry-After``.
    """

    def __call__(self, request: HttpRequest) -> HttpResponseBase | Awaitable[HttpResponseBase]:
        if self.is_async:
            return self.__acall__(request)
        return self.get_response(request)

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        return await self.get_response(request)  # type: ignore[misc]

    def process_exception(self, request: HttpRequest, exception: Exception) -> JsonResponse | None:
        if isinstance(exception, RequestDataTooBig):
            return payload_too_large(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        if isinstance(exception, DATABASE_UNAVAILABLE):
            return database_unavailable(request, exception)
        if isinstance(exception, TooManyStreams):
            return too_many_streams(exception)
        if settings.DEBUG:
            return None  # Django's technical 500 page is more useful while developing.
        error_id = uuid.uuid4().hex
        logger.error(
            "unhandled exception",
            exc_info=exception,
            extra={"error_id": error_id, "path": request.path, "method": request.method},
        )
        return json_error(500, "server_error", "Internal server error.", error_id=error_id)
