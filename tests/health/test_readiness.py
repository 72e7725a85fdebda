"""The /readyz checks: each runs and is timed; one that cannot tell anything is skipped."""

from __future__ import annotations

import pytest

from keel.health import readiness


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Replace the registered checks with three that record being run."""
    monkeypatch.setattr(readiness, "_checks", {})
    monkeypatch.setattr(readiness, "_requires", {})
    ran: list[str] = []

    @readiness.register("database")
    def database() -> None:
        ran.append("database")
        raise OSError("connection refused")

    @readiness.register("migrations", requires="database")
    def migrations() -> None:
        ran.append("migrations")

    @readiness.register("dbos")
    def dbos() -> None:
        ran.append("dbos")

    return ran


def test_a_check_whose_requirement_failed_is_not_run(checks: list[str]) -> None:
    """Migrations cannot be read from a database that is down: no second wait for it."""
    results = {result.name: result for result in readiness.run_checks()}
    assert checks == ["database", "dbos"]
    assert results["database"].error == "OSError"
    assert results["migrations"].as_dict() == {
        "ok": False,
        "duration_ms": 0.0,
        "error": "not checked: database failed",
    }
    assert results["dbos"].ok


def test_a_check_whose_requirement_passed_runs(
    checks: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(readiness._checks, "database", lambda: checks.append("database"))
    assert all(result.ok for result in readiness.run_checks())
    assert checks == ["database", "migrations", "dbos"]
