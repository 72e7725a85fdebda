"""keel's metric lines are valid CloudWatch embedded metric format (EMF) documents.

The schema below is the one AWS publishes with the specification
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html,
"Embedded metric format JSON schema"), restated here; the spec's rules that a schema
cannot state (every metric and dimension a directive names is a member of the root,
metric values are numbers, dimension values strings) are checked beside it. Each line is
produced by the real logging path: keel's JSON formatter writing what keel.metrics emits.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import jsonschema
import pytest

from keel import constants, metrics
from keel.logs import JsonFormatter

UNITS = [
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes",
    "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count",
    "Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second",
    "Terabytes/Second", "Bits/Second", "Kilobits/Second", "Megabits/Second",
    "Gigabits/Second", "Terabits/Second", "Count/Second", "None",
]  # fmt: skip

EMF_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Root Node",
    "required": ["_aws"],
    "properties": {
        "_aws": {
            "type": "object",
            "title": "Metadata",
            "required": ["Timestamp", "CloudWatchMetrics"],
            "properties": {
                "Timestamp": {"type": "integer", "title": "The Timestamp Schema"},
                "LogGroupName": {"type": "string"},
                "CloudWatchMetrics": {
                    "type": "array",
                    "title": "MetricDirectives",
                    "items": {
                        "type": "object",
                        "title": "MetricDirective",
                        "required": ["Namespace", "Dimensions", "Metrics"],
                        "properties": {
                            "Namespace": {"type": "string", "minLength": 1, "maxLength": 1024},
                            "Dimensions": {
                                "type": "array",
                                "items": {
                                    "type": "array",
                                    "minItems": 1,
                                    "maxItems": 30,
                                    "items": {"type": "string", "minLength": 1, "maxLength": 250},
                                },
                            },
                            "Metrics": {
                                "type": "array",
                                "maxItems": 100,
                                "items": {
                                    "type": "object",
                                    "required": ["Name"],
                                    "properties": {
                                        "Name": {
                                            "type": "string",
                                            "minLength": 1,
                                            "maxLength": 1024,
                                        },
                                        "Unit": {"type": "string", "enum": UNITS},
                                        "StorageResolution": {"type": "integer", "enum": [1, 60]},
                                    },
                                },
                            },
                        },
                    },
                },
            },
        }
    },
}


def assert_valid_emf(document: dict[str, Any]) -> None:
    jsonschema.validate(document, EMF_SCHEMA)
    for directive in document["_aws"]["CloudWatchMetrics"]:
        for dimension_set in directive["Dimensions"]:
            for name in dimension_set:
                assert isinstance(document.get(name), str), f"dimension {name} not a string member"
        for metric in directive["Metrics"]:
            value = document.get(metric["Name"])
            values = value if isinstance(value, list) else [value]
            assert values, metric
            assert all(
                isinstance(item, int | float) and not isinstance(item, bool) for item in values
            )


@contextmanager
def captured() -> Iterator[list[dict[str, Any]]]:
    """Every line keel.metrics writes in the block, through keel's own JSON formatter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("keel.metrics")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    lines: list[dict[str, Any]] = []
    try:
        yield lines
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        lines.extend(json.loads(line) for line in stream.getvalue().splitlines())


