"""docs/benchmarks.md is rendered from results: targets met, not met and pending."""

from typing import Any

from bench.report import render, targets


def health_row(server: str, streams: int, p99: float, failures: int) -> dict[str, Any]:
    return {
        "server": server,
        "streams_requested": streams,
        "streams_established": streams if failures == 0 else 16,
        "stream_events_per_s": 900.0,
        "worker_rss_mb": [80.0, 81.0],
        "healthz": {"count": 20, "p50_ms": p99 / 2, "p99_ms": p99, "failures": failures},
    }


def api_row(server: str, streams: int, rps: float, healthz_p99: float) -> dict[str, Any]:
    return {
        "server": server,
        "streams_requested": streams,
        "streams_established": streams,
        "requests_per_second": rps,
        "api_p99_ms": 40.0,
        "api_errors": 0,
        "repeats": [rps],
        "healthz": {"count": 30, "p50_ms": 10.0, "p99_ms": healthz_p99, "failures": 0},
    }


RESULTS: dict[str, Any] = {
    "meta": {
        "started_at": "2026-01-01T00:00:00+0000",
        "duration_s": 500.0,
        "command": "python -m bench",
        "machine": {"nproc": 2, "cpu_model": "Test CPU", "python": "3.13.0"},
    },
    "health_under_streams": {
        "stream_path": "/demo/stream/?count=1000&interval=1",
        "probe_timeout_s": 5.0,
        "probes_per_case": 20,
        "rows": [
            health_row("keel-asgi", 1000, 12.5, 0),
            health_row("keel-wsgi", 1000, 5000.0, 20),
            health_row("gunicorn-default", 1000, 5000.0, 20),
        ],
    },
    "api_under_streams": {
        "api_path": "/api/ping/",
        "stream_path": "/demo/stream/?count=1000&interval=1",
        "streams": 1000,
        "connections": 32,
        "keel_with_streams_vs_gthread_without": 0.8,
        "rows": [
            api_row("keel-asgi", 0, 1100.0, 30.0),
            api_row("keel-asgi", 1000, 800.0, 60.0),
            api_row("keel-wsgi", 0, 1000.0, 20.0),
        ],
    },
    "dispatch": {
        "latency_jobs": 15,
        "throughput_jobs": 300,
        "rows": [
            {
                "system": "celery",
                "database": "redis",
                "latency": {"p50_ms": 3.5, "p95_ms": 5.0},
                "runs_per_second": 600.0,
                "runs": 300,
                "completed": 300,
            },
            {"system": "keel", "database": "postgresql", "pending": "not landed"},
        ],
    },
    "cold_start": {
        "rows": [
            {
                "process": "keel web --server asgi",
                "starts": 5,
                "first_200_median_s": 1.2,
                "first_200_all_s": [1.2],
                "master_rss_mb": 30.0,
                "worker_rss_mb": [90.0, 91.0],
            }
        ]
    },
}


def by_target(rows: list[list[str]]) -> dict[str, list[str]]:
    return {row[0].split(":")[0]: row for row in rows}


def test_health_target_met_with_anchor_failures_stated():
    row = by_target(targets(RESULTS))["health under load"]
    assert "p99 12.5 ms" in row[1]
    assert "keel-wsgi: 20 of 20 checks failed" in row[2]
    assert row[3] == "**met**"


def test_api_target_not_met_when_below_gthread():
    row = by_target(targets(RESULTS))["API"]
    assert "800 req/s" in row[1]
    assert "80 %" in row[1]
    assert "1,000 req/s" in row[2]
    assert row[3] == "**not met**"


def test_targets_without_measurements_are_pending_never_met():
    rows = by_target(targets(RESULTS))
    assert rows["dispatch"][3] == "pending"
    assert rows["throughput"][3] == "pending"
    assert "celery (redis) 3.5 ms" in rows["dispatch"][2]


def test_cold_start_target_checks_time_and_memory():
    assert by_target(targets(RESULTS))["cold start"][3] == "**met**"
    heavy = {
        **RESULTS,
        "cold_start": {
            "rows": [{**RESULTS["cold_start"]["rows"][0], "worker_rss_mb": [150.0, 90.0]}]
        },
    }
    assert by_target(targets(heavy))["cold start"][3] == "**not met**"


def test_report_has_machine_commands_sections_and_plots():
    markdown = render(RESULTS, ["health_under_streams.png"])
    assert "| CPU model | Test CPU |" in markdown
    assert "make bench" in markdown
    assert "## 1. /healthz under open SSE streams" in markdown
    assert "| keel | postgresql | pending |" in markdown
    assert "(benchmarks/health_under_streams.png)" in markdown
