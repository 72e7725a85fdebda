"""docs/configuration.md stays true to the settings keel declares."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from keel.agents.conf import SETTINGS as AGENT_SETTINGS
from keel.conf import Setting
from keel.streaming.sse import HEARTBEAT_SETTING

CONFIGURATION = (Path(__file__).resolve().parent.parent / "docs" / "configuration.md").read_text()
DECLARED = {**{setting.variable: setting for setting in AGENT_SETTINGS.values()}}
DECLARED[HEARTBEAT_SETTING.variable] = HEARTBEAT_SETTING


def documented_default(variable: str) -> str:
    row = re.search(rf"^\| `{variable}` \| ([^|]+) \|", CONFIGURATION, re.MULTILINE)
    assert row is not None, f"docs/configuration.md has no row for {variable}"
    return row.group(1).strip()


def shown(value: object) -> str:
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
