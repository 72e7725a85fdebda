"""The dashboard and the alarms read exactly the metrics keel's roles write.

Each keel metric a query names is checked three ways: its name and dimensions are
keel.constants' (``KeelMetric`` refuses others), the line keel.metrics writes for the
same name and dimension values is an EMF directive with exactly those dimensions in
the same namespace (CloudWatch matches a metric on its whole dimension set), and its
``Service`` is one a task definition of the stack really sets as KEEL_METRICS_SERVICE.
Then every alarm notifies the stack's topic and links a runbook entry that
docs/operations.md has.
"""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from keel_infra_mocks import RUNBOOK_BASE_URL, Deployment, deploy, dev_config

from keel import constants, metrics
from keel.infra.alerting import RUNBOOK_ENTRIES, anchor
from keel.infra.environment import METRICS_SERVICE_VARIABLE
from keel.infra.keel_metrics import COUNTERS, GAUGES, TIMINGS, KeelMetric
from keel.infra.operations_config import AlarmsConfig
from keel.logs import JsonFormatter

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
OPERATIONS = Path(__file__).resolve().parents[2] / "docs" / "operations.md"
STACKS = ["dev", "prod", "cutover"]


def keel_queries(alarm: dict[str, Any]) -> list[tuple[str, dict[str, str], str]]:
    """Return (name, dimensions, stat) of every keel metric an alarm queries."""
    return [
        (
            query["metric"]["metricName"],
            query["metric"]["dimensions"],
            query["metric"]["stat"],
        )
        for query in alarm.get("metricQueries") or []
        if query.get("metric", {}).get("namespace") == constants.METRICS_NAMESPACE
    ]


def dashboard_lines(body: dict[str, Any]) -> list[tuple[str, dict[str, str], str]]:
    """Return (name, dimensions, stat) of every keel metric a dashboard graphs."""
    found = []
    for widget in body["widgets"]:
        for line in widget["properties"].get("metrics", []):
            if line[0] != constants.METRICS_NAMESPACE:
                continue
            *pairs, options = line[2:]
            found.append(
                (line[1], dict(zip(pairs[::2], pairs[1::2], strict=True)), options["stat"])
            )
    return found


def read_everywhere(deployment: Deployment) -> list[tuple[str, dict[str, str], str]]:
    (dashboard,) = deployment.of_type(DASHBOARD)
    read = dashboard_lines(json.loads(dashboard.inputs["dashboardBody"]))
    for alarm in deployment.of_type(ALARM):
        read += keel_queries(alarm.inputs)
    return read


