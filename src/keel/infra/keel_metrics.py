"""keel's own metrics as CloudWatch stores them: namespace, name, dimensions, statistic.

The roles publish them as embedded-metric-format log lines (keel.metrics) with the
names and dimensions in keel.constants; the dashboard and the alarms read them only
through ``KeelMetric``, which refuses a name, a dimension or a value keel never writes.
CloudWatch matches a metric on its exact set of dimensions, so a query naming one
dimension too few or too many finds nothing and its alarm never fires.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi_aws as aws

from keel import constants

#: Published by every worker with the same database-wide value: read with Maximum.
GAUGES = (
    constants.QUEUED_RUNS,
    constants.RUNNING_RUNS,
    constants.QUEUED_TASKS,
    constants.RUNNING_TASKS,
    constants.QUEUED_WORK,
)
#: Published as they happen (or, for OpenStreams, per web worker process): read with Sum.
COUNTERS = (
    constants.RUNS_FINISHED,
    constants.TASKS_FINISHED,
    constants.RECOVERED_WORKFLOWS,
    constants.DATABASE_ERRORS,
    constants.OPEN_STREAMS,
)
#: Milliseconds, one value per run or step: read as percentiles.
TIMINGS = (constants.RUN_DURATION, constants.STEP_DURATION)
#: The dimension each metric carries besides Service, and the values it takes.
SECOND_DIMENSION: Mapping[str, tuple[str, tuple[str, ...]]] = {
    constants.RUNS_FINISHED: (constants.METRIC_OUTCOME_DIMENSION, constants.RUN_OUTCOMES),
    constants.RUN_DURATION: (constants.METRIC_OUTCOME_DIMENSION, constants.RUN_OUTCOMES),
    constants.TASKS_FINISHED: (constants.METRIC_OUTCOME_DIMENSION, constants.TASK_OUTCOMES),
    constants.STEP_DURATION: (constants.METRIC_KIND_DIMENSION, constants.STEP_KINDS),
}
PERCENTILES = ("p50", "p95", "p99")


def metrics_service(prefix: str, role: str, suffix: str = "") -> str:
    """Return the ``Service`` dimension of a role's metrics: its ECS service's name."""
    return f"{prefix}-{role}{suffix}"


def default_statistic(name: str) -> str:
    if name in GAUGES:
        return "Maximum"
    if name in COUNTERS:
        return "Sum"
    return "p95"


@dataclass(frozen=True, kw_only=True)
class KeelMetric:
    """One keel metric of one service, with the statistic it is read with."""

    name: str
    #: ``<app>-<stack>-<role>``, as the task definition sets KEEL_METRICS_SERVICE.
    service: str
    #: The second dimension, where the metric has one (``{"Outcome": "failed"}``).
    dimensions: Mapping[str, str] = field(default_factory=dict)
    stat: str = ""

    def __post_init__(self) -> None:
        if self.name not in (*GAUGES, *COUNTERS, *TIMINGS):
            raise ValueError(f"keel metrics: keel publishes no metric named {self.name!r}")
        expected = SECOND_DIMENSION.get(self.name)
        if expected is None:
            if self.dimensions:
                raise ValueError(f"keel metrics: {self.name} carries only Service")
        else:
            key, values = expected
            if set(self.dimensions) != {key} or self.dimensions[key] not in values:
                raise ValueError(
                    f"keel metrics: {self.name} carries Service and {key} (one of {values}), "
                    f"not {dict(self.dimensions)}"
                )
        if not self.stat:
            object.__setattr__(self, "stat", default_statistic(self.name))
        if self.name in GAUGES and self.stat != "Maximum":
            raise ValueError(
                f"keel metrics: {self.name} is a gauge every worker publishes; read Maximum"
            )
        if self.name in COUNTERS and self.stat != "Sum":
            raise ValueError(f"keel metrics: {self.name} counts events; read Sum")

    @property
    def all_dimensions(self) -> dict[str, str]:
        return {constants.METRIC_SERVICE_DIMENSION: self.service, **self.dimensions}

    def alarm_query(
        self, query_id: str, period: int, *, return_data: bool = False
    ) -> aws.cloudwatch.MetricAlarmMetricQueryArgsDict:
        """Return this metric as one query of an alarm (the one it watches if ``return_data``)."""
        return {
            "id": query_id,
            "return_data": return_data,
            "metric": {
                "namespace": constants.METRICS_NAMESPACE,
                "metric_name": self.name,
                "period": period,
                "stat": self.stat,
                "dimensions": self.all_dimensions,
            },
        }

    def widget(self, label: str, **options: Any) -> list[Any]:
        """Return this metric as a line of a dashboard graph widget (``options``: its
        rendering, such as the ``id`` a metric-math expression names it by)."""
        pairs = [part for item in self.all_dimensions.items() for part in item]
        return [
            constants.METRICS_NAMESPACE,
            self.name,
            *pairs,
            {"stat": self.stat, "label": label, **options},
        ]
