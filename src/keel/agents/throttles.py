"""Limit how fast one user can create runs: DRF throttling counted in the database.

DRF's stock throttles keep their history in Django's cache, and the default cache is
per process: with two gunicorn workers on each of several ECS tasks a user would get
the configured rate many times over. The runs themselves already record who created
them and when (indexed by owner and creation time), so this throttle counts those
instead: one indexed query per run creation, the same answer in every process and
task, and no cache service to run. Two requests racing at the limit may both pass; the
limit is a guard against abuse, not a quota.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from keel.agents.models import AgentRun

#: The key of ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` holding the creation rate.
RUNS_SCOPE = "runs"
_PERIOD_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400}


def parse_rate(rate: str) -> tuple[int, int]:
    """Read a DRF rate such as ``60/min`` as (requests, period in seconds)."""
    count, period = rate.split("/")
    return int(count), _PERIOD_SECONDS[period[0]]


def run_create_wait(*, owner_id: Any) -> float | None:
    """Seconds until ``owner_id`` may create another run, or None if they may now.

    The runs API's throttle and the console's new-run form both ask this.
    """
    rate = api_settings.DEFAULT_THROTTLE_RATES.get(RUNS_SCOPE)
    if rate is None:
        return None
    limit, period = parse_rate(str(rate))
    now = timezone.now()
    recent = list(
        AgentRun.objects.filter(owner_id=owner_id, created_at__gt=now - timedelta(seconds=period))
        .order_by("-created_at")
        .values_list("created_at", flat=True)[:limit]
    )
    if len(recent) < limit:
        return None
    # The oldest of the last ``limit`` runs leaves the window first.
    return max((recent[-1] + timedelta(seconds=period) - now).total_seconds(), 1.0)


class RunCreateRateThrottle(BaseThrottle):
    """Refuse a POST that would create more than the ``runs`` rate for the user (429)."""

    scope = RUNS_SCOPE

    def __init__(self) -> None:
        self.wait_seconds: float | None = None

    def allow_request(self, request: Request, view: Any) -> bool:
        if request.method != "POST" or not request.user.is_authenticated:
            return True
        self.wait_seconds = run_create_wait(owner_id=request.user.pk)
        return self.wait_seconds is None

    def wait(self) -> float | None:
        return self.wait_seconds
