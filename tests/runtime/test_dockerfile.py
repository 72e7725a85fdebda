"""The Dockerfile's runtime contract matches what the tests run and what ECS relies on.

No Docker engine runs where the suite runs, so the image is never built here. Instead
``tests/e2e/test_container_contract.py`` replays the build stage's RUN steps and starts
each role with the final stage's ENTRYPOINT, CMD and ENV. This module parses the
Dockerfile both use and pins the parts of it that ECS and the tests depend on, so a
change to one without the other fails here. The Dockerfiles ``keel init`` writes into a
project (pip and uv) are rendered and held to the same design and the same linter.
"""

from __future__ import annotations

import io
import json
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.core.management import call_command

from keel import constants
from keel.infra.config import DatabaseConfig
from keel.infra.containers import WRITABLE_PATHS
from keel.runtime.cli import build_parser
from keel.runtime.init import run_init
from keel.runtime.preflight_project import IMAGE_VARIABLE

DOCKERFILE = Path(__file__).resolve().parents[2] / "Dockerfile"

#: Inits that run as PID 1 and forward SIGTERM to their child: ``tini -- keel ...``.
SIGNAL_FORWARDING_INITS = {"tini", "/usr/bin/tini", "dumb-init", "/usr/bin/dumb-init"}
#: The roles the image exists to run (docs/deploy.md).
ROLES = {"web", "worker", "migrate", "preflight"}


