"""The web targets: keel's default decides met or not met, the anchors are shown beside."""

from bench.report.targets import targets
from tests.bench.report.results import by_target, web_results


def test_health_target_met_with_anchor_failures_stated():
    row = by_target(targets(web_results()))["health under load"]
    assert "p99 12.5 ms" in row[1]
    assert "keel-wsgi: 20 of 20 checks failed" in row[2]
    assert row[3] == "**met**"


def test_api_target_not_met_when_below_gthread():
    row = by_target(targets(web_results()))["API"]
    assert "800 req/s" in row[1]
    assert "80 %" in row[1]
    assert "1,000 req/s" in row[2]
    assert row[3] == "**not met**"


def test_targets_without_measurements_are_pending_never_met():
    rows = by_target(targets(web_results()))
    assert rows["dispatch"][3] == "pending"
    assert rows["throughput"][3] == "pending"
    assert "celery (redis) 3.5 ms" in rows["dispatch"][2]


def test_cold_start_target_checks_time_and_memory():
    results = web_results()
    assert by_target(targets(results))["cold start"][3] == "**met**"
    results["cold_start"]["rows"][0]["worker_rss_mb"] = [150.0, 90.0]
    assert by_target(targets(results))["cold start"][3] == "**not met**"


def test_targets_keep_the_design_order_and_skip_benchmarks_not_run():
    order = list(by_target(targets(web_results())))
    assert order == [
        "health under load",
        "first token",
        "streaming",
        "dispatch",
        "throughput",
        "API",
        "cold start",
        "durability",
        "deploys",
    ]
    assert list(by_target(targets({}))) == [
        "first token",
        "streaming",
        "dispatch",
        "throughput",
        "durability",
        "deploys",
    ]
