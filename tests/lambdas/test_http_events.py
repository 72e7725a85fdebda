"""Conformance with AWS's documented sample events and responses (tests/data/lambda_events).

For each sample request event, the request it describes is made and keel builds the
event: it must have the sample's keys (at every level a function reads) and the
sample's values for everything the request carries. Each sample response becomes the
HTTP response its front end would send, and the response formats round-trip: base64
bodies, multi-value headers and cookies.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from django.http import HttpResponse
from django.test import RequestFactory, override_settings

from keel.lambdas.http_events import event_of
from keel.lambdas.http_responses import MalformedResponse, response_of
from keel.lambdas.triggers import trigger_of

EVENTS = Path(__file__).resolve().parents[1] / "data" / "lambda_events"


def sample(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


def request_for(
    method: str,
    path: str,
    query: str,
    headers: dict[str, str],
    body: bytes,
    source_ip: str = "198.51.100.7",
) -> Any:
    meta = {"REMOTE_ADDR": source_ip}
    for name, value in headers.items():
        key = name.upper().replace("-", "_")
        meta[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{key}"] = value
    content_type = meta.pop("CONTENT_TYPE", "")
    return RequestFactory().generic(
        method,
        f"{path}?{query}" if query else path,
        data=body,
        content_type=content_type,
        **meta,
    )


def lowered(headers: dict[str, Any] | None) -> dict[str, Any]:
    return {name.lower(): value for name, value in (headers or {}).items()}


# -- API Gateway REST (payload 1.0) ---------------------------------------------------


@override_settings(ALLOWED_HOSTS=["*"])
@pytest.mark.parametrize("name", ["apigw-request.json", "apigw-rest-event-java.json"])
def test_rest_events_have_the_samples_shape_and_values(name: str) -> None:
    expected = sample(name)
    query = urlencode(
        [
            (key, value)
            for key, values in (expected.get("multiValueQueryStringParameters") or {}).items()
            for value in values
        ]
    )
    body = (expected.get("body") or "").encode()
    request = request_for(
        expected["httpMethod"],
        expected["path"],
        query,
        {k: v for k, v in (expected.get("headers") or {}).items() if k.lower() != "content-length"},
        body,
        source_ip=expected["requestContext"]["identity"]["sourceIp"],
    )
    trigger = trigger_of(
        {
            "type": "http",
            "path": expected["resource"],
            "format": "apigateway-v1",
            "stage": expected["requestContext"]["stage"],
        }
    )
    built = event_of(
        request,
        trigger,
        path_parameters=expected.get("pathParameters") or {},
        request_id=expected["requestContext"]["requestId"],
        authorizer=expected["requestContext"].get("authorizer"),
    )
    # Some samples leave out isBase64Encoded (false) or the stage variables (null).
    optional = {"isBase64Encoded", "stageVariables", "version"}
    assert set(expected) <= set(built) <= set(expected) | optional
    assert set(expected["requestContext"]) <= set(built["requestContext"])
    assert set(expected["requestContext"]["identity"]) <= set(built["requestContext"]["identity"])
    for key in (
        "resource",
        "path",
        "httpMethod",
        "queryStringParameters",
        "multiValueQueryStringParameters",
        "pathParameters",
        "body",
    ):
        assert built[key] == expected[key], key
    assert built["isBase64Encoded"] == expected.get("isBase64Encoded", False)
    assert lowered(expected["headers"]).items() <= lowered(built["headers"]).items()
    for header, values in lowered(expected["multiValueHeaders"]).items():
        # A header sent twice reaches Django once, comma-joined by the server (WSGI's
        # environ has one value per name): only single values can match exactly.
        # (The Java library's sample lists a header in multiValueHeaders only.)
        if len(values) == 1 and header in lowered(expected["headers"]):
            assert lowered(built["multiValueHeaders"])[header] == values
    context, sent = built["requestContext"], expected["requestContext"]
    for key in ("stage", "requestId", "resourcePath", "httpMethod", "authorizer"):
        assert context.get(key) == sent.get(key), key
    assert context["identity"]["sourceIp"] == sent["identity"]["sourceIp"]
    assert context["identity"]["userAgent"] == expected["headers"].get("User-Agent")


def test_rest_binary_media_types_arrive_base64_encoded() -> None:
    trigger = trigger_of({"type": "http", "path": "/upload", "binary_media_types": ["image/*"]})
    png = b"\x89PNG\r\n\x1a\n\x00\xff"
    request = request_for("POST", "/upload", "", {"Content-Type": "image/png"}, png)
    built = event_of(request, trigger, path_parameters={}, request_id="r", authorizer=None)
    assert built["isBase64Encoded"] is True
    assert base64.b64decode(built["body"]) == png
    empty = event_of(
        request_for("GET", "/upload", "", {}, b""),
        trigger,
        path_parameters={},
        request_id="r",
        authorizer=None,
    )
    # As API Gateway sends them: no body, no query, no path parameters are nulls.
    assert (empty["body"], empty["queryStringParameters"], empty["pathParameters"]) == (
        None,
        None,
        None,
    )


# -- HTTP APIs and function URLs (payload 2.0) ----------------------------------------


@override_settings(ALLOWED_HOSTS=["*"])
@pytest.mark.parametrize(
    "name",
    [
        "apigw-v2-request-no-authorizer.json",
        "apigw-v2-request-jwt-authorizer.json",
        "apigw-v2-request-iam.json",
        "lambda-urls-request.json",
    ],
)
def test_http_api_events_have_the_samples_shape_and_values(name: str) -> None:
    expected = sample(name)
    http = expected["requestContext"]["http"]
    headers = dict(expected["headers"])
    if expected.get("cookies"):
        headers["Cookie"] = "; ".join(expected["cookies"])
    headers.setdefault("User-Agent", http["userAgent"])
    body = expected.get("body", "").encode()
    request = request_for(
        http["method"], expected["rawPath"], expected["rawQueryString"], headers, body
    )
    route = expected.get("routeKey", "$default")
    trigger = trigger_of(
        {"type": "http", "path": "/{proxy+}", "format": "apigateway-v2"}
        if route == "$default"
        else {
            "type": "http",
            "path": route.split(" ", 1)[1],
            "methods": [route.split(" ", 1)[0]],
            "format": "apigateway-v2",
        }
    )
    built = event_of(
        request,
        trigger,
        path_parameters=expected.get("pathParameters") or {},
        request_id=expected["requestContext"]["requestId"],
        authorizer=expected["requestContext"].get("authorizer"),
    )
    # Stage variables exist only on a deployed API; mutual TLS is the load balancer's.
    assert set(expected) - {"stageVariables"} <= set(built)
    assert set(built) <= set(expected) | {"routeKey", "pathParameters"}
    assert set(expected["requestContext"]) - {"authentication"} <= set(built["requestContext"])
    assert set(built["requestContext"]["http"]) == set(http)
    for key in ("rawPath", "rawQueryString", "cookies", "queryStringParameters", "isBase64Encoded"):
        assert built.get(key) == expected.get(key), key
    assert built.get("body") == expected.get("body")
    assert lowered(expected["headers"]).items() <= built["headers"].items()
    assert all(name == name.lower() for name in built["headers"])
    assert built["routeKey"] == route
    assert built["requestContext"]["http"]["method"] == http["method"]
    assert built["requestContext"]["http"]["path"] == http["path"]
    assert built["requestContext"].get("authorizer") == expected["requestContext"].get("authorizer")


def test_http_api_repeated_query_parameters_are_comma_joined_and_binary_is_base64() -> None:
    trigger = trigger_of({"type": "http", "path": "/files", "format": "apigateway-v2"})
    request = request_for(
        "POST", "/files", "tag=a&tag=b&x=", {"Content-Type": "application/pdf"}, b"%PDF-\xe2"
    )
    built = event_of(request, trigger, path_parameters={}, request_id="r", authorizer=None)
    assert built["queryStringParameters"] == {"tag": "a,b", "x": ""}
    assert built["rawQueryString"] == "tag=a&tag=b&x="
    assert built["isBase64Encoded"] is True
    assert base64.b64decode(built["body"]) == b"%PDF-\xe2"
    assert built["routeKey"] == "ANY /files"


# -- ALB target groups ----------------------------------------------------------------


@override_settings(ALLOWED_HOSTS=["*"])
@pytest.mark.parametrize(
    ("name", "multi_value"),
    [
        ("alb-lambda-target-request-headers-only.json", False),
        ("alb-event-java.json", False),
        ("alb-lambda-target-request-multivalue-headers.json", True),
    ],
)
def test_alb_events_have_the_samples_shape_and_values(name: str, multi_value: bool) -> None:
    expected = sample(name)
    if multi_value:
        headers = {key: values[-1] for key, values in expected["multiValueHeaders"].items()}
        query = "&".join(
            f"{key}={value}"
            for key, values in expected["multiValueQueryStringParameters"].items()
            for value in values
        )
    else:
        headers = dict(expected["headers"])
        query = "&".join(
            f"{key}={value}" for key, value in expected["queryStringParameters"].items()
        )
    request = request_for(
        expected["httpMethod"], expected["path"], query, headers, expected["body"].encode()
    )
    trigger = trigger_of(
        {"type": "http", "path": "/{proxy+}", "format": "alb", "multi_value_headers": multi_value}
    )
    built = event_of(request, trigger, path_parameters={}, request_id="r", authorizer=None)
    assert set(built) == set(expected)
    assert set(built["requestContext"]["elb"]) == {"targetGroupArn"}
    for key in ("httpMethod", "path", "body", "isBase64Encoded"):
        assert built[key] == expected[key], key
    if multi_value:
        assert (
            built["multiValueQueryStringParameters"] == expected["multiValueQueryStringParameters"]
        )
        assert expected["multiValueHeaders"].items() <= built["multiValueHeaders"].items()
    else:
        assert built["queryStringParameters"] == expected["queryStringParameters"]
        assert expected["headers"].items() <= built["headers"].items()


def test_alb_passes_query_parameters_as_received_not_decoded() -> None:
    trigger = trigger_of({"type": "http", "path": "/search", "format": "alb"})
    request = request_for("GET", "/search", "q=caf%C3%A9+au+lait&page=2", {}, b"")
    built = event_of(request, trigger, path_parameters={}, request_id="r", authorizer=None)
    assert built["queryStringParameters"] == {"q": "caf%C3%A9+au+lait", "page": "2"}
    assert (built["body"], built["isBase64Encoded"]) == ("", False)


# -- responses ------------------------------------------------------------------------


def sent_cookies(response: HttpResponse) -> list[str]:
    return [morsel.OutputString() for morsel in response.cookies.values()]


def test_the_rest_sample_response_becomes_its_http_response() -> None:
    expected = sample("apigw-response.json")
    response = response_of(expected, "apigateway-v1")
    assert response.status_code == 200
    assert response.content == b"Hello World"
    for name, values in expected["multiValueHeaders"].items():
        assert response[name] == ", ".join(values)
    # The sample sets no Content-Type: API Gateway REST sends its default.
    assert response["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    ("event_format", "expected"),
    [("apigateway-v1", "application/json"), ("apigateway-v2", "application/json"), ("alb", None)],
)
def test_a_result_without_content_type_gets_its_front_ends_default(
    event_format: str, expected: str | None
) -> None:
    """What each front end sends when the function sets no Content-Type.

    No AWS page states it for a result with a ``statusCode``; keel follows AWS's own
    emulator, SAM CLI's ``sam local start-api`` (samcli/local/apigw/local_apigw_service.py,
    both payload parsers: "If the customer doesn't define Content-Type default to
    application/json"), and what deployed APIs are reported to send:

    - REST (payload 1.0): ``application/json`` (aws/aws-sam-cli#1218 and
      aws/aws-lambda-dotnet#283 report it of deployed REST APIs).
    - HTTP API and function URLs (payload 2.0): ``application/json``; AWS documents it
      only for a result without ``statusCode`` (docs.aws.amazon.com/apigateway/latest/
      developerguide/http-api-develop-integrations-lambda.html), tested in
      ``test_http_api_defaults_for_a_result_without_status_code``.
    - ALB: none. The ELB guide ("Respond to the load balancer", docs.aws.amazon.com/
      elasticloadbalancing/latest/application/lambda-functions.html) documents no default
      and says the function's response must include its headers; keel adds none, so
      Django's ``text/html`` must not leak in either.

    docs/lambdas.md says where deployed front ends are reported to differ.
    """
    response = response_of({"statusCode": 200, "body": "Hello"}, event_format)
    assert response.get("Content-Type") == expected
    empty = response_of({"statusCode": 204}, event_format)
    assert empty.get("Content-Type") == expected


def test_the_alb_sample_response_merges_headers_and_sends_each_cookie() -> None:
    expected = sample("alb-lambda-target-response.json")
    response = response_of(expected, "alb")
    assert (response.status_code, response.reason_phrase) == (200, "OK")
    assert response["Content-Type"] == "application/json"
    # multiValueHeaders wins over headers for the same name, as the ALB merges them.
    assert sent_cookies(response) == expected["multiValueHeaders"]["Set-cookie"]
    assert response.content == b"Hello from Lambda"


def test_the_function_url_sample_response_sends_its_cookies() -> None:
    expected = sample("lambda-urls-response.json")
    response = response_of(expected, "apigateway-v2")
    assert response.status_code == 201
    assert response["My-Custom-Header"] == "Custom Value"
    assert sent_cookies(response) == expected["cookies"]
    assert json.loads(response.content) == {"message": "Hello, world!"}


def back_to_dict(response: HttpResponse, event_format: str) -> dict[str, Any]:
    """What a client received, written back as the result that produced it."""
    headers: dict[str, list[str]] = {}
    for name, value in response.items():
        headers.setdefault(name, []).append(value)
    cookies = sent_cookies(response)
    result: dict[str, Any] = {
        "statusCode": response.status_code,
        "isBase64Encoded": True,
        "body": base64.b64encode(response.content).decode(),
    }
    if event_format == "apigateway-v2":
        result["headers"] = {name: ",".join(values) for name, values in headers.items()}
        result["cookies"] = cookies
    else:
        result["multiValueHeaders"] = {**headers, **({"Set-Cookie": cookies} if cookies else {})}
    return result


@pytest.mark.parametrize("event_format", ["apigateway-v1", "apigateway-v2", "alb"])
def test_response_formats_round_trip(event_format: str) -> None:
    binary = bytes(range(256))
    if event_format == "apigateway-v2":
        result: dict[str, Any] = {
            "statusCode": 207,
            "headers": {"Content-Type": "application/octet-stream", "X-Trace": "a,b"},
            "cookies": ["a=1; Path=/", "b=2; Expires=Wed, 21 Oct 2026 07:28:00 GMT; Secure"],
            "isBase64Encoded": True,
            "body": base64.b64encode(binary).decode(),
        }
    else:
        result = {
            "statusCode": 207,
            "multiValueHeaders": {
                "Content-Type": ["application/octet-stream"],
                "X-Trace": ["a", "b"],
                "Set-Cookie": ["a=1; Path=/", "b=2; Expires=Wed, 21 Oct 2026 07:28:00 GMT; Secure"],
            },
            "isBase64Encoded": True,
            "body": base64.b64encode(binary).decode(),
        }
    response = response_of(result, event_format)
    assert response.content == binary
    again = back_to_dict(response, event_format)
    assert again["statusCode"] == 207
    assert base64.b64decode(again["body"]) == binary
    if event_format == "apigateway-v2":
        assert again["cookies"] == result["cookies"]
        assert again["headers"]["X-Trace"] == "a,b"
    else:
        assert again["multiValueHeaders"]["Set-Cookie"] == result["multiValueHeaders"]["Set-Cookie"]
        assert again["multiValueHeaders"]["X-Trace"] == ["a, b"]
    assert response_of(again, event_format).content == binary


def test_http_api_defaults_for_a_result_without_status_code() -> None:
    bare = response_of({"id": "o-1"}, "apigateway-v2")
    assert (bare.status_code, bare["Content-Type"], bare.content) == (
        200,
        "application/json",
        b'{"id": "o-1"}',
    )
    text = response_of("Hello from Lambda!", "apigateway-v2")
    assert (text.status_code, text.content) == (200, b"Hello from Lambda!")


@pytest.mark.parametrize(
    "result",
    [
        {"body": "no status"},
        {"statusCode": 700},
        {"statusCode": 200, "body": {"not": "a string"}},
        {"statusCode": 200, "isBase64Encoded": True, "body": "not base64!"},
        {"statusCode": 200, "headers": {"X": ["list"]}},
        "a string",
    ],
)
@pytest.mark.parametrize("event_format", ["apigateway-v1", "alb"])
def test_malformed_responses_are_refused(result: Any, event_format: str) -> None:
    with pytest.raises(MalformedResponse):
        response_of(result, event_format)
