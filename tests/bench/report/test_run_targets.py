"""The agent-run targets: keel's own rows decide met or not met, anchors are shown beside."""

from typing import Any

from bench.report.run_targets import targets
from tests.bench.report.results import by_target, run_results


def rows_for(data: dict[str, Any]) -> dict[str, list[str]]:
    return by_target(targets(data))


def test_dispatch_met_only_when_both_databases_meet_their_p50():
    assert rows_for(run_results())["dispatch"][3] == "**met**"
    assert rows_for(run_results(keel_pg_p50=55.0))["dispatch"][3] == "**not met**"
    row = rows_for(run_results())["dispatch"]
    assert "keel (postgresql) p50 40.0 ms" in row[1]
    assert "celery (redis) 4.0 ms" in row[2]


def test_dispatch_with_only_sqlite_measured_stays_pending_unless_sqlite_misses():
    data = run_results()
    data["dispatch"]["rows"] = [
        row for row in data["dispatch"]["rows"] if row["database"] != "postgresql"
    ]
    assert rows_for(data)["dispatch"][3] == "pending"
    data["dispatch"]["rows"][-1]["latency"]["p50_ms"] = 150.0
    assert rows_for(data)["dispatch"][3] == "**not met**"


def test_throughput_judged_on_postgresql_with_sqlite_shown():
    assert rows_for(run_results())["throughput"][3] == "**met**"
    row = rows_for(run_results(keel_pg_rate=72.0))["throughput"]
    assert row[3] == "**not met**"
    assert "keel (postgresql) 72/s" in row[1]
    assert "keel (sqlite) 90/s" in row[1]
    assert "dbos (postgresql) 230/s" in row[2]


def test_first_token_judged_on_postgresql_with_sqlite_beside():
    row = rows_for(run_results())["first token"]
    assert row[1].startswith("PostgreSQL: p50 120.0 ms")
    assert row[2].startswith("SQLite: p50 160.0 ms")
    assert row[3] == "**met**"


def test_streaming_needs_p95_too():
    row = rows_for(run_results())["streaming"]
    assert "PostgreSQL: p50 12.0 ms, p95 250.0 ms" in row[1]
    assert "demo ticker" in row[2]
    assert row[3] == "**not met**"


def test_streaming_without_postgresql_is_pending():
    data = run_results()
    data["stream_latency"]["rows"] = data["stream_latency"]["rows"][:2]
    assert rows_for(data)["streaming"][3] == "pending"
