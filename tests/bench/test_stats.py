"""The harness's summary maths: percentiles, medians and ratios."""

import pytest

from bench.stats import latency_summary, median, percentile, ratio
from bench.wrk import parse


def test_percentile_interpolates_between_ranks():
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert percentile([10.0, 0.0], 0.99) == pytest.approx(9.9)


def test_percentile_of_nothing_is_none_and_bad_fraction_is_refused():
    assert percentile([], 0.5) is None
    with pytest.raises(ValueError, match="between 0 and 1"):
        percentile([1.0], 1.5)


def test_median_skips_missing_values():
    assert median([None, 3.0, 1.0, None, 2.0]) == 2.0
    assert median([None]) is None


def test_latency_summary_reports_milliseconds():
    summary = latency_summary([0.001, 0.002, 0.003, 0.004, 0.100])
    assert summary["count"] == 5
    assert summary["p50_ms"] == 3.0
    assert summary["max_ms"] == 100.0
    assert latency_summary([])["p99_ms"] is None


def test_ratio_refuses_missing_or_zero_denominator():
    assert ratio(1500, 1000) == 1.5
    assert ratio(1500, 0) is None
    assert ratio(None, 1000) is None


WRK_OUTPUT = """Running 3s test @ http://127.0.0.1:8000/api/ping/
  1 threads and 32 connections
  Latency Distribution
     50%  812.00us
     75%    1.20ms
     90%    2.50ms
     99%    1.02s
  3210 requests in 3.01s, 1.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 3
  Non-2xx or 3xx responses: 7
Requests/sec:   1066.45
Transfer/sec:    340.00KB
"""


def test_wrk_summary_is_parsed_with_units():
    result = parse(WRK_OUTPUT)
    assert result.requests_per_second == 1066.45
    assert result.requests == 3210
    assert result.p50_ms == 0.812
    assert result.p99_ms == 1020.0
    assert result.errors == 5
    assert result.non_2xx == 7
