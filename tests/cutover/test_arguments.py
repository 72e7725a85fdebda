"""What keel cutover reads from its arguments and from CloudWatch's answers."""

from __future__ import annotations

import argparse
import datetime
import sys

import pytest

from keel.cutover.aws import Aws, CutoverError
from keel.cutover.cli import duration, percent
from keel.cutover.health import p95_of

# Neither a database nor Django: CI runs it in its first phase only.
pytestmark = pytest.mark.once


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90.0), ("90s", 90.0), ("1.5s", 1.5), ("250ms", 0.25), ("10m", 600.0), ("1h", 3600.0)],
)
def test_durations_read_seconds_minutes_and_hours(text: str, seconds: float):
    assert duration(text) == seconds


@pytest.mark.parametrize("text", ["", "ten minutes", "-5s", "5d", "1h30m"])
def test_a_bad_duration_is_refused_with_an_example(text: str):
    with pytest.raises(argparse.ArgumentTypeError, match="is not a duration like 30s, 10m or 1h"):
        duration(text)


@pytest.mark.parametrize("text", ["101", "-1", "5.5", "five"])
def test_a_weight_is_a_whole_percentage(text: str):
    with pytest.raises(argparse.ArgumentTypeError, match="not a whole percentage from 0 to 100"):
        percent(text)


def test_without_boto3_the_error_says_to_install_keels_dependencies(
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setitem(sys.modules, "boto3", None)  # as if it were not installed
    with pytest.raises(CutoverError, match="one of keel's own dependencies") as error:
        Aws()
    # boto3 is a core dependency: there is no extra to install it with.
    assert "keel[" not in str(error.value)


def test_p95_is_the_highest_of_the_windows_datapoints():
    """The shape GetMetricStatistics answers with ExtendedStatistics=["p95"] (its API
    reference, "Datapoint"); moto leaves ExtendedStatistics out, which reads as no data."""
    when = datetime.datetime(2026, 12, 1, tzinfo=datetime.UTC)
    datapoints = [
        {"Timestamp": when, "Unit": "Seconds", "ExtendedStatistics": {"p95": 0.21}},
        {"Timestamp": when, "Unit": "Seconds", "ExtendedStatistics": {"p95": 0.34}},
        {"Timestamp": when, "Unit": "Seconds"},
    ]

    assert p95_of(datapoints) == 0.34
    assert p95_of([{"Timestamp": when}]) is None
    assert p95_of([]) is None
