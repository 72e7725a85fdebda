"""What some tests need from the machine, and what happens where it lacks it.

On a developer's laptop a test that needs root, tini or PostgreSQL's server binaries is
skipped, with the reason in pytest's summary. In CI (``KEEL_CI=1``, set by ``.ci/run``)
the same absence fails the run: CI is where these contracts are proven, so it must
never skip them quietly.
"""

from __future__ import annotations

import os

import pytest


def needs(available: bool, what: str) -> pytest.MarkDecorator:
    """Mark tests that need ``what``: skipped where it is missing, an error in CI."""
    if not available and os.environ.get("KEEL_CI") == "1":
        pytest.fail(f"CI must run these tests, but this machine lacks {what}", pytrace=False)
    return pytest.mark.skipif(not available, reason=f"needs {what} (CI runs these)")
