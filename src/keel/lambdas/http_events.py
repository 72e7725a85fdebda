"""A Django request as the event an HTTP function was written for.

Three formats, each as AWS documents it (and as AWS's sample events in
tests/data/lambda_events show it):

- ``apigateway-v1``: API Gateway REST APIs' proxy integration (payload 1.0).
- ``apigateway-v2``: HTTP APIs and function URLs (payload 2.0): lower-case headers with
  repeated values comma-joined, ``cookies`` apart, ``rawQueryString``.
- ``alb``: an ALB target group; query parameters are passed as received, not decoded,
  and with ``multi_value_headers`` both headers and query are lists.

What API Gateway would know and keel does not (its API id, a resource id) is given
stable made-up values; what the function reads (method, path, headers, query, body,
source IP, request id, stage, path parameters, authorizer claims) is the request's.
"""

from __future__ import annotations

import base64
import time
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from django.http import HttpRequest

from keel.lambdas.conf import lambda_settings
from keel.lambdas.triggers import HttpTrigger
from keel.streaming.limits import client_address

API_ID = "keel"
#: Content types whose bodies API Gateway HTTP APIs and ALBs pass as text; any other
#: body (or one with a Content-Encoding) arrives base64-encoded.
_TEXT_TYPES = ("text/", "application/json", "application/javascript", "application/xml")
_TEXT_SUFFIXES = ("+json", "+xml")


def event_of(
    request: HttpRequest,
    trigger: HttpTrigger,
    *,
    path_parameters: dict[str, str],
    request_id: str,
    authorizer: dict[str, Any] | None,
) -> dict[str, Any]:
    """Build the event ``trigger.format`` describes for ``request``."""
    builders = {"apigateway-v1": _rest, "apigateway-v2": _http_api, "alb": _alb}
    return builders[trigger.format](
        request,
        trigger,
        path_parameters=path_parameters,
        request_id=request_id,
        authorizer=authorizer,
    )


def header_pairs(request: HttpRequest) -> list[tuple[str, str]]:
    """The request's headers as (Title-Case name, value), Content-Type and -Length too."""
    pairs = []
    for key, value in request.META.items():
        if key.startswith("HTTP_"):
            name = key[5:]
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            name = key
        else:
            continue
        pairs.append(("-".join(part.capitalize() for part in name.split("_")), str(value)))
    return pairs


def _body(request: HttpRequest, *, binary: bool) -> tuple[str | None, bool]:
    raw = request.body
    if not raw:
        return None, False
    if not binary:
        try:
            return raw.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(raw).decode("ascii"), True


def _is_text(request: HttpRequest) -> bool:
    if request.META.get("HTTP_CONTENT_ENCODING"):
        return False
    kind = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    return (
        kind.startswith(_TEXT_TYPES)
        or kind.endswith(_TEXT_SUFFIXES)
        or kind
        in (
            "",
            "application/x-www-form-urlencoded",
        )
    )


def _matches(kind: str, pattern: str) -> bool:
    if pattern == "*/*":
        return True
    if pattern.endswith("/*"):
        return kind.startswith(pattern[:-1])
    return kind == pattern


