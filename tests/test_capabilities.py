"""Tests that need more of the machine skip on a laptop and fail CI when it lacks it."""

from __future__ import annotations

import pytest

from tests.capabilities import needs


def test_a_missing_capability_skips_with_its_reason_outside_ci(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("KEEL_CI", raising=False)
    mark = needs(False, "tini")
    assert mark.args == (True,)
    assert mark.kwargs["reason"] == "needs tini (CI runs these)"


def test_a_missing_capability_fails_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEEL_CI", "1")
    with pytest.raises(pytest.fail.Exception, match=r"CI must run these tests.*lacks tini"):
        needs(False, "tini")


def test_a_present_capability_runs_everywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEEL_CI", "1")
    assert needs(True, "tini").args == (False,)
