"""docs/lambdas.md as written: its steps' blocks do what they say, its commands parse.

The steps are read the way tests/adopting.py reads docs/adopting.md's. Each settings
block is run and its ``KEEL_LAMBDAS`` read by the registry (with the doc's handler paths,
which name a team's modules, accepted as paths); each trigger shown is a valid trigger;
each ``keel`` command parses with keel's own parser, and the e2e tests run them
(tests/e2e/test_lambdas.py, tests/e2e/test_lambdas_import.py).
"""

from __future__ import annotations

import ast
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.urls import include, path

from keel.lambdas import registry
from keel.lambdas.conf import invoke_credentials
from keel.lambdas.triggers import trigger_of
from keel.runtime.cli import build_parser

DOC = (Path(__file__).resolve().parents[2] / "docs" / "lambdas.md").read_text()
STEPS = dict(
    (int(number), body)
    for number, _, body in re.findall(
        r"^### (\d+)\. (.+?)\n(.*?)(?=^### |^## |\Z)",
        DOC.split("## The steps", 1)[1].split("\n## ", 1)[0],
        re.M | re.S,
    )
)


def blocks(text: str, kind: str) -> list[str]:
    return [
        code
        for found_kind, code in re.findall(r"```(\w+)[^\n]*\n(.*?)```", text, re.S)
        if found_kind == kind
    ]


def test_the_steps_are_numbered_one_to_seven() -> None:
    assert sorted(STEPS) == list(range(1, 8))


def test_step_1_installs_the_app_and_step_2_includes_its_urls() -> None:
    namespace: dict[str, Any] = {"INSTALLED_APPS": ["keel.tasks"]}
    exec(blocks(STEPS[1], "python")[0], namespace)  # noqa: S102  (the doc's own block)
    assert namespace["INSTALLED_APPS"][-1] == "keel.lambdas"
    urls: dict[str, Any] = {"urlpatterns": [], "path": path, "include": include}
    exec(blocks(STEPS[2], "python")[0], urls)  # noqa: S102
    (pattern,) = urls["urlpatterns"]
    assert pattern.urlconf_name.__name__ == "keel.lambdas.urls"


def test_step_3s_functions_are_read_by_the_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    namespace: dict[str, Any] = {}
    exec(blocks(STEPS[3], "python")[0], namespace)  # noqa: S102
    monkeypatch.setattr(registry, "handler_of", lambda handler_path: lambda event, context: None)
    functions = registry.load(namespace["KEEL_LAMBDAS"])
    assert sorted(functions) == ["fulfilment", "nightly-report", "orders-api"]
    assert functions["fulfilment"].queue_triggers[0].report_batch_item_failures


def test_every_trigger_the_doc_shows_is_valid() -> None:
    shown = []
    for code in blocks(DOC, "python"):
        text = code.strip()
        if not text.startswith("{") or '"type": ' not in text:
            continue
        try:
            shown.append(ast.literal_eval(text))  # one trigger over several lines
        except SyntaxError:
            shown += [ast.literal_eval(line) for line in text.splitlines()]
    assert {trigger["type"] for trigger in shown} == {"http", "sqs", "schedule"}
    for trigger in shown:
        trigger_of(trigger)


def test_the_credentials_line_makes_valid_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    (line,) = blocks(STEPS[4], "sh")[0].strip().splitlines()
    value = subprocess.run(
        ["bash", "-c", f'{line}; printf %s "$LAMBDA_INVOKE_CREDENTIALS"'],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    monkeypatch.setenv("LAMBDA_INVOKE_CREDENTIALS", value)
    assert list(invoke_credentials()) == ["AKIAORDERSSERVICE001"]


def test_every_keel_command_the_doc_shows_parses() -> None:
    commands = [
        line.strip()
        for code in blocks(DOC, "sh")
        for line in code.splitlines()
        if line.strip().startswith("keel ")
    ]
    assert "keel lambdas import template.yaml --output lambdas_settings.py" in commands
    assert "keel lambdas invoke orders-api --event events/orders-list.json" in commands
    for command in commands:
        build_parser().parse_args(shlex.split(command)[1:])


def test_the_boto3_snippet_compiles() -> None:
    (snippet,) = [code for code in blocks(DOC, "python") if "boto3.client" in code]
    compile(snippet, "docs/lambdas.md", "exec")
