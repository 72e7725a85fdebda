"""The Pulumi runtime can load the program and the policy pack from the environment
``make setup`` builds.

Pulumi's Python language host resolves the project's ``toolchain`` option as
``sdk/python/toolchain`` does (pulumi/pulumi at 1b5949891b3c, cited in
docs/adr/0006-first-deploy.md): with ``pip`` it lists the installed packages, to find
the plugins the program needs, with ``python -m pip list --format json`` run by the
venv's interpreter (``pip.go``, ``ListPackages``); with ``uv`` it reads them from the
nearest ``uv.lock`` above the project (``uv.go``, ``ListPackages``) and runs ``uv sync
--inexact`` into the venv (``uv.go``, ``Command``). A relative ``virtualenv`` is taken
relative to the project file's directory (``toolchain.go``, ``ResolveToolchain``).
"""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml
from keel_infra_mocks import INFRA

REPOSITORY = INFRA.parent
PROJECT_FILES = (INFRA / "Pulumi.yaml", INFRA / "policy" / "PulumiPolicy.yaml")
#: The plugins the program and the pack load; the language host must find each package.
PLUGIN_PACKAGES = ("pulumi", "pulumi-aws", "pulumi-command", "pulumi-policy")


def make_setup_environment() -> tuple[str, Path]:
    """Return the tool ``make setup`` builds the environment with, and where it puts it."""
    makefile = (REPOSITORY / "Makefile").read_text()
    venv = re.search(r"^VENV := (\S+)$", makefile, re.MULTILINE)
    sync = re.search(r"^SYNC := (.+)$", makefile, re.MULTILINE)
    recipe = re.search(r"^setup:\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert venv, "Makefile: VENV moved"
    assert sync, "Makefile: SYNC moved"
    assert recipe, "Makefile: the setup recipe moved"
    assert "$(UV) $(SYNC)" in recipe.group(1), "make setup no longer syncs with uv"
    assert sync.group(1).startswith("sync "), "SYNC is no longer a `uv sync`"
    return "uv", (REPOSITORY / venv.group(1)).resolve()


def has_pip(venv: Path) -> bool:
    result = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "--version"],
        capture_output=True,
        timeout=60,
        check=False,
    )
    return result.returncode == 0


def search_up(start: Path, name: str) -> Path | None:
    for directory in (start, *start.parents):
        if (directory / name).exists():
            return directory / name
    return None


def toolchain_problems(options: dict, project_dir: Path) -> list[str]:
    """Return why Pulumi's language host could not run a program with these options here."""
    toolchain = options.get("toolchain", "pip")
    virtualenv = (project_dir / options.get("virtualenv", "venv")).resolve()
    tool, built = make_setup_environment()
    problems = []
    if virtualenv != built:
        problems.append(f"virtualenv {virtualenv} is not the one make setup builds ({built})")
    if toolchain == "pip" and not has_pip(virtualenv):
        problems.append(
            f"toolchain pip lists plugins with `python -m pip list`, and {virtualenv} has no pip"
        )
    if toolchain == "uv":
        lock = search_up(project_dir, "uv.lock")
        if lock is None:
            problems.append("toolchain uv reads the plugins from uv.lock; none above the project")
        else:
            locked = {package["name"] for package in tomllib.loads(lock.read_text())["package"]}
            problems += [
                f"{lock} does not lock {name}" for name in PLUGIN_PACKAGES if name not in locked
            ]
    if toolchain not in ("pip", "uv", "poetry"):
        problems.append(f"unsupported toolchain {toolchain!r}")
    elif toolchain != tool and not problems:
        problems.append(f"toolchain {toolchain} but make setup builds the environment with {tool}")
    return problems


@pytest.mark.parametrize("project_file", PROJECT_FILES, ids=lambda path: path.name)
def test_project_toolchain_matches_how_make_setup_builds_the_environment(project_file: Path):
    runtime = yaml.safe_load(project_file.read_text())["runtime"]

    assert runtime["name"] == "python"
    assert runtime["options"]["toolchain"] == "uv"
    assert toolchain_problems(runtime["options"], project_file.parent) == []


@pytest.mark.parametrize("project_file", PROJECT_FILES, ids=lambda path: path.name)
def test_the_pip_toolchain_cannot_list_plugins_in_the_pip_less_venv(project_file: Path):
    options = dict(yaml.safe_load(project_file.read_text())["runtime"]["options"])
    options["toolchain"] = "pip"

    assert not has_pip(make_setup_environment()[1])
    assert any(
        "has no pip" in problem for problem in toolchain_problems(options, project_file.parent)
    )
