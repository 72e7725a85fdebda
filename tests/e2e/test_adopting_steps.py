"""Skipping any one of docs/adopting.md's steps fails with a message that names it.

One environment and one project (tests/adopting.py), copied for each case, with every
step applied but one. A step whose check is a system check is run with ``keel manage
check --deploy``, as a developer would; the rest with ``keel preflight``, which checks what
system checks cannot (an app whose checks never load, the task's database variables,
the task IPs off ECS, unapplied migrations).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.adopting import (
    MIGRATE_STEP,
    STEPS,
    adopt,
    build_wheel,
    make_environment,
    make_project,
    project_environment,
    run,
)

# Builds its own environments and databases: the same in every CI phase.
pytestmark = [pytest.mark.e2e, pytest.mark.once]

#: ``keel init``, which writes the deployment files (a shell step, no code to leave out).
INIT_STEP = 11
#: For each settings step, what its failure says, and what catches it. Steps 1 (install),
#: 13 (preflight) and 14 (run) are the checks and the running themselves.
SYSTEM_CHECK = "keel manage check --deploy"
PREFLIGHT = "keel preflight"
SKIPPED_STEP_FAILURES = {
    2: (PREFLIGHT, "FAIL  keel's apps installed"),
    3: (SYSTEM_CHECK, "keel.E001"),
    4: (PREFLIGHT, "FAIL  check --deploy keel.E003"),
    5: (PREFLIGHT, "FAIL  settings use the task's database variables"),
    6: (SYSTEM_CHECK, "security.W018"),
    7: (SYSTEM_CHECK, "keel.E005"),
    8: (SYSTEM_CHECK, "keel.W006"),
    9: (SYSTEM_CHECK, "keel.E004"),
    10: (SYSTEM_CHECK, "keel.W012"),
    INIT_STEP: (PREFLIGHT, "FAIL  deployment files"),
    MIGRATE_STEP: (PREFLIGHT, "FAIL  readiness: migrations"),
}


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One environment and one project not yet adopted, copied by each case."""
    directory = tmp_path_factory.mktemp("skip-base")
    environment = make_environment(build_wheel(tmp_path_factory), directory, "latest")
    return {"keel": Path(environment.keel), "project": make_project(environment, directory)}


def test_every_step_that_changes_the_project_is_checked() -> None:
    changing = [step.number for step in STEPS if step.code]
    assert sorted(SKIPPED_STEP_FAILURES) == sorted([*changing, INIT_STEP, MIGRATE_STEP])


@pytest.mark.parametrize("skipped", sorted(SKIPPED_STEP_FAILURES))
def test_skipping_a_step_fails_with_a_message_that_names_it(
    skipped: int, shared: dict[str, Path], tmp_path: Path
) -> None:
    root = tmp_path / "shop"
    shutil.copytree(shared["project"], root, ignore=shutil.ignore_patterns("__pycache__", "var"))
    keel = str(shared["keel"])
    adopt(root, skip=None if skipped in (INIT_STEP, MIGRATE_STEP) else skipped)
    # A task gets DATABASE_URL or DATABASE_HOST from the stack; here, a file of its own.
    env = project_environment(root, DATABASE_URL=f"sqlite:///{root / 'var' / 'task.sqlite3'}")
    env.pop("SQLITE_PATH")
    tool, expected = SKIPPED_STEP_FAILURES[skipped]
    if tool == SYSTEM_CHECK:
        result = run(
            [keel, "manage", "check", "--deploy", "--fail-level", "WARNING"], cwd=root, env=env
        )
    else:
        if skipped != INIT_STEP:
            init = run([keel, "init"], cwd=root, env=env)
            assert init.returncode == 0, init.stdout + init.stderr
        if skipped != MIGRATE_STEP:
            run([keel, "migrate"], cwd=root, env=env)
        result = run([keel, "preflight", "--interval", "0.2"], cwd=root, env=env)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert expected in output, output


def test_with_every_step_nothing_fails(shared: dict[str, Path], tmp_path: Path) -> None:
    # The cases above fail for their one skipped step, not for something else.
    root = tmp_path / "shop"
    shutil.copytree(shared["project"], root, ignore=shutil.ignore_patterns("__pycache__", "var"))
    adopt(root)
    env = project_environment(root, DATABASE_URL=f"sqlite:///{root / 'var' / 'task.sqlite3'}")
    env.pop("SQLITE_PATH")
    result = run(
        [str(shared["keel"]), "manage", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=root,
        env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
