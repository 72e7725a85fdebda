"""The console's Content-Security-Policy, set by its views on Django 5.2 and 6.x alike.

Django 6 has ``ContentSecurityPolicyMiddleware`` and ``SECURE_CSP``; Django 5.2 LTS has
neither, and a project adopting keel may configure its own policy (or none). Each console
response carries this policy itself: Django 6's middleware leaves a header the view set
alone, so the console is as strict whatever the project's policy is.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponseBase

#: Scripts, styles and the event stream from this origin only: no inline script or style,
#: no eval, no framing, forms posted only here.
POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
)
HEADER = "Content-Security-Policy"

View = Callable[..., HttpResponseBase]


def console_policy(view: View) -> View:
    """Send the console's policy with every response of ``view``."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        response[HEADER] = POLICY
        return response

    return wrapper
