"""A team's own Django project, made outside this repository, adopting keel by the book.

The helpers of tests/e2e/test_adopting.py and test_adopting_steps.py: keel's wheel, a
fresh virtual environment with keel installed from it (versions pinned to this
repository's lock), a project made with ``django-admin startproject`` plus a DRF app of
its own (tests/data/catalog), and docs/adopting.md's steps read from the page as written.
Nothing here reads from ``example/``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from tests.processes import REPO, base_environment, uv_command

ADOPTING = REPO / "docs" / "adopting.md"
CATALOG = REPO / "tests" / "data" / "catalog"
HOST = "shop.example.com"
FLAVOURS = {"lts": "django-lts", "latest": "django-latest"}


@dataclass(frozen=True)
class Step:
    number: int
    title: str
    #: (file the block goes into: "settings.py" or "urls.py", the code)
    code: tuple[tuple[str, str], ...]
    shell: tuple[str, ...]


def steps() -> list[Step]:
    """docs/adopting.md's numbered steps, with their code blocks as the page shows them."""
    section = ADOPTING.read_text().split("## The steps", 1)[1].split("\n## ", 1)[0]
    found = []
    for number, title, body in re.findall(
        r"^### (\d+)\. (.+?)\n(.*?)(?=^### |\Z)", section, re.M | re.S
    ):
        blocks = re.findall(r"```(\w+)(?: (\S+))?\n(.*?)```", body, re.S)
        found.append(
            Step(
                number=int(number),
                title=title,
                code=tuple((target, code) for kind, target, code in blocks if kind == "python"),
                shell=tuple(code for kind, _, code in blocks if kind == "sh"),
            )
        )
    return found


STEPS = steps()
#: The step whose command is ``keel migrate``.
MIGRATE_STEP = 12


def run(command: list[str], *, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300):  # type: ignore[no-untyped-def]
    result = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    return result


def build_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    result = run([*uv_command(), "build", "--wheel", "--out-dir", str(out), str(REPO)], cwd=REPO)
    assert result.returncode == 0, result.stderr
    [built] = out.glob("keel-*.whl")
    return built


@dataclass
class Environment:
    """A fresh virtual environment with keel installed from the wheel."""

    root: Path
    flavour: str

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    @property
    def keel(self) -> str:
        return str(self.bin / "keel")

    def versions(self) -> dict[str, str]:
        """The Django and DRF this environment imports, by distribution name."""
        result = run(
            [
                str(self.bin / "python"),
                "-c",
                "import django, rest_framework;"
                "print(django.get_version(), rest_framework.__version__)",
            ],
            cwd=self.root,
        )
        assert result.returncode == 0, result.stderr
        django, drf = result.stdout.split()
        return {"django": django, "djangorestframework": drf}


def requirements(specifiers: list[str]) -> dict[str, SpecifierSet]:
    return {(r := Requirement(line)).name: r.specifier for line in specifiers}


def supported() -> dict[str, SpecifierSet]:
    """The versions keel's own dependencies allow (pyproject.toml)."""
    return requirements(
        tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    )


def flavour_range(flavour: str) -> dict[str, SpecifierSet]:
    """The versions the lock group of ``flavour`` allows (pyproject.toml)."""
    groups = tomllib.loads((REPO / "pyproject.toml").read_text())["dependency-groups"]
    return requirements(groups[FLAVOURS[flavour]])


def make_environment(wheel: Path, directory: Path, flavour: str) -> Environment:
    # The interpreter this suite runs on (uv resolves a virtual environment's to its base).
    python = sys.executable
    venv = directory / f"venv-{flavour}"
    assert (
        run(
            [*uv_command(), "venv", "--quiet", "--python", python, str(venv)], cwd=directory
        ).returncode
        == 0
    )
    # The versions this repository's CI tested, for this Django, as pins.
    pins = run(
        [
            *uv_command(),
            "export",
            "--frozen",
            "--no-hashes",
            "--no-emit-project",
            "--no-default-groups",
            "--group",
            FLAVOURS[flavour],
        ],
        cwd=REPO,
    )
    assert pins.returncode == 0, pins.stderr
    constraints = directory / f"constraints-{flavour}.txt"
    constraints.write_text(pins.stdout)
    installed = run(
        [
            *uv_command(),
            "pip",
            "install",
            "--quiet",
            "--python",
            str(venv / "bin" / "python"),
            "--constraint",
            str(constraints),
            str(wheel),
            "django",
            "djangorestframework",
        ],
        cwd=directory,
    )
    assert installed.returncode == 0, installed.stderr
    return Environment(root=venv, flavour=flavour)


def make_project(environment: Environment, directory: Path) -> Path:
    """``django-admin startproject shop`` plus the team's own catalog app."""
    root = directory / "shop"
    root.mkdir()
    created = run(
        [str(environment.bin / "django-admin"), "startproject", "shop", str(root)], cwd=directory
    )
    assert created.returncode == 0, created.stderr
    shutil.copytree(CATALOG, root / "catalog", ignore=shutil.ignore_patterns("__pycache__"))
    settings = root / "shop" / "settings.py"
    text = settings.read_text() + '\nINSTALLED_APPS += ["catalog"]\n'
    if "MAILERS" in text:
        # Django 6.1's startproject sends mail to the console, which its deployment checks
        # refuse; the team's real project sends mail for real.
        text += (
            'MAILERS = {"default": {"BACKEND": "django.core.mail.backends.smtp.EmailBackend"}}\n'
        )
    settings.write_text(text)
    urls = root / "shop" / "urls.py"
    urls.write_text(
        urls.read_text().replace(
            "from django.urls import path", "from django.urls import include, path"
        )
        + '\nurlpatterns += [path("catalog/", include("catalog.urls"))]\n'
    )
    (root / "requirements.txt").write_text("keel[openai]\n")
    migrations = run(
        [environment.keel, "manage", "makemigrations", "catalog"],
        cwd=root,
        env=project_environment(root, DEBUG="true"),
    )
    assert migrations.returncode == 0, migrations.stdout + migrations.stderr
    return root


def adopt(root: Path, *, skip: int | None = None) -> None:
    """Append every code block of docs/adopting.md's steps, but for step ``skip``."""
    for step in STEPS:
        if step.number == skip:
            continue
        for target, code in step.code:
            path = root / "shop" / target
            path.write_text(path.read_text() + f"\n# docs/adopting.md, step {step.number}\n{code}")


def project_environment(root: Path, **overrides: str) -> dict[str, str]:
    """A production-like task environment for the adopted project (no repository paths)."""
    environment = base_environment(
        SQLITE_PATH=str(root / "var" / "db.sqlite3"),
        SECRET_KEY="adopted-project-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        ALLOWED_HOSTS=HOST,
        **overrides,
    )
    # keel reads the settings module from manage.py; the project imports from its own
    # directory; HTTPS settings keep their production defaults (preflight checks them).
    for name in ("DJANGO_SETTINGS_MODULE", "PYTHONPATH", "DATABASE_URL", "SECURE_SSL_REDIRECT"):
        if name not in overrides:
            environment.pop(name, None)
    (root / "var").mkdir(exist_ok=True)
    return environment


def shell_commands(number: int) -> list[str]:
    [step] = [step for step in STEPS if step.number == number]
    return [
        line.split("#")[0].strip()
        for block in step.shell
        for line in block.splitlines()
        if line.strip()
    ]