def test_a_gauge_line_is_valid_emf_with_the_service_dimension(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(metrics.SERVICE_VARIABLE, "keel-dev-worker")
    with captured() as metric_lines:
        metrics.emit({constants.QUEUED_RUNS: 3, constants.QUEUED_WORK: 5})
    [line] = metric_lines
    assert_valid_emf(line)
    directive = line["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == constants.METRICS_NAMESPACE
    assert directive["Dimensions"] == [[constants.METRIC_SERVICE_DIMENSION]]
    assert line[constants.METRIC_SERVICE_DIMENSION] == "keel-dev-worker"
    assert (line[constants.QUEUED_RUNS], line[constants.QUEUED_WORK]) == (3, 5)


def test_a_duration_carries_its_unit_and_extra_dimension() -> None:
    kind = {constants.METRIC_KIND_DIMENSION: "tool"}
    with captured() as metric_lines, metrics.timed(constants.STEP_DURATION, **kind):
        pass
    [line] = metric_lines
    assert_valid_emf(line)
    directive = line["_aws"]["CloudWatchMetrics"][0]
    assert directive["Metrics"] == [{"Name": constants.STEP_DURATION, "Unit": "Milliseconds"}]
    assert directive["Dimensions"] == [
        [constants.METRIC_SERVICE_DIMENSION, constants.METRIC_KIND_DIMENSION]
    ]
    assert line[constants.METRIC_KIND_DIMENSION] == "tool"


def test_the_checker_itself_refuses_what_the_spec_refuses() -> None:
    good = {
        "_aws": {
            "Timestamp": 1,
            "CloudWatchMetrics": [
                {"Namespace": "Keel", "Dimensions": [["Service"]], "Metrics": [{"Name": "X"}]}
            ],
        },
        "Service": "web",
        "X": 1,
    }
    assert_valid_emf(good)
    for broken in (
        {**good, "X": "one"},  # a metric value that is not a number
        {key: value for key, value in good.items() if key != "Service"},  # dimension missing
        {**good, "_aws": {**good["_aws"], "Timestamp": "now"}},
    ):
        with pytest.raises((AssertionError, jsonschema.ValidationError)):
            assert_valid_emf(broken)


def test_the_outcome_values_the_dashboard_reads_are_the_statuses_keel_finishes_with() -> None:
    from keel.agents.models import FINISHED_STATUSES
    from keel.tasks.models import TaskStatus

    assert set(constants.RUN_OUTCOMES) == {str(status) for status in FINISHED_STATUSES}
    assert set(constants.RUN_FAILURE_OUTCOMES) < set(constants.RUN_OUTCOMES)
    assert set(constants.TASK_OUTCOMES) == {TaskStatus.SUCCESSFUL, TaskStatus.FAILED}
    assert constants.TASK_FAILURE_OUTCOMES == (TaskStatus.FAILED,)


def _kinds_in_source() -> set[str]:
    """Every ``constants.METRIC_KIND_DIMENSION: "<kind>"`` written anywhere in src/keel."""
    import ast
    from pathlib import Path

    found = set()
    for path in (Path(constants.__file__).parent).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Dict):
                continue
            for key, value in zip(node.keys, node.values, strict=True):
                if (
                    isinstance(key, ast.Attribute)
                    and key.attr == "METRIC_KIND_DIMENSION"
                    and isinstance(value, ast.Constant)
                ):
                    found.add(value.value)
    return found


def test_the_step_kinds_the_dashboard_reads_are_the_ones_keel_publishes() -> None:
    assert _kinds_in_source() == set(constants.STEP_KINDS)


# -- The call sites: the lines keel writes as work finishes carry what the dashboard reads.
# CloudWatch matches a metric on its whole dimension set, so a call site that drops (or
# adds) a dimension writes a metric no dashboard line or alarm finds.


def as_the_dashboard_reads(line: dict[str, Any]) -> list[tuple[str, str, dict[str, str]]]:
    """Each metric of a line as (name, Service, other dimensions), once the line is shown
    to be valid EMF with exactly the dimensions the dashboard and alarms query:
    ``Service`` and, where keel.infra.keel_metrics.SECOND_DIMENSION names one, that one,
    with a value it lists (``KeelMetric`` refuses anything else)."""
    from keel.infra.keel_metrics import SECOND_DIMENSION, KeelMetric

    assert_valid_emf(line)
    (directive,) = line["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == constants.METRICS_NAMESPACE
    (dimension_set,) = directive["Dimensions"]
    assert len(dimension_set) == len(set(dimension_set)), dimension_set
    service = line[constants.METRIC_SERVICE_DIMENSION]
    others = {
        name: line[name] for name in dimension_set if name != constants.METRIC_SERVICE_DIMENSION
    }
    read = []
    for metric in directive["Metrics"]:
        second = SECOND_DIMENSION.get(metric["Name"])
        expected = {constants.METRIC_SERVICE_DIMENSION, *([second[0]] if second else [])}
        assert set(dimension_set) == expected, (metric["Name"], dimension_set)
        KeelMetric(name=metric["Name"], service=service, dimensions=others)
        read.append((metric["Name"], service, others))
    return read


@pytest.fixture
def service(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(metrics.SERVICE_VARIABLE, "keel-dev-worker")
    return "keel-dev-worker"


@pytest.mark.django_db
def test_a_finished_task_is_counted_by_outcome_as_the_dashboard_reads_it(
    service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from keel.tasks import services
    from tests.tasks import durable_tasks

    monkeypatch.setattr(services, "task_dispatch", lambda *, task_id: None)  # no DBOS here
    succeeded = durable_tasks.marked.enqueue("a")
    failed = durable_tasks.marked.enqueue("b")
    error = {"exception_class_path": "builtins.ValueError", "traceback": "x"}
    with captured() as metric_lines:
        services.task_succeed(task_id=succeeded.id, return_value="x")
        services.task_attempt_fail(task_id=failed.id, error=error, final=False)  # retried
        services.task_attempt_fail(task_id=failed.id, error=error, final=True)

    outcome = constants.METRIC_OUTCOME_DIMENSION
    assert [read for line in metric_lines for read in as_the_dashboard_reads(line)] == [
        (constants.TASKS_FINISHED, service, {outcome: "SUCCESSFUL"}),
        (constants.TASKS_FINISHED, service, {outcome: "FAILED"}),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("status", constants.RUN_OUTCOMES)
def test_a_finished_run_is_counted_and_timed_by_outcome_as_the_dashboard_reads_it(
    service: str, status: str
) -> None:
    from keel.agents import services
    from keel.agents.models import RunStatus
    from tests.agents.factories import AgentRunFactory

    run = AgentRunFactory.create()
    services.run_start(run_id=run.id)
    with captured() as metric_lines:
        assert services.run_finish(run_id=run.id, status=RunStatus(status))

    outcome = {constants.METRIC_OUTCOME_DIMENSION: status}
    assert [read for line in metric_lines for read in as_the_dashboard_reads(line)] == [
        (constants.RUNS_FINISHED, service, outcome),
        (constants.RUN_DURATION, service, outcome),
    ]


def test_each_kind_of_step_is_timed_as_the_dashboard_reads_it(service: str) -> None:
    import asyncio

    from pydantic_ai.messages import ModelRequest
    from pydantic_ai.models import ModelRequestParameters
    from pydantic_ai.models.test import TestModel

    from keel.agents.durable import GatedModel, tool_step
    from keel.tasks import step

    @step(name="tests.test_metrics.task_step")
    def task_step() -> int:
        return 1

    @tool_step("tests.test_metrics.tool")
    async def tool() -> int:
        return 2

    async def tool_then_model() -> None:
        await tool()
        await GatedModel(TestModel()).request(
            [ModelRequest.user_text_prompt("hello")], None, ModelRequestParameters()
        )

    # Outside a workflow a DBOS step is a plain call: the timing around it is keel's.
    with captured() as metric_lines:
        task_step()
        asyncio.run(tool_then_model())

    kind = constants.METRIC_KIND_DIMENSION
    assert [read for line in metric_lines for read in as_the_dashboard_reads(line)] == [
        (constants.STEP_DURATION, service, {kind: "task"}),
        (constants.STEP_DURATION, service, {kind: "tool"}),
        (constants.STEP_DURATION, service, {kind: "model"}),
    ]
