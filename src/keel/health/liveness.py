"""The liveness answer, in one place, for Django's middleware and keel's ASGI router."""

from __future__ import annotations

from dataclasses import dataclass

from keel.constants import HEALTH_PATH

ALLOWED_METHODS = ("GET", "HEAD")


@dataclass(frozen=True, slots=True)
class Liveness:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


def liveness(method: str, path: str) -> Liveness | None:
    """Return the answer to a liveness probe, or None when ``path`` is not the health path."""
    if path != HEALTH_PATH:
        return None
    if method not in ALLOWED_METHODS:
        return Liveness(
            405,
            (("Content-Type", "text/plain"), ("Allow", ", ".join(ALLOWED_METHODS))),
            b"",
        )
    return Liveness(
        200,
        (("Content-Type", "text/plain"), ("Cache-Control", "no-store")),
        b"ok\n" if method == "GET" else b"",
    )
