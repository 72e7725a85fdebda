"""Verify a request's AWS Signature Version 4 against the Invoke endpoint's callers.

The signature is recomputed with botocore's own SigV4 signer, the code every boto3
client signs with (``botocore.auth.SigV4Auth``): the canonical request, the string to
sign and the signing key are its, over exactly the headers the caller says it signed,
at the time it says it signed; the two signatures are compared in constant time. What
keel adds is what a server must check and a signer need not: the credential scope
(service ``lambda``, a known access key, the date of ``X-Amz-Date``), the clock skew,
and that a declared payload hash is the body's.

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv4-signed-request.html
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

from botocore.auth import SIGV4_TIMESTAMP, SigV4Auth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import Credentials
from django.http import HttpRequest

SERVICE = "lambda"
_AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+),\s*"
    r"SignedHeaders=(?P<signed>[a-z0-9;\-]+),\s*Signature=(?P<signature>[0-9a-f]{64})$"
)


class SignatureRejected(Exception):
    """Why a request is refused: the error type and message AWS would answer with."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message


@dataclass(frozen=True, slots=True)
class Caller:
    access_key_id: str
    region: str


class _Verifier(SigV4Auth):
    """botocore's signer, made to sign exactly the headers the caller signed."""

    def __init__(self, credentials: Credentials, region: str, signed: list[str]) -> None:
        super().__init__(credentials, SERVICE, region)
        self.signed = signed

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
        headers = HTTPHeaders()
        for name in self.signed:
            for value in request.headers.get_all(name) or []:
                headers[name] = value
        return headers


def verify(
    request: HttpRequest,
    *,
    credentials: dict[str, str],
    max_skew: float,
    now: datetime | None = None,
) -> Caller:
    """Return who signed ``request``; raise ``SignatureRejected`` when nothing should run."""
    authorization = request.META.get("HTTP_AUTHORIZATION", "")
    if not authorization:
        raise SignatureRejected(
            "MissingAuthenticationTokenException", "Missing Authentication Token"
        )
    found = _AUTHORIZATION.match(authorization.strip())
    if found is None:
        raise SignatureRejected(
            "IncompleteSignatureException",
            "Authorization header requires Credential, SignedHeaders and Signature "
            "(AWS4-HMAC-SHA256).",
        )
    parts = found["credential"].split("/")
    if len(parts) != 5 or parts[4] != "aws4_request":
        raise SignatureRejected("IncompleteSignatureException", "Credential is malformed.")
    key_id, date, region, service, _ = parts
    secret = credentials.get(key_id)
    if secret is None:
        raise SignatureRejected(
            "UnrecognizedClientException", "The security token included in the request is invalid."
        )
    if service != SERVICE:
        raise SignatureRejected(
            "InvalidSignatureException",
            f"Credential should be scoped to correct service: '{SERVICE}'.",
        )
    stamp = request.META.get("HTTP_X_AMZ_DATE", "")
    try:
        signed_at = datetime.strptime(stamp, SIGV4_TIMESTAMP).replace(tzinfo=UTC)
    except ValueError:
        raise SignatureRejected(
            "IncompleteSignatureException", "X-Amz-Date is missing or not YYYYMMDDTHHMMSSZ."
        ) from None
    if stamp[:8] != date:
        raise SignatureRejected(
            "InvalidSignatureException", "Credential should be scoped to a valid date."
        )
    now = now or datetime.now(UTC)
    if abs((now - signed_at).total_seconds()) > max_skew:
        raise SignatureRejected(
            "InvalidSignatureException",
            f"Signature expired: {stamp} is now earlier or later than the allowed window "
            f"of {max_skew:.0f} s around {now.strftime(SIGV4_TIMESTAMP)}.",
        )
    signed = found["signed"].split(";")
    if "host" not in signed or "x-amz-date" not in signed:
        raise SignatureRejected(
            "IncompleteSignatureException", "SignedHeaders must include host and x-amz-date."
        )
    body = request.body
    declared_hash = request.META.get("HTTP_X_AMZ_CONTENT_SHA256")
    if declared_hash is not None and declared_hash != hashlib.sha256(body).hexdigest():
        # UNSIGNED-PAYLOAD included: the payload is what runs, it must be signed.
        raise SignatureRejected(
            "InvalidSignatureException", "X-Amz-Content-SHA256 is not the body's SHA-256."
        )
    aws_request = AWSRequest(
        method=request.method,
        url=f"https://{request.META.get('HTTP_HOST', '')}{_raw_path(request)}"
        + (f"?{request.META['QUERY_STRING']}" if request.META.get("QUERY_STRING") else ""),
        headers=_request_headers(request),
        data=body,
    )
    aws_request.context["timestamp"] = stamp
    verifier = _Verifier(Credentials(key_id, secret), region, signed)
    canonical = verifier.canonical_request(aws_request)
    expected = verifier.signature(verifier.string_to_sign(aws_request, canonical), aws_request)
    if not hmac.compare_digest(expected, found["signature"]):
        raise SignatureRejected(
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method. Consult the service "
            "documentation for details.",
        )
    return Caller(access_key_id=key_id, region=region)


def _raw_path(request: HttpRequest) -> str:
    """The path as the client sent it: SigV4 signs the encoded path.

    gunicorn gives it as RAW_URI; otherwise it is re-encoded as botocore encodes a path
    (``percent_encode(..., safe="/~")``), which is what an SDK sent.
    """
    raw = request.META.get("RAW_URI")
    if raw:
        return raw.split("?", 1)[0]
    return quote(request.path, safe="/~")


def _request_headers(request: HttpRequest) -> HTTPHeaders:
    headers = HTTPHeaders()
    for key, value in request.META.items():
        if key.startswith("HTTP_"):
            headers[key[5:].replace("_", "-").lower()] = str(value)
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            headers[key.replace("_", "-").lower()] = str(value)
    return headers
