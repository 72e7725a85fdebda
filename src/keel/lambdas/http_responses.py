"""A handler's result as the HTTP response API Gateway or an ALB would have sent.

- ``apigateway-v1`` and ``alb``: the result must be a dict with ``statusCode``; headers
  from ``headers`` and ``multiValueHeaders`` (both, as API Gateway merges them), body
  ``body``, base64-decoded when ``isBase64Encoded``. Anything else is what API Gateway
  calls a malformed proxy response: 502.
- ``apigateway-v2``: a dict with ``statusCode`` is read the same way, with ``cookies``
  as Set-Cookie headers; any other result is sent as a 200 JSON body (a string as it
  is), the format's documented default.

A failed or timed-out handler is answered as each front end answers it: API Gateway REST
``502 {"message": "Internal server error"}``, HTTP APIs ``500 {"message": "Internal
Server Error"}``, an ALB ``502 Bad Gateway``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Container
from http.cookies import Morsel
from typing import Any

from django.http import HttpResponse

_FAILED = {
    "apigateway-v1": (502, "application/json", b'{"message": "Internal server error"}'),
    "apigateway-v2": (500, "application/json", b'{"message":"Internal Server Error"}'),
    "alb": (502, "text/html", b"<html><body><h1>502 Bad Gateway</h1></body></html>"),
}


class MalformedResponse(ValueError):
    """The handler's result is not a response of its event format."""


def failed_response(event_format: str) -> HttpResponse:
    status, content_type, body = _FAILED[event_format]
    return HttpResponse(body, status=status, content_type=content_type)


def response_of(result: Any, event_format: str) -> HttpResponse:
    """Return the response for ``result``; raise ``MalformedResponse`` saying why not."""
    if event_format == "apigateway-v2" and not (
        isinstance(result, dict) and "statusCode" in result
    ):
        text = result if isinstance(result, str) else json.dumps(result)
        return HttpResponse(text.encode(), status=200, content_type="application/json")
    if not isinstance(result, dict):
        raise MalformedResponse(f"the result is a {type(result).__name__}, not a dict")
    status = result.get("statusCode")
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise MalformedResponse(f"statusCode {status!r} is not an HTTP status")
    body = result.get("body")
    if body is None:
        content = b""
    elif isinstance(body, str):
        content = body.encode()
    else:
        raise MalformedResponse(f"body must be a string, not {type(body).__name__}")
    if result.get("isBase64Encoded"):
        try:
            content = base64.b64decode(content, validate=True)
        except binascii.Error:
            raise MalformedResponse("isBase64Encoded, but the body is not base64") from None
    response = HttpResponse(content, status=status)
    # Django's default is text/html; API Gateway's is application/json, an ALB sets none.
    del response["Content-Type"]
    if event_format != "alb":
        response["Content-Type"] = "application/json"
    if event_format == "alb" and isinstance(result.get("statusDescription"), str):
        reason = result["statusDescription"].partition(" ")[2]
        if reason:
            response.reason_phrase = reason
    for name, values in _headers(result).items():
        if name.lower() == "set-cookie":
            for value in values:
                _add_cookie(response, value)
        else:
            response[name] = ", ".join(values)  # replaces the default Content-Type too
    if event_format == "apigateway-v2":
        cookies = result.get("cookies") or []
        if not isinstance(cookies, list) or not all(isinstance(item, str) for item in cookies):
            raise MalformedResponse("cookies must be a list of strings")
        for cookie in cookies:
            _add_cookie(response, cookie)
    return response


def _headers(result: dict[str, Any]) -> dict[str, list[str]]:
    """Merge ``headers`` and ``multiValueHeaders``: a name in both takes the lists' values."""
    single = result.get("headers") or {}
    multi = result.get("multiValueHeaders") or {}
    if not isinstance(single, dict) or not isinstance(multi, dict):
        raise MalformedResponse("headers and multiValueHeaders must be dicts")
    merged: dict[str, list[str]] = {}
    lowered: dict[str, str] = {}
    for name, value in single.items():
        merged[name] = [_text(value, name)]
        lowered[name.lower()] = name
    for name, values in multi.items():
        if not isinstance(values, list):
            raise MalformedResponse(f"multiValueHeaders[{name!r}] must be a list")
        key: str = lowered.get(str(name).lower(), str(name))
        merged[key] = [_text(value, name) for value in values]
        lowered[name.lower()] = key
    return merged


def _text(value: Any, name: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise MalformedResponse(f"header {name!r} has a {type(value).__name__} value")
    return str(value)


class _RawCookie(Morsel[str]):
    """A Set-Cookie value sent exactly as the function wrote it.

    Django sends one Set-Cookie header per entry of ``response.cookies``, each as its
    ``OutputString()`` (both handlers do); parsing the function's value into a Morsel
    would rewrite it (an ``Expires`` with a comma, attribute order, unknown attributes).
    """

    def __init__(self, raw: str) -> None:
        super().__init__()
        self.raw = raw

    def OutputString(self, attrs: Container[str] | None = None) -> str:
        return self.raw


def _add_cookie(response: HttpResponse, value: str) -> None:
    if "\r" in value or "\n" in value:
        raise MalformedResponse("a Set-Cookie value has a line break")
    dict.__setitem__(response.cookies, f"keel-lambda-{len(response.cookies)}", _RawCookie(value))