@dataclass
class Stage:
    """One FROM ... stage: its name and its instructions in order."""

    name: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [argument for name, argument in self.instructions if name == keyword]

    def last(self, keyword: str) -> str:
        found = self.all(keyword)
        assert found, f"stage {self.name!r} has no {keyword}"
        return found[-1]

    def environment(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """Return the stage's ENV values, expanding ``$NAME`` against earlier values."""
        environment = dict(base or {})
        for argument in self.all("ENV"):
            for pair in shlex.split(argument):
                name, _, value = pair.partition("=")
                for known, known_value in environment.items():
                    value = value.replace(f"${known}", known_value)
                environment[name] = value
        return environment

    def exec_form(self, keyword: str) -> list[str]:
        argument = self.last(keyword)
        value = json.loads(argument)
        assert isinstance(value, list), f"{keyword} must be exec form (a JSON array)"
        return [str(item) for item in value]


def parse_dockerfile(path: Path = DOCKERFILE) -> list[Stage]:
    """Split a Dockerfile into stages of (INSTRUCTION, argument) pairs."""
    logical: list[str] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        logical.append(pending + line)
        pending = ""
    stages: list[Stage] = []
    for line in logical:
        keyword, _, argument = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            words = argument.split()
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else str(len(stages))
            stages.append(Stage(name=name))
        elif stages:
            stages[-1].instructions.append((keyword, argument.strip()))
    return stages


def stage(name: str) -> Stage:
    for candidate in parse_dockerfile():
        if candidate.name == name:
            return candidate
    raise AssertionError(f"the Dockerfile has no stage named {name!r}")


def final_stage() -> Stage:
    return parse_dockerfile()[-1]


def role_command(role_arguments: list[str] | None = None) -> list[str]:
    """Return the argv the image runs: ENTRYPOINT + (the given role, or CMD)."""
    runtime = final_stage()
    return runtime.exec_form("ENTRYPOINT") + (role_arguments or runtime.exec_form("CMD"))


def keel_arguments(command: list[str]) -> list[str]:
    """Drop the init (``tini --``) and the ``keel`` program name from an image argv."""
    start = command.index("keel")
    return command[start + 1 :]


def test_entrypoint_is_a_signal_forwarding_init_running_keel_in_exec_form() -> None:
    entrypoint = final_stage().exec_form("ENTRYPOINT")
    assert entrypoint[0] in SIGNAL_FORWARDING_INITS
    # "--" ends the init's own options, so role arguments are never read as the init's.
    assert entrypoint[1:] == ["--", "keel"]


def test_default_command_is_the_web_role_and_every_role_parses() -> None:
    assert final_stage().exec_form("CMD") == ["web"]
    parser = build_parser()
    for role in ROLES:
        assert parser.parse_args(keel_arguments(role_command([role]))).role == role


def test_final_stage_runs_as_a_numeric_non_root_user() -> None:
    user, _, group = final_stage().last("USER").partition(":")
    assert user.isdigit()
    assert group.isdigit()
    assert int(user) != 0
    assert int(group) != 0


def test_exposed_port_is_the_port_the_target_group_forwards_to() -> None:
    assert final_stage().all("EXPOSE") == [str(constants.PORT)]
    assert final_stage().environment()["PORT"] == str(constants.PORT)


def test_runtime_environment_puts_the_venv_first_and_suits_a_read_only_filesystem() -> None:
    environment = final_stage().environment({"PATH": "/usr/local/bin:/usr/bin:/bin"})
    assert environment["PATH"].startswith("/app/.venv/bin:")
    assert environment["PYTHONUNBUFFERED"] == "1"
    assert environment["PYTHONDONTWRITEBYTECODE"] == "1"
    assert environment["DJANGO_SETTINGS_MODULE"] == "example.settings"
    # keel preflight does not look for the deployment files .dockerignore leaves out.
    assert environment[IMAGE_VARIABLE] == "1"
    # The static files the build collected are where the settings look for them.
    assert environment["STATIC_ROOT"] == stage("build").environment()["STATIC_ROOT"]


def test_build_stage_installs_the_locked_runtime_dependencies_only() -> None:
    runs = " ".join(stage("build").all("RUN"))
    assert "uv sync --locked --no-dev --no-editable" in runs
    assert "collectstatic --noinput" in runs
    assert stage("build").environment()["UV_COMPILE_BYTECODE"] == "1"


def test_final_stage_is_slim_python_without_compilers() -> None:
    froms = [
        line.split()[1]
        for line in DOCKERFILE.read_text().splitlines()
        if line.upper().startswith("FROM ")
    ]
    assert froms == ["${PYTHON_IMAGE}", "${PYTHON_IMAGE}"]
    assert "ARG PYTHON_IMAGE=python:3.13-slim" in DOCKERFILE.read_text()
    installs = " ".join(final_stage().all("RUN"))
    for compiler in ("gcc", "build-essential", "g++", "clang", "make "):
        assert compiler not in installs
    copied = final_stage().all("COPY")
    assert all("--from=build" in argument for argument in copied)
    assert {argument.split()[-1] for argument in copied} == {
        "/app/.venv",
        "/app/staticfiles",
        "/app/manage.py",
        "/app/example",
    }


def test_dockerignore_keeps_the_venv_git_databases_and_env_files_out() -> None:
    ignored = {
        line.strip()
        for line in (DOCKERFILE.parent / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".venv", ".git", "var", "*.sqlite3", ".env", ".env.*", "staticfiles"} <= ignored


def hadolint(dockerfile: Path) -> subprocess.CompletedProcess[str]:
    """Lint with the hadolint the dev dependencies install beside this interpreter."""
    hadolint = Path(sys.executable).parent / "hadolint"
    return subprocess.run(
        [str(hadolint), str(dockerfile)], capture_output=True, text=True, timeout=60, check=False
    )


def test_hadolint_finds_nothing() -> None:
    result = hadolint(DOCKERFILE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_declares_a_volume_for_every_path_the_tasks_may_write() -> None:
    """ECS mounts a task volume on each; only a declared VOLUME starts with /tmp's 1777."""
    declared = [path for argument in final_stage().all("VOLUME") for path in json.loads(argument)]
    assert sorted(declared) == sorted(WRITABLE_PATHS)


def test_the_image_has_the_postgresql_client_of_the_stacks_database() -> None:
    """pg_dump refuses to dump a server newer than itself: the client matches the engine."""
    installs = " ".join(final_stage().all("RUN"))
    major = DatabaseConfig().engine_version
    assert f"'postgresql-client-{major}={major}.*'" in installs
    # Bookworm ships 15; the project's repository is set up from bookworm's own package.
    assert "pgdg/apt.postgresql.org.sh -y" in installs
    assert installs.index("apt.postgresql.org.sh") < installs.index("postgresql-client-")


def test_the_dockerfiles_keel_init_writes_mark_the_image_too() -> None:
    templates = Path(__file__).parents[2] / "src" / "keel" / "runtime" / "init" / "templates"
    for name in ("Dockerfile.uv", "Dockerfile.pip"):
        final = parse_dockerfile(templates / name)[-1]
        assert final.environment()[IMAGE_VARIABLE] == "1", name


#: The files that make ``keel init`` pick each Dockerfile variant (init/project.py).
DEPENDENCY_FILES = {
    "pip": {"requirements.txt": "keel[openai]\n"},
    "uv": {
        "pyproject.toml": '[project]\nname = "shop"\nversion = "1"\n',
        "uv.lock": "version = 1\n",
    },
}


@pytest.fixture(params=sorted(DEPENDENCY_FILES))
def generated(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """The Dockerfile ``keel init`` writes for a startproject project (pip or uv)."""
    root = tmp_path / "shop"
    root.mkdir()
    call_command("startproject", "shop", str(root))
    for name, text in DEPENDENCY_FILES[request.param].items():
        (root / name).write_text(text)
    assert run_init(root, out=io.StringIO()) == 0
    return root / "Dockerfile"


def test_the_dockerfile_keel_init_writes_passes_hadolint(generated: Path) -> None:
    result = hadolint(generated)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_dockerfile_keel_init_writes_has_the_design_of_keels_own(generated: Path) -> None:
    stages = parse_dockerfile(generated)
    assert [stage.name for stage in stages] == ["build", "runtime"]
    build, runtime = stages
    # Only what the build stage made reaches the image, so no compiler or cache does.
    assert runtime.all("COPY") == ["--from=build --chown=root:root /app /app"]
    # Numeric and not root, as keel's own image (ECS checks it without /etc/passwd).
    assert runtime.last("USER") == final_stage().last("USER") == "10001:10001"
    assert runtime.exec_form("ENTRYPOINT") == ["tini", "--", "keel"]
    assert "apt-get install --yes --no-install-recommends tini=" in " ".join(runtime.all("RUN"))
    assert runtime.exec_form("CMD") == ["web"]
    assert runtime.environment()["DJANGO_SETTINGS_MODULE"] == "shop.settings"
    installs = " ".join(build.all("RUN"))
    if (generated.parent / "uv.lock").exists():
        assert "uv sync --locked --no-dev" in installs
    else:
        assert "pip install --no-compile --requirement requirements.txt" in installs
