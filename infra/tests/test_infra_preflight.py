"""``keel preflight`` runs inside AWS after the migration and before the services update.

On the graph: the command runs the new web task definition with the command overridden,
after the migration, and every service waits for it. The command itself: its script runs
in bash against a stand-in ``aws`` that answers as ECS would, so what it sends is checked
against the AWS CLI's models, and a failing preflight fails it naming its log stream.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import aws_cli
import pytest
from keel_infra_mocks import Deployment

COMMAND = "command:local:Command"
SERVICE = "aws:ecs/service:Service"
TASK_ARN = "arn:aws:ecs:eu-west-1:123456789012:task/keel-dev/0123456789abcdef"

STAND_IN = textwrap.dedent(
    """\
    import json, os, sys
    argv = sys.argv[1:]
    with open(os.environ["CALLS"], "a") as calls:
        calls.write(json.dumps(argv) + "\\n")
    if argv[:2] == ["ecs", "run-task"]:
        print(os.environ["TASK_ARN"])
    elif argv[:2] == ["ecs", "describe-tasks"]:
        query = argv[argv.index("--query") + 1]
        print(os.environ["EXIT_CODE"] if "exitCode" in query else "Essential container in task exited")
    """
)


def run_script(
    deployment: Deployment, name: str, tmp_path: Path, exit_code: str, task_arn: str = TASK_ARN
) -> tuple[subprocess.CompletedProcess, list[list[str]]]:
    command = deployment.one(COMMAND, name)
    tools = tmp_path / "bin"
    tools.mkdir(exist_ok=True)
    (tools / "stand_in.py").write_text(STAND_IN)
    aws = tools / "aws"
    aws.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{tools / "stand_in.py"}" "$@"\n')
    aws.chmod(0o755)
    calls = tmp_path / f"calls-{name}-{exit_code}.jsonl"
    result = subprocess.run(
        ["bash", "-c", command.inputs["create"]],
        env={
            **command.inputs["environment"],
            "PATH": f"{tools}:{os.environ['PATH']}",
            "CALLS": str(calls),
            "TASK_ARN": task_arn,
            "EXIT_CODE": exit_code,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return result, [json.loads(line) for line in calls.read_text().splitlines()]


def test_preflight_runs_the_new_web_task_definition_with_its_command_overridden(
    dev: Deployment,
):
    preflight = dev.one(COMMAND, "preflight")
    web_task = next(
        task
        for task in dev.of_type("aws:ecs/taskDefinition:TaskDefinition")
        if task.inputs["family"] == "keel-dev-web"
    )
    environment = preflight.inputs["environment"]
    web_group = next(
        group.id
        for group in dev.of_type("aws:ec2/securityGroup:SecurityGroup")
        if group.inputs["tags"].get("keel:role") == "web"
    )

    assert environment["TASK_DEFINITION"] == web_task.outputs["arn"]
    assert json.loads(environment["OVERRIDES"]) == {
        "containerOverrides": [{"name": "web", "command": ["preflight", "--interval", "1"]}]
    }
    assert environment["SECURITY_GROUPS"] == web_group
    assert environment["LOG_GROUP"] == "/keel/keel-dev/web"
    assert preflight.inputs["triggers"] == [web_task.outputs["arn"]]
    assert web_task.urn in preflight.property_dependencies["environment"]


def test_preflight_comes_after_the_migration_and_before_every_service(dev: Deployment):
    preflight = dev.one(COMMAND, "preflight")
    migrate = dev.one(COMMAND, "migrate")

    assert migrate.urn in preflight.dependencies
    for role in ("web", "worker"):
        assert preflight.urn in dev.one(SERVICE, role).dependencies


def test_a_passing_preflight_lets_the_update_go_on(dev: Deployment, tmp_path: Path):
    result, calls = run_script(dev, "preflight", tmp_path, exit_code="0")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "keel preflight: done"
    assert [call[:2] for call in calls] == [
        ["ecs", "run-task"],
        ["ecs", "wait"],
        ["ecs", "describe-tasks"],
    ]
    for call in calls:
        assert aws_cli.problems(["aws", *call]) == [], call
    run_task = calls[0]
    assert aws_cli.option_value(run_task, "--task-definition").endswith("keel-dev-web:1")
    assert json.loads(aws_cli.option_value(run_task, "--overrides"))["containerOverrides"][0][
        "command"
    ] == ["preflight", "--interval", "1"]
    assert aws_cli.option_value(run_task, "--started-by") == "keel-preflight"


def test_a_failing_preflight_fails_the_update_naming_its_log_stream(
    dev: Deployment, tmp_path: Path
):
    result, calls = run_script(dev, "preflight", tmp_path, exit_code="1")

    assert result.returncode == 1
    assert "services not updated" in result.stderr
    assert "log group /keel/keel-dev/web, stream web/web/0123456789abcdef" in result.stderr
    tail = result.stderr[result.stderr.index("(aws logs tail") + 1 : result.stderr.rindex(")")]
    assert aws_cli.problems(shlex.split(tail)) == []
    assert len(calls) == 4


def test_the_migration_runs_its_own_command_through_the_same_script(
    dev: Deployment, tmp_path: Path
):
    result, calls = run_script(dev, "migrate", tmp_path, exit_code="3")

    assert result.returncode == 1
    assert "keel migrate: exit code 3" in result.stderr
    assert "log group /keel/keel-dev/migrate, stream migrate/migrate/" in result.stderr
    assert "--overrides" not in calls[0]
    assert aws_cli.option_value(calls[0], "--task-definition") == "keel-dev-migrate"


@pytest.mark.parametrize("name", ["migrate", "preflight"])
def test_a_run_task_that_starts_nothing_fails(dev: Deployment, tmp_path: Path, name: str):
    result, calls = run_script(dev, name, tmp_path, exit_code="0", task_arn="None")

    assert result.returncode == 1
    assert f"keel {name}: run-task started no task; services not updated" in result.stderr
    assert len(calls) == 1