def _times() -> tuple[str, int]:
    now = time.time()
    text = datetime.fromtimestamp(now, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")
    return text, int(now * 1000)


def _rest(
    request: HttpRequest,
    trigger: HttpTrigger,
    *,
    path_parameters: dict[str, str],
    request_id: str,
    authorizer: dict[str, Any] | None,
) -> dict[str, Any]:
    config = lambda_settings()
    headers: dict[str, str] = {}
    multi_headers: dict[str, list[str]] = defaultdict(list)
    for name, value in header_pairs(request):
        headers[name] = value
        multi_headers[name].append(value)
    query = parse_qsl(request.META.get("QUERY_STRING", ""), keep_blank_values=True)
    multi_query: dict[str, list[str]] = defaultdict(list)
    for key, value in query:
        multi_query[key].append(value)
    kind = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    binary = any(_matches(kind, pattern) for pattern in trigger.binary_media_types)
    body, encoded = _body(request, binary=binary)
    request_time, epoch = _times()
    user_agent = request.META.get("HTTP_USER_AGENT")
    context: dict[str, Any] = {
        "accountId": config.account_id,
        "apiId": API_ID,
        "domainName": request.get_host(),
        "domainPrefix": request.get_host().split(".")[0],
        "extendedRequestId": request_id,
        "httpMethod": request.method,
        "identity": {
            "accessKey": None,
            "accountId": None,
            "apiKey": None,
            "apiKeyId": None,
            "caller": None,
            "clientCert": None,
            "cognitoAuthenticationProvider": None,
            "cognitoAuthenticationType": None,
            "cognitoIdentityId": None,
            "cognitoIdentityPoolId": None,
            "principalOrgId": None,
            "sourceIp": client_address(request),
            "user": None,
            "userAgent": user_agent,
            "userArn": None,
        },
        "path": f"/{trigger.stage}{request.path}",
        "protocol": request.META.get("SERVER_PROTOCOL", "HTTP/1.1"),
        "requestId": request_id,
        "requestTime": request_time,
        "requestTimeEpoch": epoch,
        "resourceId": API_ID,
        "resourcePath": trigger.path,
        "stage": trigger.stage,
    }
    if authorizer is not None:
        context["authorizer"] = authorizer
    return {
        "version": "1.0",
        "resource": trigger.path,
        "path": request.path,
        "httpMethod": request.method,
        "headers": headers or None,
        "multiValueHeaders": dict(multi_headers) or None,
        "queryStringParameters": {key: values[-1] for key, values in multi_query.items()} or None,
        "multiValueQueryStringParameters": dict(multi_query) or None,
        "pathParameters": path_parameters or None,
        "stageVariables": None,
        "requestContext": context,
        "body": body,
        "isBase64Encoded": encoded,
    }


def _http_api(
    request: HttpRequest,
    trigger: HttpTrigger,
    *,
    path_parameters: dict[str, str],
    request_id: str,
    authorizer: dict[str, Any] | None,
) -> dict[str, Any]:
    config = lambda_settings()
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in header_pairs(request):
        lower = name.lower()
        if lower == "cookie":
            cookies += [part.strip() for part in value.split(";") if part.strip()]
            continue
        headers[lower] = f"{headers[lower]},{value}" if lower in headers else value
    raw_query = request.META.get("QUERY_STRING", "")
    query: dict[str, str] = {}
    for key, value in parse_qsl(raw_query, keep_blank_values=True):
        query[key] = f"{query[key]},{value}" if key in query else value
    body, encoded = _body(request, binary=not _is_text(request))
    request_time, epoch = _times()
    route_key = (
        "$default"
        if not trigger.methods and trigger.path == "/{proxy+}"
        else f"{trigger.methods[0] if len(trigger.methods) == 1 else 'ANY'} {trigger.path}"
    )
    context: dict[str, Any] = {
        "accountId": config.account_id,
        "apiId": API_ID,
        "domainName": request.get_host(),
        "domainPrefix": request.get_host().split(".")[0],
        "http": {
            "method": request.method,
            "path": request.path,
            "protocol": request.META.get("SERVER_PROTOCOL", "HTTP/1.1"),
            "sourceIp": client_address(request),
            "userAgent": request.META.get("HTTP_USER_AGENT", ""),
        },
        "requestId": request_id,
        "routeKey": route_key,
        "stage": trigger.stage,
        "time": request_time.replace(" +0000", "+0000"),
        "timeEpoch": epoch,
    }
    if authorizer is not None:
        context["authorizer"] = authorizer
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": request.path,
        "rawQueryString": raw_query,
        "headers": headers,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if path_parameters:
        event["pathParameters"] = path_parameters
    event["requestContext"] = context
    if body is not None:
        event["body"] = body
    event["isBase64Encoded"] = encoded
    return event


def _alb(
    request: HttpRequest,
    trigger: HttpTrigger,
    *,
    path_parameters: dict[str, str],
    request_id: str,
    authorizer: dict[str, Any] | None,
) -> dict[str, Any]:
    config = lambda_settings()
    # As received: an ALB does not decode query parameters (its Lambda docs say so).
    raw_pairs = [
        tuple(pair.split("=", 1)) if "=" in pair else (pair, "")
        for pair in request.META.get("QUERY_STRING", "").split("&")
        if pair
    ]
    body, encoded = _body(request, binary=not _is_text(request))
    event: dict[str, Any] = {
        "requestContext": {
            "elb": {
                "targetGroupArn": f"arn:aws:elasticloadbalancing:{config.region}:"
                f"{config.account_id}:targetgroup/keel/{API_ID}"
            }
        },
        "httpMethod": request.method,
        "path": request.path,
    }
    pairs = [(name.lower(), value) for name, value in header_pairs(request)]
    if trigger.multi_value_headers:
        multi_query: dict[str, list[str]] = defaultdict(list)
        for key, value in raw_pairs:
            multi_query[key].append(value)
        multi_headers: dict[str, list[str]] = defaultdict(list)
        for name, value in pairs:
            multi_headers[name].append(value)
        event["multiValueQueryStringParameters"] = dict(multi_query)
        event["multiValueHeaders"] = dict(multi_headers)
    else:
        event["queryStringParameters"] = dict(raw_pairs)
        event["headers"] = dict(pairs)
    event["body"] = body or ""
    event["isBase64Encoded"] = encoded
    return event
