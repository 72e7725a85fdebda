"""keel's packages depend on each other one way only (docs/adr/0005-layering.md).

Every ``import`` in ``src/keel``, at module level or inside a function, is read with
``ast`` and checked against the layer of the module that makes it. A change that brings
a cycle back, or lets a low layer reach up, fails here with the offending line.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parent.parent / "src"

#: From the bottom. A module may import its own layer's modules only where said below,
#: and any module of a lower layer.
LAYERS: tuple[tuple[str, ...], ...] = (
    # The foundation: configuration, runtime constants, database credentials and backend,
    # ECS metadata, error bodies, logs, metrics and request middleware. Depends on nothing
    # of keel above it.
    (
        "keel",
        "keel.conf",
        "keel.constants",
        "keel.credentials",
        "keel.db",
        "keel.ecs",
        "keel.errors",
        "keel.logs",
        "keel.metrics",
        "keel.middleware",
    ),
    ("keel.health", "keel.streaming"),
    # keel.tasks is the durable execution the apps above it build on.
    ("keel.tasks",),
    # The apps built on it: agent runs, the cutover, Lambda handlers run unchanged.
    ("keel.agents", "keel.cutover", "keel.lambdas"),
    # The composition root: starts the roles from what the apps provide; nothing imports it.
    ("keel.runtime",),
)
#: The Pulumi components stand apart: they share only the runtime constants.
INFRA = "keel.infra"
INFRA_MAY_IMPORT = ("keel.constants",)


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    line: int

    def __str__(self) -> str:
        return f"{self.importer} (line {self.line}) imports {self.imported}"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SOURCE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def keel_imports(path: Path) -> list[Import]:
    importer = module_name(path)
    package = importer if path.name == "__init__.py" else importer.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            # ``from keel import constants`` imports the module keel.constants.
            names = [f"{module}.{alias.name}" for alias in node.names] + [module]
        found += [
            Import(importer, name, node.lineno)
            for name in names
            if name == "keel" or name.startswith("keel.")
        ]
    return found


def unit_of(module: str) -> str:
    """The layer entry a module belongs to: its package, or itself for a foundation module."""
    for layer in LAYERS:
        for unit in sorted(layer, key=len, reverse=True):
            if unit != "keel" and (module == unit or module.startswith(unit + ".")):
                return unit
    if module == INFRA or module.startswith(INFRA + "."):
        return INFRA
    return "keel" if module == "keel" else module


def layer_of(unit: str) -> int | None:
    for index, layer in enumerate(LAYERS):
        if unit in layer:
            return index
    return None


def violation(edge: Import) -> str | None:
    source, target = unit_of(edge.importer), unit_of(edge.imported)
    if source == target or target == "keel":  # the top package's __init__ holds nothing
        return None
    if source == INFRA:
        return None if target in INFRA_MAY_IMPORT else "keel.infra imports only keel.constants"
    if target == INFRA:
        return "only the Pulumi program imports keel.infra"
    if target == "keel.runtime":
        return "nothing imports the composition root keel.runtime"
    source_layer, target_layer = layer_of(source), layer_of(target)
    if source_layer is None or target_layer is None:
        return f"{source if source_layer is None else target} is in no layer: add it to LAYERS"
    if target_layer > source_layer:
        return "a lower layer imports a higher one"
    if target_layer == source_layer and source_layer > 0:
        return "packages of one layer do not import each other"
    return None


def all_imports() -> list[Import]:
    return [edge for path in sorted(SOURCE.rglob("*.py")) for edge in keel_imports(path)]


def test_every_import_in_keel_follows_the_layering_rule() -> None:
    broken = [f"{edge}: {reason}" for edge in all_imports() if (reason := violation(edge))]
    assert broken == []


def test_the_walk_sees_function_level_imports() -> None:
    # The worker role imports the configuration inside functions too: the walk must see
    # those, or a lazy import could reach up unnoticed.
    edges = {(edge.importer, edge.imported) for edge in all_imports()}
    assert ("keel.runtime.cli", "keel.runtime.worker") in edges
    assert ("keel.tasks.apps", "keel.tasks.worker") in edges


@pytest.mark.parametrize(
    ("importer", "imported", "reason"),
    [
        ("keel.health.checks", "keel.agents.models", "a lower layer imports a higher one"),
        ("keel.constants", "keel.health", "a lower layer imports a higher one"),
        ("keel.tasks.worker", "keel.runtime.worker", "nothing imports the composition root"),
        ("keel.streaming.sse", "keel.health.liveness", "packages of one layer"),
        ("keel.infra.app", "keel.conf", "keel.infra imports only keel.constants"),
        ("keel.agents.services", "keel.infra.config", "only the Pulumi program"),
        ("keel.extras", "keel.constants", "keel.extras is in no layer"),
    ],
)
def test_each_kind_of_violation_is_caught(importer: str, imported: str, reason: str) -> None:
    found = violation(Import(importer, imported, 1))
    assert found is not None
    assert reason in found


def test_allowed_directions_pass() -> None:
    for importer, imported in [
        ("keel.agents.events", "keel.streaming"),
        ("keel.health.middleware", "keel.middleware"),
        ("keel.middleware", "keel.errors"),
        ("keel.runtime.web.asgi", "keel.health.liveness"),
        ("keel.infra.load_balancer", "keel.constants"),
    ]:
        assert violation(Import(importer, imported, 1)) is None
