"""``POST /2015-03-31/functions/{name}/invocations``: Lambda's Invoke API, for callers that
change only their endpoint URL (boto3's ``lambda`` client with ``endpoint_url``).

A thin view: verify the caller's SigV4 signature (keel.lambdas.sigv4) before anything
else, read the request as Lambda reads it, then run the function (``RequestResponse``),
enqueue it durably (``Event``, 202) or only check it could run (``DryRun``, 204). Every
error is answered as Lambda answers it, so botocore raises the same exceptions: an
``x-amzn-ErrorType`` header and a ``message``. A handler's own error is a 200 with
``X-Amz-Function-Error: Unhandled`` and Lambda's error body.
https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from keel.lambdas import invocation, registry, services, sigv4
from keel.lambdas.conf import LambdaSettings, invoke_credentials, lambda_settings
from keel.lambdas.context import VERSION, ClientContext, function_arn, new_request_id
from keel.lambdas.registry import Function

logger = logging.getLogger("keel.lambdas")

INVOCATION_TYPES = ("RequestResponse", "Event", "DryRun")
#: Lambda's payload limits: 6 MB each way for a synchronous call, 1 MB for an event.
SYNC_PAYLOAD_LIMIT = 6 * 1024 * 1024
ASYNC_PAYLOAD_LIMIT = 1024 * 1024
#: The log tail a caller gets with ``X-Amz-Log-Type: Tail`` (Lambda's last 4 KB).
LOG_TAIL_BYTES = 4096


def lambda_error(status: int, error_type: str, message: str, request_id: str) -> HttpResponse:
    """An error as the Lambda service returns one (botocore reads the header and message)."""
    response = HttpResponse(
        json.dumps({"Type": "User", "message": message}),
        status=status,
        content_type="application/json",
    )
    response["x-amzn-ErrorType"] = error_type
    response["x-amzn-RequestId"] = request_id
    return response


@csrf_exempt
def invoke(request: HttpRequest, function_name: str) -> HttpResponse:
    request_id = new_request_id()
    if request.method != "POST":
        response = lambda_error(405, "MethodNotAllowed", "Invoke is POST.", request_id)
        response["Allow"] = "POST"
        return response
    config = lambda_settings()
    try:
        caller = sigv4.verify(
            request, credentials=invoke_credentials(), max_skew=config.signature_max_skew
        )
    except sigv4.SignatureRejected as rejected:
        logger.warning(
            "Invoke refused: %s",
            rejected.error_type,
            extra={"function": function_name, "error_type": rejected.error_type},
        )
        return lambda_error(403, rejected.error_type, rejected.message, request_id)
    try:
        call = _call_of(request, function_name, config)
    except Refused as refused:
        return lambda_error(refused.status, refused.error_type, refused.message, request_id)
    logger.info(
        "Invoke %s (%s) by %s",
        call.function.name,
        call.invocation_type,
        caller.access_key_id,
        extra={"function": call.function.name, "request_id": request_id},
    )
    if call.invocation_type == "DryRun":
        return _answered(HttpResponse(status=204), request_id)
    if call.invocation_type == "Event":
        with transaction.atomic():
            services.invocation_enqueue(
                function=call.function, event=call.event, request_id=request_id
            )
        return _answered(HttpResponse(status=202), request_id)
    outcome = invocation.invoke(
        call.function,
        call.event,
        request_id=request_id,
        client_context=call.client_context,
        qualifier=call.qualifier,
        capture_log=call.tail,
    )
    return _sync_response(outcome, request_id=request_id, tail=call.tail)


class Refused(Exception):
    """A call Lambda would refuse: its status, error type and message."""

    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error_type, self.message = status, error_type, message


@dataclass(frozen=True, kw_only=True, slots=True)
class Call:
    function: Function
    qualifier: str | None
    invocation_type: str
    tail: bool
    event: Any
    client_context: ClientContext | None


def _call_of(request: HttpRequest, function_name: str, config: LambdaSettings) -> Call:
    """Read a signed Invoke request as Lambda reads it; raise ``Refused`` saying why not."""
    name, qualifier = _name_and_qualifier(function_name, request.GET.get("Qualifier"))
    function = registry.get(name)
    if function is None or qualifier not in (None, VERSION):
        arn = function_arn(
            region=config.region, account_id=config.account_id, name=name, qualifier=qualifier
        )
        raise Refused(
            404,
            "ResourceNotFoundException",
            f"Function not found: {arn}"
            if function is None
            else f"Function not found: {arn} (keel runs $LATEST only: no versions or aliases)",
        )
    invocation_type = request.META.get("HTTP_X_AMZ_INVOCATION_TYPE", "RequestResponse")
    if invocation_type not in INVOCATION_TYPES:
        raise Refused(
            400,
            "InvalidParameterValueException",
            f"X-Amz-Invocation-Type must be one of {', '.join(INVOCATION_TYPES)}.",
        )
    log_type = request.META.get("HTTP_X_AMZ_LOG_TYPE", "None")
    if log_type not in ("None", "Tail"):
        raise Refused(400, "InvalidParameterValueException", "X-Amz-Log-Type must be None or Tail.")
    limit = ASYNC_PAYLOAD_LIMIT if invocation_type == "Event" else SYNC_PAYLOAD_LIMIT
    if len(request.body) > limit:
        raise Refused(
            413,
            "RequestEntityTooLargeException",
            f"Request must be smaller than {limit} bytes for the {invocation_type} invocation type",
        )
    try:
        event = json.loads(request.body) if request.body.strip() else {}
    except (ValueError, UnicodeDecodeError) as error:
        raise Refused(
            400,
            "InvalidRequestContentException",
            f"Could not parse request body into json: {error}",
        ) from None
    try:
        client_context = _client_context(request)
    except ValueError as error:
        raise Refused(400, "InvalidRequestContentException", str(error)) from None
    return Call(
        function=function,
        qualifier=qualifier,
        invocation_type=invocation_type,
        # Lambda returns a log only to a synchronous call that asks for it.
        tail=log_type == "Tail" and invocation_type == "RequestResponse",
        event=event,
        client_context=client_context,
    )


def _sync_response(outcome: invocation.Outcome, *, request_id: str, tail: bool) -> HttpResponse:
    error = outcome.error
    payload = b""
    if error is None:
        try:
            payload = json.dumps(outcome.result).encode()
        except (TypeError, ValueError) as problem:
            error = {
                "errorMessage": f"Unable to marshal response: {problem}",
                "errorType": "Runtime.MarshalError",
                "requestId": request_id,
                "stackTrace": [],
            }
    if error is None and len(payload) > SYNC_PAYLOAD_LIMIT:
        error = {
            "errorMessage": f"Response payload size ({len(payload)} bytes) exceeded maximum "
            f"allowed payload size ({SYNC_PAYLOAD_LIMIT} bytes).",
            "errorType": "Function.ResponseSizeTooLarge",
        }
    response = HttpResponse(
        json.dumps(error).encode() if error is not None else payload,
        status=200,
        content_type="application/json",
    )
    if error is not None:
        response["X-Amz-Function-Error"] = "Unhandled"
    if tail:
        log = outcome.log.encode()[-LOG_TAIL_BYTES:]
        response["X-Amz-Log-Result"] = base64.b64encode(log).decode()
    return _answered(response, request_id)


def _answered(response: HttpResponse, request_id: str) -> HttpResponse:
    response["X-Amz-Executed-Version"] = VERSION
    response["x-amzn-RequestId"] = request_id
    return response


def _name_and_qualifier(name: str, qualifier: str | None) -> tuple[str, str | None]:
    """Accept a name, a full ARN or a partial one (``123456789012:function:name``)."""
    parts = name.split(":")
    if len(parts) >= 7 and parts[0] == "arn":
        name, from_arn = parts[6], parts[7] if len(parts) > 7 else None
        return name, qualifier or from_arn
    if len(parts) >= 3 and parts[1] == "function":
        return parts[2], qualifier or (parts[3] if len(parts) > 3 else None)
    if len(parts) == 2:
        return parts[0], qualifier or parts[1]
    return name, qualifier


def _client_context(request: HttpRequest) -> ClientContext | None:
    encoded = request.META.get("HTTP_X_AMZ_CLIENT_CONTEXT")
    if not encoded:
        return None
    try:
        value: Any = json.loads(base64.b64decode(encoded, validate=True))
    except (binascii.Error, ValueError):
        raise ValueError("X-Amz-Client-Context must be base64-encoded JSON.") from None
    return ClientContext.of(value)
