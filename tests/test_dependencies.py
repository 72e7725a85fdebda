"""Every library keel's code imports is one pyproject.toml declares, not one that happens
to arrive with another (botocore through boto3, SQLAlchemy through dbos): a dependency's
own requirements may change in any release, and keel's floors say what keel needs."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

from tests.processes import REPO


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared() -> set[str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        requirements += extra
    return {normalized(re.match(r"[A-Za-z0-9_.-]+", line)[0]) for line in requirements}  # type: ignore[index]


def imported_modules(package: Path) -> dict[str, Path]:
    """Each top-level module imported anywhere in ``package`` (functions included)."""
    found: dict[str, Path] = {}
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], path)
    return found


def test_every_library_keel_imports_is_declared() -> None:
    distributions = packages_distributions()
    wanted = declared()
    undeclared = {}
    for module, path in imported_modules(REPO / "src" / "keel").items():
        if module == "keel" or module in sys.stdlib_module_names or module == "__future__":
            continue
        owners = {normalized(name) for name in distributions.get(module, [])}
        assert owners, f"{module} (imported in {path.relative_to(REPO)}) is not installed"
        if not owners & wanted:
            undeclared[module] = sorted(owners)
    assert not undeclared, f"imported but not declared in pyproject.toml: {undeclared}"


def test_the_check_finds_an_import_left_to_another_library(tmp_path: Path) -> None:
    (tmp_path / "module.py").write_text("def f():\n    from botocore.auth import SigV4Auth\n")
    assert "botocore" in imported_modules(tmp_path)
    assert "botocore" in packages_distributions()
