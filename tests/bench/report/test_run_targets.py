"""The agent-run targets: keel's own rows decide met or not met, anchors are shown beside."""

from typing import Any

from bench.report.run_targets import targets
from tests.bench.report.results import by_target, run_results


def rows_for(data: dict[str, Any]) -> dict[str, list[str]]:
    return by_target(targets(data))


def test_dispatch_met_only_when_both_databases_meet_their_p50():
    assert rows_for(run_results())["dispatch"][3] == "**met**"
    assert rows_for(run_results(keel_pg_p50=12.0))["dispatch"][3] == "**not met**"
    row = rows_for(run_results())["dispatch"]
    # Judged on keel's one-process rows.
    assert "keel (postgresql) p50 8.0 ms" in row[1]
    assert "keel (sqlite) p50 30.0 ms" in row[1]
    assert "celery (redis) 4.0 ms" in row[2]


def test_keel_tasks_are_listed_with_keel_and_the_verdict_stays_on_agent_runs():
    row = rows_for(run_results())["dispatch"]
    assert "keel.tasks (postgresql) p50 9.0 ms, p95 18.0 ms" in row[1]
    assert "keel.tasks (sqlite) p50 28.0 ms" in row[1]
    assert "keel.tasks" not in row[2]
    # The target is stated for agent runs: a slow keel.tasks row shows, not judges.
    assert rows_for(run_results(keel_tasks_pg_p50=30.0))["dispatch"][3] == "**met**"
    rate = rows_for(run_results())["throughput"]
    assert "keel.tasks (postgresql) 240/s" in rate[1]
    assert "keel.tasks (sqlite) 80/s" in rate[1]
    assert "keel.tasks" not in rate[2]


def test_dispatch_with_only_sqlite_measured_stays_pending_unless_sqlite_misses():
    data = run_results()
    data["dispatch"]["rows"] = [
        row for row in data["dispatch"]["rows"] if row["database"] != "postgresql"
    ]
    assert rows_for(data)["dispatch"][3] == "pending"
    data["dispatch"]["rows"][1]["latency"]["p50_ms"] = 150.0
    assert rows_for(data)["dispatch"][3] == "**not met**"


def test_throughput_is_one_two_process_task_against_celery_and_twice_raw_dbos():
    assert rows_for(run_results())["throughput"][3] == "**met**"
    # Above Celery's 600/s but below 2 x DBOS's 230/s: not met.
    assert rows_for(run_results(keel_task_rate=450.0))["throughput"][3] == "**not met**"
    # Above 2 x DBOS but below Celery: not met either.
    row = rows_for(run_results(keel_task_rate=590.0))["throughput"]
    assert row[3] == "**not met**"
    assert "keel, 2 processes (postgresql) 590/s" in row[1]
    assert "keel (postgresql) 250/s" in row[1]
    assert "keel (sqlite) 90/s" in row[1]
    assert "dbos (postgresql) 230/s" in row[2]


def test_throughput_pending_without_its_anchors():
    data = run_results()
    data["dispatch"]["rows"] = [row for row in data["dispatch"]["rows"] if row["system"] != "dbos"]
    assert rows_for(data)["throughput"][3] == "pending"


def test_idle_cpu_judged_on_every_keel_row_per_process():
    row = rows_for(run_results())["idle CPU"]
    assert row[3] == "**met**"
    assert "keel (sqlite) 0.40 %" in row[1]
    assert "celery (redis) 0.30 % (3 processes)" in row[2]
    assert rows_for(run_results(keel_idle=8.6))["idle CPU"][3] == "**not met**"
    assert rows_for({})["idle CPU"][3] == "pending"


def test_first_token_judged_on_postgresql_with_sqlite_beside():
    row = rows_for(run_results())["first token"]
    assert row[1].startswith("PostgreSQL: p50 40.0 ms")
    assert row[2].startswith("SQLite: p50 60.0 ms")
    assert row[3] == "**met**"
    data = run_results()
    data["stream_latency"]["rows"][2]["first_token"]["p50_ms"] = 60.0
    assert rows_for(data)["first token"][3] == "**not met**"


def test_streaming_needs_p95_too():
    row = rows_for(run_results())["streaming"]
    assert "PostgreSQL: p50 12.0 ms, p95 250.0 ms" in row[1]
    assert "demo ticker" in row[2]
    assert row[3] == "**not met**"


def test_streaming_without_postgresql_is_pending():
    data = run_results()
    data["stream_latency"]["rows"] = data["stream_latency"]["rows"][:2]
    assert rows_for(data)["streaming"][3] == "pending"
