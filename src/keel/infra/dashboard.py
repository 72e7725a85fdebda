"""The stack's CloudWatch dashboard: keel's own metrics beside the ALB's and ECS's."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from keel import constants
from keel.infra.keel_metrics import PERCENTILES, KeelMetric

#: Seconds per datapoint on every graph: the gauges' interval.
PERIOD = 60
WIDTH, HEIGHT, COLUMNS = 12, 6, 24


@dataclass(frozen=True, kw_only=True)
class DashboardArgs:
    prefix: str
    region: pulumi.Input[str]
    load_balancer_arn_suffix: pulumi.Input[str]
    target_group_arn_suffixes: Sequence[pulumi.Input[str]]
    cluster_name: pulumi.Input[str]
    #: Role (web, worker, and web-cutover when it runs) -> its ECS service's name, which
    #: is also the ``Service`` of its metrics.
    services: Mapping[str, str]
    #: Every alarm of the stack, shown with its state.
    alarm_arns: Sequence[pulumi.Input[str]]
    #: The web ACL's name, when the ALB has one.
    web_acl_name: pulumi.Input[str] | None = None


def _running_tasks(cluster: pulumi.Input[str], service: str, **options: Any) -> list[Any]:
    """The ECS service's running tasks (Container Insights) as a line of a graph."""
    return [
        "ECS/ContainerInsights",
        "RunningTaskCount",
        "ClusterName",
        cluster,
        "ServiceName",
        service,
        {"stat": "Average", **options},
    ]


def _graph(title: str, metrics: list[Any], **properties: Any) -> dict[str, Any]:
    return {
        "type": "metric",
        "properties": {
            "title": title,
            "view": "timeSeries",
            "stacked": False,
            "period": PERIOD,
            "metrics": metrics,
            **properties,
        },
    }


