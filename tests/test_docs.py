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
