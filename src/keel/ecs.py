"""Read the ECS task metadata endpoint (v4) at start-up, never waiting long for it.

ECS sets ``ECS_CONTAINER_METADATA_URI_V4`` in every container. The task's private IPs
go into ALLOWED_HOSTS (the project's settings call ``task_allowed_hosts``), the task's CPU
limit sizes gunicorn, and the task id names the worker's DBOS executor. The endpoint is an
optimisation, never a dependency: an unreachable, slow or malformed endpoint is logged
and ignored, and start-up never waits more than ``ECS_METADATA_TIMEOUT``.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import logging
import os
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

from keel.constants import ECS_METADATA_TIMEOUT

logger = logging.getLogger("keel.ecs")

METADATA_VARIABLE = "ECS_CONTAINER_METADATA_URI_V4"
#: The document as ``keel web`` read it before exec'ing gunicorn (JSON, ``null`` when it
#: could not be read): gunicorn's master and every worker it forks, recycled ones too,
#: use it instead of asking the endpoint, and waiting for it, again.
HANDED_DOWN_VARIABLE = "KEEL_ECS_TASK_METADATA"


@functools.cache
def task_metadata(timeout: float = ECS_METADATA_TIMEOUT) -> dict[str, Any] | None:
    """Return the task metadata document, or None when not on ECS or unreadable."""
    base = os.environ.get(METADATA_VARIABLE)
    if not base:
        return None
    handed_down = os.environ.get(HANDED_DOWN_VARIABLE)
    if handed_down is not None:
        try:
            document = json.loads(handed_down)
        except ValueError:
            return None
        return document if isinstance(document, dict) else None
    url = base.rstrip("/") + "/task"
    started = time.monotonic()
    try:
        # The URL comes from ECS itself (a link-local address), never from a request.
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310
            document = json.loads(response.read(1_000_000))
    except (OSError, ValueError, urllib.error.URLError) as error:
        logger.warning(
            "ECS task metadata unavailable, continuing without it",
            extra={
                "url": url,
                "error": str(error),
                "waited_s": round(time.monotonic() - started, 3),
            },
        )
        return None
    if not isinstance(document, dict):
        logger.warning("ECS task metadata is not a JSON object, ignoring it", extra={"url": url})
        return None
    return document


def hand_down_task_metadata() -> None:
    """Read the document once, here, for the processes this one is about to exec."""
    if os.environ.get(METADATA_VARIABLE):
        os.environ[HANDED_DOWN_VARIABLE] = json.dumps(task_metadata())


def task_private_ips(document: dict[str, Any] | None = None) -> list[str]:
    """Return the task's private IPv4 and IPv6 addresses (empty off ECS)."""
    if document is None:
        document = task_metadata()
    if not document:
        return []
    addresses: list[str] = []
    containers = document.get("Containers")
    if not isinstance(containers, list):
        return []
    for container in containers:
        networks = container.get("Networks") if isinstance(container, dict) else None
        if not isinstance(networks, list):
            continue
        for network in networks:
            if not isinstance(network, dict):
                continue
            for key in ("IPv4Addresses", "IPv6Addresses"):
                for value in network.get(key) or []:
                    address = _valid_ip(value)
                    if address and address not in addresses:
                        addresses.append(address)
    return addresses


def task_cpu_limit(document: dict[str, Any] | None = None) -> float | None:
    """Return the task's vCPU limit (``Limits.CPU``), or None when unknown."""
    if document is None:
        document = task_metadata()
    if not document:
        return None
    limits = document.get("Limits")
    cpu = limits.get("CPU") if isinstance(limits, dict) else None
    if isinstance(cpu, int | float) and cpu > 0:
        return float(cpu)
    return None


def task_allowed_hosts(document: dict[str, Any] | None = None) -> list[str]:
    """Return the task's private IPs as ``ALLOWED_HOSTS`` entries (empty off ECS).

    For the project's settings: ``ALLOWED_HOSTS = [*names, *task_allowed_hosts()]``. The
    ALB health check needs none of them (``/healthz`` is answered before host validation),
    but every other in-VPC caller that addresses the task by IP does: ``/readyz`` probes,
    preflight, a sidecar. Django compares IPv6 hosts in their bracketed form.
    """
    return [f"[{ip}]" if ":" in ip else ip for ip in task_private_ips(document)]


def task_id(environ: Mapping[str, str] | None = None) -> str | None:
    """Return what identifies this task's container, from the metadata URI (None off ECS).

    The URI ends in ``<task id>-<container hash>`` (no request needed), unique per task.
    """
    uri = (os.environ if environ is None else environ).get(METADATA_VARIABLE, "")
    last_segment = uri.rstrip("/").rsplit("/", 1)[-1]
    return last_segment or None


def _valid_ip(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        logger.warning(
            "ignoring a malformed IP address in ECS task metadata", extra={"value": value}
        )
        return None
