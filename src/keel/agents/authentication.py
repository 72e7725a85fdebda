"""Authenticate a plain Django view the way the runs API authenticates DRF views."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import HttpRequest
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication


def request_user(request: HttpRequest) -> AbstractBaseUser | None:
    """Return the user of a ``Token`` header, else of the session; None if neither.

    An invalid token is None, not the session's user: a caller who sent a token meant it.
    """
    try:
        authenticated = TokenAuthentication().authenticate(request)  # type: ignore[arg-type]
    except exceptions.AuthenticationFailed:
        return None
    if authenticated is not None:
        return authenticated[0]
    user = getattr(request, "user", AnonymousUser())
    return user if isinstance(user, AbstractBaseUser) and user.is_authenticated else None
