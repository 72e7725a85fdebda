"""Authorizers: what Django knows of the caller, as ``requestContext.authorizer``.

A trigger's ``authorizer`` is the dotted path of ``authorizer(request, event_format)``,
returning the authorizer object the function reads or raising ``PermissionDenied``
(answered 403). API Gateway put the claims of its authorizers there; in keel, Django
authenticated the request, and this says so in the shape the function was written for.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest


def authenticated_user(request: HttpRequest, event_format: str) -> dict[str, Any]:
    """Require a signed-in Django user (session, or DRF token); return their claims.

    REST APIs (payload 1.0) get a Cognito-style ``{"principalId", "claims"}``, HTTP APIs
    (2.0) a JWT authorizer's ``{"jwt": {"claims", "scopes"}}``.
    """
    user = _user(request)
    if user is None:
        raise PermissionDenied("Sign in to call this function.")
    claims = {
        "sub": str(user.pk),
        "username": user.get_username(),
        "email": getattr(user, "email", "") or "",
        "is_staff": str(bool(getattr(user, "is_staff", False))).lower(),
    }
    if event_format == "apigateway-v2":
        return {"jwt": {"claims": claims, "scopes": None}}
    return {"principalId": user.get_username(), "claims": claims}


def _user(request: HttpRequest) -> Any:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return user
    if request.META.get("HTTP_AUTHORIZATION", "").startswith("Token "):
        from rest_framework.authentication import TokenAuthentication
        from rest_framework.exceptions import AuthenticationFailed
        from rest_framework.request import Request

        try:
            found = TokenAuthentication().authenticate(Request(request))
        except AuthenticationFailed:
            return None
        return found[0] if found else None
    return None
