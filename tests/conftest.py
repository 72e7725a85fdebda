from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.processes import base_environment, run_keel, scratch_database


@pytest.fixture(scope="session")
def migrated_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Environment for keel processes sharing one migrated scratch database."""
    tmp_dir = tmp_path_factory.mktemp("db")
    with scratch_database(tmp_dir) as database:
        environment = base_environment(**database)
        result = run_keel(["migrate"], environment)
        assert result.returncode == 0, result.stdout + result.stderr
        yield environment


@pytest.fixture(scope="session", autouse=True)
def collected_static() -> None:
    """Collect static files once, as ``make setup`` and the image build do.

    WhiteNoise warns (an error here) when STATIC_ROOT does not exist.
    """
    if (Path(__file__).resolve().parent.parent / "staticfiles" / "staticfiles.json").exists():
        return
    result = run_keel(
        ["manage", "collectstatic", "--noinput", "--verbosity", "0"], base_environment()
    )
    assert result.returncode == 0, result.stdout + result.stderr
