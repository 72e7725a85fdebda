"""docs/migration.md's commands, configuration and permissions match what keel reads.

The `keel cutover` commands it shows are parsed by keel's own parser; the routes it lists
are checked as the stack checks them; its IAM policy grants every call keel cutover
makes. (Its `aws` commands are checked against the AWS CLI's models, and its `pulumi
stack output` names against the program, in infra/tests/test_infra_deploy_docs.py.)
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import shlex
from pathlib import Path

import pytest
import yaml

from keel.infra.cutover_config import CutoverConfig
from keel.runtime.cli import build_parser

# Neither a database nor Django: CI runs it in its first phase only.
pytestmark = pytest.mark.once

REPO = Path(__file__).resolve().parents[2]
MIGRATION = (REPO / "docs" / "migration.md").read_text()
DEPLOY = (REPO / "docs" / "deploy.md").read_text()
CUTOVER = REPO / "src" / "keel" / "cutover"
#: The `keel lambdas` commands of steps 1-3.
LAMBDAS_COMMANDS = {
    "keel lambdas import template.yaml",
    "keel lambdas list",
    "keel lambdas invoke legacy-orders --event events/orders-list.json",
}


def keel_commands(text: str) -> list[str]:
    """Return every `keel ...` command in the text's sh blocks and inline code.

    Inline, a span names a command to run when it has arguments past the sub-command
    (`keel cutover retire` alone names the command) and is not printed output
    (`keel cutover step: ...`).
    """
    blocks = re.findall(r"^```sh\n(.*?)^```", text, re.MULTILINE | re.DOTALL)
    lines = [line.split(" #", 1)[0].strip() for block in blocks for line in block.splitlines()]
    inline = [
        span
        for span in re.findall(r"`((?:\.venv/bin/)?keel (?:cutover|lambdas) [^`]+)`", text)
        if len(span.split()) > 3 and ": " not in span
    ]
    found = [line for line in [*lines, *inline] if re.match(r"(\.venv/bin/)?keel ", line)]
    return [re.sub(r"^\.venv/bin/", "", re.sub(r"<[^>]+>", "placeholder", line)) for line in found]


def parses(command: str) -> bool:
    with contextlib.redirect_stderr(io.StringIO()):
        try:
            build_parser().parse_args(shlex.split(command)[1:])
        except SystemExit:
            return False
    return True


@pytest.mark.parametrize("text", [MIGRATION, DEPLOY], ids=["migration.md", "deploy.md"])
def test_every_keel_cutover_command_the_docs_show_parses(text: str):
    commands = [command for command in keel_commands(text) if command.startswith("keel cutover")]

    assert commands
    assert [command for command in commands if not parses(command)] == []


def test_the_migration_path_shows_every_cutover_command():
    commands = {
        shlex.split(command)[2] for command in keel_commands(MIGRATION) if "cutover" in command
    }

    assert commands == {"status", "step", "rollback", "retire"}
    assert "keel cutover step orders --stack dev --to 5 --bake 30m" in keel_commands(MIGRATION)


def test_the_keel_lambdas_commands_the_path_shows_parse():
    shown = {command for command in keel_commands(MIGRATION) if command.startswith("keel lambdas")}

    assert shown == LAMBDAS_COMMANDS
    assert [command for command in shown if not parses(command)] == []


def test_the_routes_the_doc_lists_are_a_valid_cutover_config():
    (block,) = [
        block
        for block in re.findall(r"^```yaml\n(.*?)^```", MIGRATION, re.MULTILINE | re.DOTALL)
        if "keel:cutover:" in block
    ]
    values = yaml.safe_load(block)["keel:cutover"]

    config = CutoverConfig.from_values(values)
    config.check("keel-dev")
    assert [(route.name, route.weighted) for route in config.routes] == [
        ("orders", True),
        ("invoices", False),
    ]


def actions_keel_cutover_calls() -> set[str]:
    """Every IAM action keel.cutover calls: ``aws.call("<client>", "<Operation>"``."""
    from keel.cutover.aws import action_name

    found = set()
    for path in CUTOVER.glob("*.py"):
        for service, operation in re.findall(r'"(\w+)",\s*"([A-Z]\w+)"', path.read_text()):
            if service in ("elbv2", "cloudwatch", "logs", "lambda", "sts"):
                found.add(action_name(service, operation))
    return found


def test_the_documented_policy_grants_every_call_keel_cutover_makes():
    (document,) = [
        block
        for block in re.findall(r"^```json\n(.*?)^```", MIGRATION, re.MULTILINE | re.DOTALL)
        if "keel:cutover-route" in block
    ]
    policy = json.loads(document.replace("<account>", "123456789012"))
    granted = {
        action
        for statement in policy["Statement"]
        for action in (
            [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        )
    }
    called = actions_keel_cutover_calls()

    assert len(called) >= 15  # the scan itself works
    assert sorted(called - granted) == []
    assert sorted(granted - called) == []
