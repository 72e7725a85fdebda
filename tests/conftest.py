from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pytest_django.fixtures import Settings

from tests.processes import base_environment, run_keel, scratch_database

#: The longest files start first, so the parallel test processes (``make suite``) do not
#: all wait at the end on one of them. Items of a file stay together (a stable sort).
SLOWEST_FIRST = (
    "tests/reliability/test_database_outage.py",
    "tests/e2e/test_adopting.py",
    "tests/e2e/test_adopting_steps.py",
    "tests/test_readme.py",
    "tests/e2e/test_preflight.py",
    "tests/e2e/test_container_contract.py",
    "tests/e2e/test_tasks_durability.py",
    "tests/e2e/test_runs_durability.py",
    "tests/e2e/test_agent_providers.py",
    "tests/e2e/test_runs.py",
    "tests/e2e/test_console_browser.py",
    "tests/security/test_api_abuse.py",
    "tests/security/test_api_conformance.py",
    "tests/e2e/test_health.py",
    "tests/e2e/test_runs_deploy.py",
    "tests/e2e/test_runs_concurrency.py",
    "tests/cutover/test_cutover_cli.py",
    "tests/e2e/test_lambdas.py",
    "tests/e2e/test_lambdas_import.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        path = item.nodeid.split("::", 1)[0]
        return SLOWEST_FIRST.index(path) if path in SLOWEST_FIRST else len(SLOWEST_FIRST)

    items.sort(key=rank)


@pytest.fixture(scope="session")
def migrated_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Environment for keel processes sharing one migrated scratch database."""
    tmp_dir = tmp_path_factory.mktemp("db")
    with scratch_database(tmp_dir) as database:
        environment = base_environment(**database)
        result = run_keel(["migrate"], environment)
        assert result.returncode == 0, result.stdout + result.stderr
        yield environment


@pytest.fixture(autouse=True)
def loggers_left_enabled() -> Iterator[None]:
    """A test that reconfigures logging must not silence keel's loggers for the next.

    ``logging.config.dictConfig`` disables every existing logger unless told otherwise;
    CI once lost keel.metrics' lines in unrelated tests that way. Failing the test that
    did it names the cause instead of its victims.
    """
    yield
    disabled = [
        name
        for name, logger in logging.root.manager.loggerDict.items()
        if name.startswith("keel") and isinstance(logger, logging.Logger) and logger.disabled
    ]
    assert not disabled, f"this test left these loggers disabled: {sorted(disabled)}"


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


@pytest.fixture
def system_database_at(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> Callable[[int], None]:
    """Point this process's DBOS client and readiness probe at a port on loopback."""
    from keel.tasks import system_database

    monkeypatch.delenv("DBOS_SYSTEM_DATABASE_URL", raising=False)
    for cached in ("_engine", "_client", "_probe_engine"):
        monkeypatch.setattr(system_database, cached, None)

    def point(port: int) -> None:
        settings.KEEL_DBOS_SYSTEM_DATABASE_URL = (
            f"postgresql+psycopg://keel@127.0.0.1:{port}/keel_dbos_sys"
        )

    return point