@contextmanager
def written() -> Iterator[list[dict[str, Any]]]:
    """Every line keel.metrics writes in the block, through keel's own JSON formatter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("keel.metrics")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    lines: list[dict[str, Any]] = []
    try:
        yield lines
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        lines.extend(json.loads(line) for line in stream.getvalue().splitlines())


def services_set(deployment: Deployment) -> set[str]:
    """Every KEEL_METRICS_SERVICE a task definition of the stack sets."""
    return {
        variable["value"]
        for task in deployment.of_type(TASK_DEFINITION)
        for container in json.loads(task.inputs["containerDefinitions"])
        for variable in container["environment"]
        if variable["name"] == METRICS_SERVICE_VARIABLE
    }


@pytest.mark.parametrize("name", STACKS)
def test_every_keel_metric_read_is_one_keel_writes_with_these_dimensions(
    name: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
):
    deployment: Deployment = request.getfixturevalue(name)
    read = read_everywhere(deployment)
    services = services_set(deployment)

    # Every metric keel publishes is shown, and nothing else is read from its namespace.
    assert {metric for metric, _, _ in read} == {*GAUGES, *COUNTERS, *TIMINGS}
    for metric_name, dimensions, stat in read:
        service = dimensions[constants.METRIC_SERVICE_DIMENSION]
        assert service in services, (metric_name, service)
        extra = {k: v for k, v in dimensions.items() if k != constants.METRIC_SERVICE_DIMENSION}
        KeelMetric(name=metric_name, service=service, dimensions=extra, stat=stat)
        monkeypatch.setenv(metrics.SERVICE_VARIABLE, service)
        with written() as lines:
            metrics.emit({metric_name: 1}, dimensions=extra)
        (line,) = lines
        (directive,) = line["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == constants.METRICS_NAMESPACE
        assert [metric["Name"] for metric in directive["Metrics"]] == [metric_name]
        (dimension_set,) = directive["Dimensions"]
        assert set(dimension_set) == set(dimensions), (metric_name, dimension_set, dimensions)
        assert {key: line[key] for key in dimension_set} == dimensions


@pytest.mark.parametrize("name", STACKS)
def test_gauges_are_read_with_maximum_and_counters_with_sum(name: str, request):
    deployment: Deployment = request.getfixturevalue(name)

    for metric_name, _, stat in read_everywhere(deployment):
        if metric_name in GAUGES:
            assert stat == "Maximum", metric_name
        elif metric_name in COUNTERS:
            assert stat == "Sum", metric_name
        else:
            assert re.fullmatch(r"p\d\d", stat), (metric_name, stat)


def test_a_metric_keel_never_writes_is_refused_before_any_resource():
    with pytest.raises(ValueError, match="carries Service and Outcome"):
        KeelMetric(name=constants.RUNS_FINISHED, service="keel-dev-worker")
    with pytest.raises(ValueError, match="no metric named"):
        KeelMetric(name="QueueDepth", service="keel-dev-worker")
    with pytest.raises(ValueError, match="read Maximum"):
        KeelMetric(name=constants.QUEUED_WORK, service="keel-dev-worker", stat="Sum")
    with pytest.raises(ValueError, match="one of"):
        KeelMetric(
            name=constants.TASKS_FINISHED,
            service="keel-dev-worker",
            dimensions={constants.METRIC_OUTCOME_DIMENSION: "failed"},
        )


@pytest.mark.parametrize("role", ["web", "worker", "migrate"])
def test_each_container_names_its_service_on_its_metrics(dev: Deployment, role: str):
    container = dev.container_definitions(f"-{role}")
    environment = {item["name"]: item["value"] for item in container["environment"]}

    assert METRICS_SERVICE_VARIABLE == metrics.SERVICE_VARIABLE
    assert environment[METRICS_SERVICE_VARIABLE] == f"keel-dev-{role}"


# ---- Alarms: an action and a runbook each ------------------------------------------------


def operations_anchors() -> set[str]:
    return {
        anchor(heading)
        for heading in re.findall(r"^#+ (.+)$", OPERATIONS.read_text(), re.MULTILINE)
    }


def test_every_runbook_entry_the_alarms_link_is_a_heading_of_operations_md():
    headings = set(re.findall(r"^## (.+)$", OPERATIONS.read_text(), re.MULTILINE))

    assert set(RUNBOOK_ENTRIES.values()) <= headings
    assert anchor("Alarm: runs and tasks are failing") == "alarm-runs-and-tasks-are-failing"


@pytest.mark.parametrize("name", STACKS)
def test_every_alarm_notifies_the_topic_and_links_its_runbook(name: str, request):
    deployment: Deployment = request.getfixturevalue(name)
    topic = deployment.outputs["alarm_topic_arn"]
    anchors = operations_anchors()
    alarms = deployment.of_type(ALARM)

    assert len(alarms) >= 6
    for alarm in alarms:
        inputs = alarm.inputs
        assert inputs["alarmActions"] == [topic], inputs["name"]
        assert inputs["okActions"] == [topic]
        (link,) = re.findall(r"Runbook: (\S+)", inputs["alarmDescription"])
        base, _, entry = link.partition("#")
        assert base == f"{RUNBOOK_BASE_URL}/operations.md"
        assert entry in anchors, (inputs["name"], entry)


def test_the_four_operations_alarms_and_what_they_watch(dev: Deployment):
    alarms = {alarm.inputs["name"]: alarm.inputs for alarm in dev.of_type(ALARM)}

    assert set(dev.outputs["operations_alarms"]) == {
        "keel-dev-backlog",
        "keel-dev-failure-rate",
        "keel-dev-recoveries",
        "keel-dev-database-errors",
    }
    backlog = alarms["keel-dev-backlog"]
    assert keel_queries(backlog) == [
        (constants.QUEUED_WORK, {"Service": "keel-dev-worker"}, "Maximum")
    ]
    assert (backlog["threshold"], backlog["evaluationPeriods"]) == (100, 15)
    failures = alarms["keel-dev-failure-rate"]
    outcomes = {dims["Outcome"] for _, dims, _ in keel_queries(failures)}
    assert outcomes == {*constants.RUN_OUTCOMES, *constants.TASK_OUTCOMES}
    (rate,) = [q for q in failures["metricQueries"] if q.get("returnData")]
    assert rate["expression"] == "IF(finished >= 5, 100 * failed / finished, 0)"
    failed = next(q for q in failures["metricQueries"] if q["id"] == "failed")["expression"]
    assert failed == "FILL(runs_failed, 0) + FILL(runs_timed_out, 0) + FILL(tasks_failed, 0)"
    errors = alarms["keel-dev-database-errors"]
    assert {dims["Service"] for _, dims, _ in keel_queries(errors)} == {
        "keel-dev-web",
        "keel-dev-worker",
    }
    assert errors["datapointsToAlarm"] == errors["evaluationPeriods"] == 5


def test_the_cutover_service_counts_in_the_database_alarm(cutover: Deployment):
    (errors,) = [
        a for a in cutover.of_type(ALARM) if a.inputs["name"] == "keel-dev-database-errors"
    ]

    assert "keel-dev-web-cutover" in {d["Service"] for _, d, _ in keel_queries(errors.inputs)}


def test_an_email_subscribes_to_the_alarm_topic_and_thresholds_are_config():
    deployment = deploy(
        dev_config(
            alarms=AlarmsConfig(
                runbook_base_url=RUNBOOK_BASE_URL,
                email="oncall@example.com",
                backlog_threshold=7,
                backlog_minutes=3,
            )
        )
    )
    (subscription,) = deployment.of_type("aws:sns/topicSubscription:TopicSubscription")
    (topic,) = deployment.of_type("aws:sns/topic:Topic")
    (backlog,) = [a for a in deployment.of_type(ALARM) if a.inputs["name"] == "keel-dev-backlog"]

    assert (subscription.inputs["protocol"], subscription.inputs["endpoint"]) == (
        "email",
        "oncall@example.com",
    )
    assert subscription.inputs["topic"] == topic.outputs["arn"]
    assert (backlog.inputs["threshold"], backlog.inputs["evaluationPeriods"]) == (7, 3)


@pytest.mark.parametrize(
    ("alarms", "message"),
    [
        (AlarmsConfig(), "runbookBaseUrl is required"),
        (AlarmsConfig(runbook_base_url="http://docs.example.com"), "must be an https"),
        (AlarmsConfig(runbook_base_url=RUNBOOK_BASE_URL, email="on-call"), "not an email"),
        (
            AlarmsConfig(runbook_base_url=RUNBOOK_BASE_URL, failure_rate_percent=0),
            "failureRatePercent",
        ),
    ],
)
def test_bad_alarm_config_is_refused(alarms: AlarmsConfig, message: str):
    with pytest.raises(ValueError, match=message):
        dev_config(alarms=alarms)


# ---- The dashboard ---------------------------------------------------------------------


def test_the_dashboard_shows_the_alb_ecs_and_every_alarm(dev: Deployment):
    (dashboard,) = dev.of_type(DASHBOARD)
    body = json.loads(dashboard.inputs["dashboardBody"])
    lines = [line for widget in body["widgets"] for line in widget["properties"].get("metrics", [])]
    (alb,) = dev.of_type("aws:lb/loadBalancer:LoadBalancer")
    (alarm_widget,) = [w for w in body["widgets"] if w["type"] == "alarm"]

    assert dashboard.inputs["dashboardName"] == "keel-dev"
    assert ["AWS/ApplicationELB", "RequestCount", "LoadBalancer", alb.outputs["arnSuffix"]] in [
        line[:4] for line in lines
    ]
    assert [
        "AWS/ECS",
        "CPUUtilization",
        "ClusterName",
        "keel-dev",
        "ServiceName",
        "keel-dev-worker",
    ] in [line[:6] for line in lines]
    assert sorted(alarm_widget["properties"]["alarms"]) == sorted(
        alarm.outputs["arn"] for alarm in dev.of_type(ALARM)
    )
    assert {widget["properties"].get("region") for widget in body["widgets"]} <= {
        "eu-west-1",
        None,
    }
    assert all(widget["x"] + widget["width"] <= 24 for widget in body["widgets"])
    assert dev.outputs["dashboard"] == "keel-dev"


@pytest.mark.parametrize("name", STACKS)
def test_the_streams_widget_divides_each_web_service_s_streams_by_its_running_tasks(
    name: str, request: pytest.FixtureRequest
):
    deployment: Deployment = request.getfixturevalue(name)
    (dashboard,) = deployment.of_type(DASHBOARD)
    body = json.loads(dashboard.inputs["dashboardBody"])
    (widget,) = [
        w for w in body["widgets"] if w["properties"]["title"] == "keel: open event streams"
    ]
    lines = widget["properties"]["metrics"]
    by_id = {line[-1]["id"]: line for line in lines if "id" in line[-1]}
    (cluster,) = deployment.of_type("aws:ecs/cluster:Cluster")
    web_services = {
        service.inputs["name"]
        for service in deployment.of_type("aws:ecs/service:Service")
        if not service.inputs["name"].endswith("-worker")
    }

    # CloudWatch ids: unique in the widget, a lower-case letter then letters, digits, _.
    ids = [line[-1]["id"] for line in lines if "id" in line[-1]]
    assert len(ids) == len(set(ids)), ids
    assert all(re.fullmatch(r"[a-z]\w*", i) for i in ids), ids
    divided = {}
    for (expression,) in (line for line in lines if "expression" in line[0]):
        quotient = re.fullmatch(r"(\w+) / (\w+)", expression["expression"])
        assert quotient is not None, expression
        streams, tasks = quotient.groups()
        *_, service, options = by_id[streams]
        assert by_id[streams] == [
            constants.METRICS_NAMESPACE,
            constants.OPEN_STREAMS,
            constants.METRIC_SERVICE_DIMENSION,
            service,
            options,
        ]
        assert options["stat"] == "Sum"
        assert options.get("visible", True)  # the service's total is drawn too
        *divisor, divisor_options = by_id[tasks]
        assert divisor == [
            "ECS/ContainerInsights",
            "RunningTaskCount",
            "ClusterName",
            cluster.outputs["name"],
            "ServiceName",
            service,
        ]
        assert divisor_options["visible"] is False  # only the quotient is drawn
        assert expression["yAxis"] == "right"  # per task: not on the totals' scale
        divided[service] = expression["label"]
    # Each web service (the cutover's too, where it runs), and never the worker.
    assert set(divided) == web_services, (divided, web_services)
    assert all(label.startswith("streams per task (web") for label in divided.values())