class Dashboard(pulumi.ComponentResource):
    """``<prefix>``: traffic, tasks, keel's queues and outcomes, streams and alarms."""

    dashboard: aws.cloudwatch.Dashboard
    name: pulumi.Output[str]

    def __init__(self, name: str, args: DashboardArgs, opts: pulumi.ResourceOptions | None = None):
        missing = {"web", "worker"} - set(args.services)
        if missing:
            raise ValueError(f"dashboard: services need {sorted(missing)}")
        if not args.target_group_arn_suffixes:
            raise ValueError("dashboard: at least one target group")
        super().__init__("keel:aws:Dashboard", name, None, opts)
        self._args = args
        widgets = [
            *self._traffic(),
            *self._tasks(),
            *self._work(),
            *self._web(),
            *self._firewall(),
            {
                "type": "alarm",
                "properties": {"title": "Alarms", "alarms": list(args.alarm_arns)},
            },
        ]
        for index, widget in enumerate(widgets):
            widget.update(
                x=(index * WIDTH) % COLUMNS,
                y=(index * WIDTH) // COLUMNS * HEIGHT,
                width=WIDTH,
                height=HEIGHT,
            )
            if widget["type"] == "metric":
                widget["properties"]["region"] = args.region
        self.dashboard = aws.cloudwatch.Dashboard(
            "dashboard",
            dashboard_name=args.prefix,
            dashboard_body=pulumi.Output.json_dumps({"widgets": widgets}),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.name = self.dashboard.dashboard_name
        self.register_outputs({"name": self.name})

    def keel_metrics(self) -> list[KeelMetric]:
        """Return every keel metric the dashboard shows."""
        return [metric for metric, _ in self._keel_lines()]

    def _keel_lines(self) -> list[tuple[KeelMetric, str]]:
        worker = self._args.services["worker"]
        lines = [
            (KeelMetric(name=name, service=worker), name)
            for name in (
                constants.QUEUED_WORK,
                constants.QUEUED_RUNS,
                constants.QUEUED_TASKS,
                constants.RUNNING_RUNS,
                constants.RUNNING_TASKS,
            )
        ]
        outcome = constants.METRIC_OUTCOME_DIMENSION
        for service in self._args.services.values():
            lines += [
                (
                    KeelMetric(
                        name=constants.RUNS_FINISHED, service=service, dimensions={outcome: value}
                    ),
                    f"runs {value} ({service})",
                )
                for value in constants.RUN_OUTCOMES
            ]
        lines += [
            (
                KeelMetric(
                    name=constants.TASKS_FINISHED, service=worker, dimensions={outcome: value}
                ),
                f"tasks {value}",
            )
            for value in constants.TASK_OUTCOMES
        ]
        lines += [
            (
                KeelMetric(
                    name=constants.RUN_DURATION,
                    service=worker,
                    dimensions={outcome: "succeeded"},
                    stat=stat,
                ),
                f"succeeded run {stat}",
            )
            for stat in PERCENTILES
        ]
        kind = constants.METRIC_KIND_DIMENSION
        lines += [
            (
                KeelMetric(
                    name=constants.STEP_DURATION,
                    service=worker,
                    dimensions={kind: value},
                    stat="p95",
                ),
                f"{value} step p95",
            )
            for value in constants.STEP_KINDS
        ]
        lines.append((KeelMetric(name=constants.RECOVERED_WORKFLOWS, service=worker), "recovered"))
        for role, service in self._args.services.items():
            lines.append(
                (
                    KeelMetric(name=constants.DATABASE_ERRORS, service=service),
                    f"database errors ({role})",
                )
            )
            if role != "worker":
                lines.append(
                    (KeelMetric(name=constants.OPEN_STREAMS, service=service), f"streams ({role})")
                )
        return lines

    def _lines(self, *names: str) -> list[Any]:
        return [
            metric.widget(label) for metric, label in self._keel_lines() if metric.name in names
        ]

    def _traffic(self) -> list[dict[str, Any]]:
        lb = self._args.load_balancer_arn_suffix
        alb = "AWS/ApplicationELB"
        health = []
        for index, group in enumerate(self._args.target_group_arn_suffixes):
            for metric_name in ("HealthyHostCount", "UnHealthyHostCount"):
                health.append(
                    [alb, metric_name, "TargetGroup", group, "LoadBalancer", lb,
                     {"stat": "Maximum", "label": f"{metric_name} ({index})"}]
                )  # fmt: skip
        return [
            _graph(
                "ALB: requests and 5xx",
                [
                    [alb, "RequestCount", "LoadBalancer", lb, {"stat": "Sum"}],
                    [alb, "HTTPCode_Target_5XX_Count", "LoadBalancer", lb, {"stat": "Sum"}],
                    [alb, "HTTPCode_ELB_5XX_Count", "LoadBalancer", lb, {"stat": "Sum"}],
                ],
            ),
            _graph(
                "ALB: response time (s)",
                [
                    [alb, "TargetResponseTime", "LoadBalancer", lb, {"stat": stat}]
                    for stat in PERCENTILES
                ],
            ),
            _graph("ALB: targets", health),
        ]

    def _tasks(self) -> list[dict[str, Any]]:
        cluster = self._args.cluster_name
        usage = [
            ["AWS/ECS", metric_name, "ClusterName", cluster, "ServiceName", service,
             {"stat": "Average", "label": f"{role} {metric_name}"}]
            for role, service in self._args.services.items()
            for metric_name in ("CPUUtilization", "MemoryUtilization")
        ]  # fmt: skip
        running = [
            _running_tasks(cluster, service, label=role)
            for role, service in self._args.services.items()
        ]
        return [
            _graph("ECS: CPU and memory (%)", usage),
            _graph("ECS: running tasks", running),
        ]

    def _work(self) -> list[dict[str, Any]]:
        return [
            _graph(
                "keel: waiting",
                self._lines(constants.QUEUED_WORK, constants.QUEUED_RUNS, constants.QUEUED_TASKS),
            ),
            _graph("keel: running", self._lines(constants.RUNNING_RUNS, constants.RUNNING_TASKS)),
            _graph("keel: runs finished", self._lines(constants.RUNS_FINISHED)),
            _graph("keel: tasks finished", self._lines(constants.TASKS_FINISHED)),
            _graph("keel: run duration (ms)", self._lines(constants.RUN_DURATION)),
            _graph("keel: step duration (ms)", self._lines(constants.STEP_DURATION)),
        ]

    def _streams(self) -> list[Any]:
        """Each web service's open streams (left axis) and, by metric math over its
        running tasks, how many one task holds on average (right axis).

        Every web worker process publishes its own count once a metrics interval (a
        minute by default, the graphs' period) and the line sums them over the service;
        divided by the service's running tasks (Container Insights), it is the load one
        task carries, which the total hides as the service scales.
        """
        roles = {service: role for role, service in self._args.services.items()}
        lines: list[Any] = []
        for index, (metric, label) in enumerate(
            line for line in self._keel_lines() if line[0].name == constants.OPEN_STREAMS
        ):
            streams, tasks = f"streams{index}", f"tasks{index}"
            role = roles[metric.service]
            lines += [
                metric.widget(label, id=streams),
                _running_tasks(
                    self._args.cluster_name,
                    metric.service,
                    label=f"running tasks ({role})",
                    id=tasks,
                    visible=False,
                ),
                [
                    {
                        "expression": f"{streams} / {tasks}",
                        "label": f"streams per task ({role})",
                        "id": f"per_task{index}",
                        "yAxis": "right",
                    }
                ],
            ]
        return lines

    def _web(self) -> list[dict[str, Any]]:
        return [
            _graph("keel: open event streams", self._streams()),
            _graph(
                "keel: recoveries and database errors",
                self._lines(constants.RECOVERED_WORKFLOWS, constants.DATABASE_ERRORS),
            ),
        ]

    def _firewall(self) -> list[dict[str, Any]]:
        web_acl = self._args.web_acl_name
        if web_acl is None:
            return []
        return [
            _graph(
                "WAF: requests",
                [
                    [
                        "AWS/WAFV2",
                        metric_name,
                        "WebACL",
                        web_acl,
                        "Rule",
                        "ALL",
                        "Region",
                        self._args.region,
                        {"stat": "Sum"},
                    ]
                    for metric_name in ("AllowedRequests", "BlockedRequests", "CountedRequests")
                ],
            )
        ]
