"""The agent-run targets: keel's own rows decide met or not met, anchors are shown beside."""

from typing import Any

from bench.report import met, number, render
from bench.run_targets import targets


def dispatch_row(system: str, database: str, p50: float, rate: float) -> dict[str, Any]:
    return {
        "system": system,
        "database": database,
        "latency": {"p50_ms": p50, "p95_ms": p50 * 2},
        "runs_per_second": rate,
        "runs": 300,
        "completed": 300,
        "worker_rss_mb": 150.0,
    }


def stream_row(database: str, first_token: float, p50: float, p95: float) -> dict[str, Any]:
    events = {"count": 400, "p50_ms": p50, "p95_ms": p95, "p99_ms": p95, "max_ms": p95}
    return {
        "server": "keel-asgi",
        "database": database,
        "source": "run events",
        "first_token": {"count": 20, "p50_ms": first_token, "p95_ms": first_token * 1.5},
        "events": events,
        **events,
        "events_received": 410,
        "runs_followed": 12,
        "runs_succeeded": 12,
        "worker_rss_mb_after_runs": 170.0,
    }


def results(*, keel_pg_p50: float = 40.0, keel_pg_rate: float = 250.0) -> dict[str, Any]:
    return {
        "dispatch": {
            "latency_jobs": 15,
            "throughput_jobs": 300,
            "rows": [
                dispatch_row("celery", "redis", 4.0, 600.0),
                dispatch_row("dbos", "postgresql", 600.0, 230.0),
                dispatch_row("keel", "sqlite", 60.0, 90.0),
                dispatch_row("keel", "postgresql", keel_pg_p50, keel_pg_rate),
            ],
        },
        "stream_latency": {
            "interval_s": 0.1,
            "rows": [
                {
                    "server": "keel-asgi",
                    "source": "ticker",
                    "streams": 5,
                    "count": 50,
                    "p50_ms": 0.3,
                    "p95_ms": 0.5,
                },
                stream_row("sqlite", 160.0, 30.0, 60.0),
                stream_row("postgresql", 120.0, 12.0, 250.0),
            ],
        },
    }


def by_target(rows: list[list[str]]) -> dict[str, list[str]]:
    return {row[0].split(":")[0]: row for row in rows}


def rows_for(data: dict[str, Any]) -> dict[str, list[str]]:
    return by_target(targets(data, number, met))


def test_dispatch_met_only_when_both_databases_meet_their_p50():
    assert rows_for(results())["dispatch"][3] == "**met**"
    assert rows_for(results(keel_pg_p50=55.0))["dispatch"][3] == "**not met**"
    row = rows_for(results())["dispatch"]
    assert "keel (postgresql) p50 40.0 ms" in row[1]
    assert "celery (redis) 4.0 ms" in row[2]


def test_dispatch_with_only_sqlite_measured_stays_pending_unless_sqlite_misses():
    data = results()
    data["dispatch"]["rows"] = [
        row for row in data["dispatch"]["rows"] if row["database"] != "postgresql"
    ]
    assert rows_for(data)["dispatch"][3] == "pending"
    data["dispatch"]["rows"][-1]["latency"]["p50_ms"] = 150.0
    assert rows_for(data)["dispatch"][3] == "**not met**"


def test_throughput_judged_on_postgresql_with_sqlite_shown():
    assert rows_for(results())["throughput"][3] == "**met**"
    row = rows_for(results(keel_pg_rate=72.0))["throughput"]
    assert row[3] == "**not met**"
    assert "keel (postgresql) 72/s" in row[1]
    assert "keel (sqlite) 90/s" in row[1]
    assert "dbos (postgresql) 230/s" in row[2]


def test_first_token_judged_on_postgresql_with_sqlite_beside():
    row = rows_for(results())["first token"]
    assert row[1].startswith("PostgreSQL: p50 120.0 ms")
    assert row[2].startswith("SQLite: p50 160.0 ms")
    assert row[3] == "**met**"


def test_streaming_needs_p95_too():
    row = rows_for(results())["streaming"]
    assert "PostgreSQL: p50 12.0 ms, p95 250.0 ms" in row[1]
    assert "demo ticker" in row[2]
    assert row[3] == "**not met**"


def test_streaming_without_postgresql_is_pending():
    data = results()
    data["stream_latency"]["rows"] = data["stream_latency"]["rows"][:2]
    assert rows_for(data)["streaming"][3] == "pending"


def test_report_lists_keel_rows_in_dispatch_and_stream_sections():
    markdown = render(results(), [])
    assert "| keel | postgresql | 40.0 | 80.0 | 250 | 150.0 |" in markdown
    assert "| postgresql | 120.0 | 180.0 | 12.0 | 250.0 |" in markdown


def test_missed_run_targets_are_explained_under_the_table_and_met_ones_are_not():
    markdown = render(results(keel_pg_rate=72.0), [])
    assert "### Why throughput is not met" in markdown
    assert "### Why dispatch is not met" not in markdown
