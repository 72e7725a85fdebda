"""Preflight's adoption findings: what the system checks of keel's apps cannot see."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_django.fixtures import Settings

from keel import ecs
from keel.runtime.preflight_project import (
    DEPLOYMENT_FILES,
    IMAGE_VARIABLE,
    SIMULATED_TASK_IP,
    apps_finding,
    database_finding,
    deployment_files_finding,
    simulate_task_metadata,
)
from tests.adopting import STEPS


def step(title: str) -> str:
    """How a fix names docs/adopting.md's step of this title, numbered as the page has it."""
    [number] = [found.number for found in STEPS if found.title.startswith(title)]
    return f"(docs/adopting.md, step {number})"


@pytest.fixture(autouse=True)
def fresh_metadata() -> Iterator[None]:
    ecs.task_metadata.cache_clear()
    yield
    ecs.task_metadata.cache_clear()


def test_off_ecs_the_settings_see_a_simulated_task() -> None:
    environ: dict[str, str] = {}
    assert simulate_task_metadata(environ)
    with pytest.MonkeyPatch.context() as patch:
        for name, value in environ.items():
            patch.setenv(name, value)
        assert ecs.task_allowed_hosts() == [SIMULATED_TASK_IP]


def test_on_ecs_nothing_is_simulated() -> None:
    environ = {ecs.METADATA_VARIABLE: "http://169.254.170.2/v4/real"}
    assert not simulate_task_metadata(environ)
    assert ecs.HANDED_DOWN_VARIABLE not in environ


def test_keels_apps_must_be_installed(settings: Settings) -> None:
    assert apps_finding().ok
    settings.INSTALLED_APPS = [app for app in settings.INSTALLED_APPS if app != "keel.streaming"]
    finding = apps_finding()
    assert not finding.ok
    assert 'Add "keel.streaming" to INSTALLED_APPS' in finding.fix
    assert step("Install keel's apps") in finding.fix


def test_settings_that_ignore_the_database_variables_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    from django.conf import settings

    # The check only reads the setting; patch the dict itself (Django warns when the
    # DATABASES setting is overridden).
    monkeypatch.setitem(settings.DATABASES["default"], "HOST", "old-db.internal")
    finding = database_finding({"DATABASE_HOST": "keel-dev-db.rds.amazonaws.com"})
    assert not finding.ok
    assert "keel.conf.database_config" in finding.fix
    assert step("Read the database from the environment") in finding.fix
    assert database_finding({"DATABASE_HOST": "old-db.internal"}).ok
    assert database_finding({}).ok


def project(directory: Path, *files: str) -> Path:
    (directory / "manage.py").write_text("")
    for name in files:
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_text("")
    return directory


def test_a_checkout_without_the_deployment_files_names_keel_init(tmp_path: Path) -> None:
    finding = deployment_files_finding(project(tmp_path, "Dockerfile"), environ={})
    assert finding is not None
    assert not finding.ok
    assert finding.detail == "missing: .dockerignore, infra/Pulumi.yaml"
    assert "keel init" in finding.fix
    assert step("Write the deployment files") in finding.fix


def test_a_checkout_with_the_deployment_files_passes(tmp_path: Path) -> None:
    finding = deployment_files_finding(project(tmp_path, *DEPLOYMENT_FILES), environ={})
    assert finding is not None
    assert finding.ok


def test_the_image_and_a_directory_without_manage_py_are_not_checked(tmp_path: Path) -> None:
    assert deployment_files_finding(project(tmp_path), environ={IMAGE_VARIABLE: "1"}) is None
    assert deployment_files_finding(tmp_path / "elsewhere", environ={}) is None
