"""docs/configuration.md stays true to the settings keel declares."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from keel.agents.conf import SETTINGS as AGENT_SETTINGS
from keel.conf import WORKER_PROCESSES_SETTING, Setting
from keel.credentials import ROTATED_SECRETS_SETTING
from keel.lambdas.conf import SETTINGS as LAMBDA_SETTINGS
from keel.metrics import INTERVAL_SETTING as METRICS_INTERVAL_SETTING
from keel.streaming.limits import PER_ADDRESS_SETTING, PER_USER_SETTING
from keel.streaming.sse import HEARTBEAT_SETTING
from keel.tasks.conf import SETTINGS as DURABLE_SETTINGS

CONFIGURATION = (Path(__file__).resolve().parent.parent / "docs" / "configuration.md").read_text()
DECLARED = {
    setting.variable: setting
    for setting in [*AGENT_SETTINGS.values(), *DURABLE_SETTINGS.values(), *LAMBDA_SETTINGS.values()]
}
for other_setting in (
    HEARTBEAT_SETTING,
    PER_USER_SETTING,
    PER_ADDRESS_SETTING,
    METRICS_INTERVAL_SETTING,
    ROTATED_SECRETS_SETTING,
    WORKER_PROCESSES_SETTING,
):
    DECLARED[other_setting.variable] = other_setting


def documented_default(variable: str) -> str:
    row = re.search(rf"^\| `{variable}`[^|]* \| ([^|]+) \|", CONFIGURATION, re.MULTILINE)
    assert row is not None, f"docs/configuration.md has no row for {variable}"
    return row.group(1).strip()


def shown(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()  # as the environment writes it
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@pytest.mark.parametrize("variable", sorted(DECLARED))
def test_every_setting_is_documented_with_its_default(variable: str) -> None:
    setting: Setting = DECLARED[variable]
    default = documented_default(variable)
    if setting.default in (None, []):
        assert default.startswith(("none", "derived")), default
    else:
        assert default.strip("`").startswith(shown(setting.default)), (default, setting.default)


ADR_0002 = (
    Path(__file__).resolve().parent.parent / "docs/adr/0002-durable-runs-dbos.md"
).read_text()
SOURCE = Path(__file__).resolve().parent.parent / "src" / "keel"


def dbos_internals() -> set[str]:
    """Every private DBOS name src/keel uses: ``from dbos._x import y`` and ``DBOS._y``."""
    found = set()
    for path in SOURCE.rglob("*.py"):
        text = path.read_text()
        for module, names in re.findall(r"from (dbos\._\w+) import ([\w, ]+)", text):
            found.update(name.strip() for name in names.split(","))
            found.add(module)
        found.update(re.findall(r"DBOS\.(_\w+)", text))
    return found


def test_adr_0002_lists_every_dbos_internal_keel_uses() -> None:
    internals = dbos_internals()
    assert "_recover_pending_workflows" in internals  # the scan itself works
    missing = sorted(name for name in internals if name not in ADR_0002)
    assert missing == []


REPO = Path(__file__).resolve().parent.parent
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
#: Names the docs use that are not Python objects: system check ids and logger names.
NOT_OBJECTS = re.compile(r"^keel\.([EW]\d{3}|worker)$")


def importable(dotted: str) -> bool:
    import importlib

    module, attributes = dotted, []
    while module:
        try:
            found: object = importlib.import_module(module)
        except ImportError:
            module, _, last = module.rpartition(".")
            attributes.insert(0, last)
            continue
        for attribute in attributes:
            if not hasattr(found, attribute):
                return False
            found = getattr(found, attribute)
        return True
    return False


def test_every_keel_name_the_docs_show_imports() -> None:
    shown = {
        name
        for path in DOCS
        for name in re.findall(r"\bkeel(?:\.[A-Za-z_]\w*)+", path.read_text())
        if not NOT_OBJECTS.match(name)
    }
    assert "keel.streaming.SSEResponse" in shown  # the scan itself works
    assert sorted(name for name in shown if not importable(name)) == []
