"""System checks that keep event streams from being buffered by configuration."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, register

DJANGO_GZIP = "django.middleware.gzip.GZipMiddleware"
KEEL_GZIP = "keel.streaming.middleware.GZipMiddleware"


@register()
def check_gzip_middleware(**kwargs: Any) -> list[Error]:
    if DJANGO_GZIP not in settings.MIDDLEWARE:
        return []
    return [
        Error(
            f"{DJANGO_GZIP} buffers Server-Sent Events until the stream ends.",
            hint=f"Use {KEEL_GZIP}, which compresses everything else.",
            id="keel.E002",
        )
    ]
