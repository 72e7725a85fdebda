"""The alarms on keel's own metrics: backlog, failure rate, recoveries, database errors.

Each reads the metrics the roles publish as embedded-metric-format log lines. CloudWatch
Logs turns a line into a datapoint as it arrives, so an alarm evaluates datapoints a few
seconds late at most; the gauges arrive once a minute from each worker. AWS's guidance
for EMF metrics whose flush the publisher does not control is an "M out of N" alarm
(CloudWatch_Embedded_Metric_Format_Alarms); here each alarm looks at periods no shorter
than the gauges' interval and, where one late line could tip it, at several of them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from keel import constants
from keel.infra.alerting import Alerting
from keel.infra.keel_metrics import KeelMetric
from keel.infra.operations_config import AlarmsConfig

#: Seconds per datapoint: the gauges' interval (keel.metrics' METRICS_INTERVAL default).
MINUTE = 60
#: The failure rate is taken over 5 minutes, so one failed run of a few is not a rate.
FAILURE_PERIOD = 300
#: Recoveries are summed over 15 minutes: a rolling deploy's handful stays under the
#: threshold, a worker that dies again and again does not.
RECOVERY_PERIOD = 900


@dataclass(frozen=True, kw_only=True)
class OperationsAlarmsArgs:
    prefix: str
    config: AlarmsConfig
    alerting: Alerting
    #: The worker service's metrics ``Service``: it publishes the gauges, finishes runs
    #: and tasks, and recovers workflows.
    worker_service: str
    #: Every service whose database connection errors count (web, worker, cutover).
    database_services: Sequence[str]
    tags: Mapping[str, str]


class OperationsAlarms(pulumi.ComponentResource):
    """Four alarms, each notifying the alarm topic and linking its runbook entry."""

    backlog: aws.cloudwatch.MetricAlarm
    failure_rate: aws.cloudwatch.MetricAlarm
    recoveries: aws.cloudwatch.MetricAlarm
    database_errors: aws.cloudwatch.MetricAlarm
    alarm_names: pulumi.Output[list[str]]

    def __init__(
        self, name: str, args: OperationsAlarmsArgs, opts: pulumi.ResourceOptions | None = None
    ):
        args.config.check()
        if not args.database_services or args.worker_service not in args.database_services:
            raise ValueError("operations alarms: the worker must be among the database services")
        super().__init__("keel:aws:OperationsAlarms", name, None, opts)
        self._args = args
        self.backlog = self._backlog()
        self.failure_rate = self._failure_rate()
        self.recoveries = self._recoveries()
        self.database_errors = self._database_errors()
        self.alarm_names = pulumi.Output.all(
            self.backlog.name,
            self.failure_rate.name,
            self.recoveries.name,
            self.database_errors.name,
        ).apply(list)
        self.register_outputs({"alarm_names": self.alarm_names})

    def _alarm(
        self, resource_name: str, entry: str, summary: str, **settings: Any
    ) -> aws.cloudwatch.MetricAlarm:
        args = self._args
        return aws.cloudwatch.MetricAlarm(
            resource_name,
            name=f"{args.prefix}-{resource_name}",
            **args.alerting.alarm(entry, summary),
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self),
            **settings,
        )

    def _backlog(self) -> aws.cloudwatch.MetricAlarm:
        config = self._args.config
        queued = KeelMetric(name=constants.QUEUED_WORK, service=self._args.worker_service)
        return self._alarm(
            "backlog",
            "backlog",
            f"keel: more than {config.backlog_threshold} runs and tasks waiting for "
            f"{config.backlog_minutes} minutes (QueuedWork).",
            comparison_operator="GreaterThanThreshold",
            threshold=config.backlog_threshold,
            evaluation_periods=config.backlog_minutes,
            datapoints_to_alarm=config.backlog_minutes,
            # No worker alive publishes no gauge: the alarm keeps its state (and starts as
            # INSUFFICIENT_DATA), and the runbook says to look at the worker service.
            treat_missing_data="missing",
            metric_queries=[queued.alarm_query("queued", MINUTE, return_data=True)],
        )

    def _failure_rate(self) -> aws.cloudwatch.MetricAlarm:
        config = self._args.config
        worker = self._args.worker_service
        outcome = constants.METRIC_OUTCOME_DIMENSION
        queries: list[aws.cloudwatch.MetricAlarmMetricQueryArgsDict] = []
        failed: list[str] = []
        finished: list[str] = []
        for metric_name, outcomes, failures, label in (
            (
                constants.RUNS_FINISHED,
                constants.RUN_OUTCOMES,
                constants.RUN_FAILURE_OUTCOMES,
                "runs",
            ),
            (
                constants.TASKS_FINISHED,
                constants.TASK_OUTCOMES,
                constants.TASK_FAILURE_OUTCOMES,
                "tasks",
            ),
        ):
            for value in outcomes:
                query_id = f"{label}_{value.lower()}"
                metric = KeelMetric(name=metric_name, service=worker, dimensions={outcome: value})
                queries.append(metric.alarm_query(query_id, FAILURE_PERIOD))
                finished.append(f"FILL({query_id}, 0)")
                if value in failures:
                    failed.append(f"FILL({query_id}, 0)")
        queries.append({"id": "failed", "expression": " + ".join(failed), "return_data": False})
        queries.append({"id": "finished", "expression": " + ".join(finished), "return_data": False})
        queries.append(
            {
                "id": "rate",
                "expression": f"IF(finished >= {config.failure_min_finished}, "
                "100 * failed / finished, 0)",
                "label": "failed or timed-out runs and failed tasks (%) of all finished",
                "return_data": True,
            }
        )
        return self._alarm(
            "failure-rate",
            "failures",
            f"keel: more than {config.failure_rate_percent:g} % of the runs and tasks the "
            "workers finished failed or timed out, in two of three 5-minute periods.",
            comparison_operator="GreaterThanThreshold",
            threshold=config.failure_rate_percent,
            evaluation_periods=3,
            datapoints_to_alarm=2,
            treat_missing_data="notBreaching",
            metric_queries=queries,
        )

    def _recoveries(self) -> aws.cloudwatch.MetricAlarm:
        config = self._args.config
        recovered = KeelMetric(
            name=constants.RECOVERED_WORKFLOWS, service=self._args.worker_service
        )
        return self._alarm(
            "recoveries",
            "recoveries",
            f"keel: more than {config.recoveries_threshold} workflows recovered from dead "
            "workers within 15 minutes (RecoveredWorkflows).",
            comparison_operator="GreaterThanThreshold",
            threshold=config.recoveries_threshold,
            evaluation_periods=1,
            treat_missing_data="notBreaching",
            metric_queries=[recovered.alarm_query("recovered", RECOVERY_PERIOD, return_data=True)],
        )

    def _database_errors(self) -> aws.cloudwatch.MetricAlarm:
        config = self._args.config
        queries = [
            KeelMetric(name=constants.DATABASE_ERRORS, service=service).alarm_query(
                f"errors{index}", MINUTE
            )
            for index, service in enumerate(self._args.database_services)
        ]
        queries.append(
            {
                "id": "errors",
                "expression": " + ".join(f"FILL({query['id']}, 0)" for query in queries),
                "label": "database connection errors, every role",
                "return_data": True,
            }
        )
        return self._alarm(
            "database-errors",
            "database",
            f"keel: database connection errors in each of {config.database_error_minutes} "
            "consecutive minutes (DatabaseConnectionErrors, every role).",
            comparison_operator="GreaterThanThreshold",
            threshold=0,
            evaluation_periods=config.database_error_minutes,
            datapoints_to_alarm=config.database_error_minutes,
            treat_missing_data="notBreaching",
            metric_queries=queries,
        )
