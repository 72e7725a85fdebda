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
