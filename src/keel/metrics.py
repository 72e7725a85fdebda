"""Metrics as CloudWatch embedded-metric-format (EMF) log lines: no API call, no agent.

A role writes a JSON line like any other log line; CloudWatch Logs, which receives the
container's output on ECS, extracts the metrics from it
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html).
So publishing costs one log line and never waits on the network, and a process that
cannot reach AWS loses nothing but the line. Names and dimensions are in
keel.constants, which the Pulumi program's dashboard and alarms read too.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from keel import constants
from keel.conf import Setting

logger = logging.getLogger("keel.metrics")

#: Which service's metrics these are: the Pulumi program sets ``<app>-<stack>-<role>``;
#: elsewhere the role's name (set by the ``keel`` command) or "keel".
SERVICE_VARIABLE = "KEEL_METRICS_SERVICE"
ROLE_VARIABLE = "KEEL_ROLE"


#: Seconds between a role's publications of its gauges (queued work, open streams).
INTERVAL_SETTING = Setting("METRICS_INTERVAL", "number", 60.0, minimum=0.1)


def service() -> str:
    return os.environ.get(SERVICE_VARIABLE) or os.environ.get(ROLE_VARIABLE) or "keel"


def emit(
    values: Mapping[str, float],
    *,
    unit: str = "Count",
    dimensions: Mapping[str, str] | None = None,
) -> None:
    """Publish ``values`` (metric name: number) with ``unit``, for this service."""
    labels = {constants.METRIC_SERVICE_DIMENSION: service(), **(dimensions or {})}
    document = {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": constants.METRICS_NAMESPACE,
                    "Dimensions": [list(labels)],
                    "Metrics": [{"Name": name, "Unit": unit} for name in values],
                }
            ],
        },
        **labels,
        **{name: float(value) for name, value in values.items()},
    }
    logger.info("metrics", extra=document)


def emit_duration(name: str, seconds: float, **dimensions: str) -> None:
    emit({name: round(seconds * 1000, 3)}, unit="Milliseconds", dimensions=dimensions)


@contextmanager
def timed(name: str, **dimensions: str) -> Iterator[None]:
    """Publish how long the block took (also when it raised)."""
    started = time.perf_counter()
    try:
        yield
    finally:
        emit_duration(name, time.perf_counter() - started, **dimensions)
