"""The web targets: keel's default decides met or not met, the anchors are shown beside."""

from bench.report.targets import targets
from tests.bench.report.results import by_target, web_results


def test_health_target_met_with_anchor_failures_stated():
    row = by_target(targets(web_results()))["health under load"]
    assert "p99 12.5 ms" in row[1]
    assert "keel-wsgi: 20 of 20 checks failed" in row[2]
    assert row[3] == "**met**"


def test_flood_target_needs_every_stream_fast_checks_and_the_memory_bound():
    results = web_results()
    row = by_target(targets(results))["open streams"]
    assert "10,000 established in 9.5 s" in row[1]
    assert "35.5 KB per stream" in row[1]
    # 80 ms p99 and every stream established, but 35.5 KB > 32 KB a stream.
    assert row[3] == "**not met**"
    results["health_under_streams"]["rows"][-1]["kb_per_stream"] = 30.0
    assert by_target(targets(results))["open streams"][3] == "**met**"
    results["health_under_streams"]["rows"][-1]["streams_established"] = 9_999
    assert by_target(targets(results))["open streams"][3] == "**not met**"


def test_the_design_health_target_stays_at_a_thousand_streams():
    row = by_target(targets(web_results()))["health under load"]
    assert row[0].startswith("health under load: 1,000 open SSE streams")


def test_api_against_granian_on_the_same_endpoint():
    results = web_results()
    row = by_target(targets(results))["API (no streams)"]
    assert "1,200 req/s" in row[1]
    assert "granian-wsgi 1,100 req/s" in row[2]
    assert row[3] == "**met**"
    results["server_modes"]["rows"][1]["requests_per_second"] = 1300.0
    assert by_target(targets(results))["API (no streams)"][3] == "**not met**"


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
        "open streams",
        "first token",
        "streaming",
        "dispatch",
        "throughput",
        "idle CPU",
        "API (no streams)",
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
        "idle CPU",
        "durability",
        "deploys",
    ]
