"""docs/deploy.md's first deploy, run as far as it goes without AWS, and every ``aws`` and
``pulumi stack output`` command in docs/deploy.md and docs/operations.md checked.

The shell blocks from "Before you start" to "Verify" run in bash, in order, from the
repository root, with stand-ins for ``pulumi``, ``aws``, ``docker`` and ``curl``
(``doc_commands.py``) that record every call and answer from keel's program run under
mocks with the configuration the doc built. Then each recorded call is checked: the
``--target`` list against Pulumi's targeting rule on the mock graph
(``pulumi_engine.py``), every ``aws`` command against the AWS CLI's own models
(``aws_cli.py``) and the stack's names, the image against the stack's architecture and
repository, the verify step's requests against the certificate's host and the ALB. The
program is also run as that targeted ``up`` runs it, untargeted resources answering empty.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aws_cli
import pulumi_cli
import pytest
from keel_infra_mocks import INFRA, Deployment, Recorded, deploy, stack_config_from
from pulumi_engine import SkippedCreates, engine_urns, targeted, targeted_update_errors

from keel.infra.config import StackConfig

REPOSITORY = INFRA.parent
DOCS = REPOSITORY / "docs"
FIRST_DEPLOY = ("### Before you start", "#### How a deployment rolls out")
#: The block that runs this very suite is not run again from inside it.
THE_SUITE = ".venv/bin/python -m pytest infra/tests"
STANDS_IN_FOR = ("pulumi", "aws", "docker", "curl")


def section(text: str, start: str, end: str) -> str:
    return text[text.index(start) : text.index(end)]


def shell_blocks(text: str) -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```", text, re.MULTILINE | re.DOTALL)


@dataclass
class Call:
    tool: str
    argv: list[str]
    cwd: Path


@dataclass
class Run:
    calls: list[Call]
    config: dict[str, Any]
    stack: StackConfig
    deployment: Deployment

    def of(self, tool: str, *prefix: str) -> list[Call]:
        return [
            call
            for call in self.calls
            if call.tool == tool and call.argv[: len(prefix)] == list(prefix)
        ]


@pytest.fixture(scope="module")
def first_deploy(tmp_path_factory: pytest.TempPathFactory) -> Run:
    state = tmp_path_factory.mktemp("doc-state")
    tools = tmp_path_factory.mktemp("doc-bin")
    stand_in = INFRA / "tests" / "doc_commands.py"
    for tool in STANDS_IN_FOR:
        script = tools / tool
        script.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{stand_in}" {tool} "$@"\n')
        script.chmod(0o755)
    (tools / "python").symlink_to(sys.executable)
    blocks = [
        block
        for block in shell_blocks(section((DOCS / "deploy.md").read_text(), *FIRST_DEPLOY))
        if not block.startswith(THE_SUITE)
    ]
    assert len(blocks) >= 4, "the first-deploy section lost its commands"
    result = subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + "\n".join(blocks)],
        cwd=REPOSITORY,
        env={
            "PATH": f"{tools}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(state),
            "KEEL_DOC_STATE": str(state),
            "PYTHONPATH": os.pathsep.join([str(REPOSITORY / "src"), str(REPOSITORY)]),
        },
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    calls = [
        Call(tool=entry["tool"], argv=entry["argv"], cwd=Path(entry["cwd"]))
        for entry in map(json.loads, (state / "calls.jsonl").read_text().splitlines())
    ]
    config = json.loads((state / "config.json").read_text())
    stack = stack_config_from(config, stack="dev")
    return Run(calls=calls, config=config, stack=stack, deployment=deploy(stack))


def test_the_first_deploy_runs_every_step_in_order(first_deploy: Run):
    steps = [(call.tool, call.argv[0]) for call in first_deploy.calls]

    expected = [
        ("aws", "acm"),
        ("pulumi", "stack"),
        ("pulumi", "config"),
        ("pulumi", "up"),
        ("docker", "build"),
        ("docker", "push"),
        ("pulumi", "preview"),
        ("pulumi", "up"),
        ("curl", "-fsS"),
        ("aws", "cloudwatch"),
    ]
    positions = [steps.index(step, 0) for step in expected[:1]]
    for step in expected[1:]:
        positions.append(steps.index(step, positions[-1] + 1))
    assert positions == sorted(positions)


def test_the_config_the_doc_builds_is_a_valid_https_stack(first_deploy: Run):
    stack = first_deploy.stack
    (acm,) = first_deploy.of("aws", "acm", "request-certificate")

    assert stack.web.certificate_arn.startswith("arn:aws:acm:eu-west-1:")  # type: ignore[union-attr]
    assert stack.web.domain_names == [aws_cli.option_values(acm.argv, "--domain-name")[0]]
    assert aws_cli.option_values(acm.argv, "--region") == [stack.region]
    assert stack.image_tag
    assert re.fullmatch(r"[0-9a-f]{12}", stack.image_tag)
    assert stack.network.cidr == "10.42.0.0/16"


def first_up(run: Run) -> list[str]:
    ups = run.of("pulumi", "up")
    assert ups, "no pulumi up"
    first = ups[0].argv
    return [first[index + 1] for index, word in enumerate(first) if word == "--target"]


def test_the_targeted_first_up_satisfies_pulumis_target_rule(first_deploy: Run):
    targets = first_up(first_deploy)
    created = targeted(first_deploy.deployment, targets)

    assert targeted_update_errors(first_deploy.deployment, targets) == []
    assert {resource.type for resource in created} == {
        "keel:aws:App",
        "keel:aws:ImageRepository",
        "aws:ecr/repository:Repository",
        "aws:ecr/lifecyclePolicy:LifecyclePolicy",
    }


def test_the_targets_are_closed_under_parents(first_deploy: Run):
    deployment = first_deploy.deployment
    created = {resource.urn for resource in targeted(deployment, first_up(first_deploy))}
    recorded = {resource.urn: resource for resource in deployment.resources}

    for urn in created:
        parent = recorded[urn].parent
        while parent in recorded:
            assert parent in created, f"{urn}'s parent {parent} is not targeted"
            parent = recorded[parent].parent


@pytest.mark.parametrize("unknown", [False, True], ids=["cli-before-3.256", "cli-3.256-on"])
def test_the_program_runs_to_the_end_in_the_targeted_first_up(first_deploy: Run, unknown: bool):
    """``pulumi up --target`` runs the whole program; what is not targeted answers empty.

    Before Pulumi 3.256.0 a skipped create's outputs reach the program as known ``None``
    (``pulumi_engine.SkippedCreates``): every callback over the load balancer's DNS name, a
    log group's ARN or RDS's secrets must still return, or the first ``up`` fails in the
    program. From 3.256.0 they are unknown and the callbacks do not run.
    """
    targets = first_up(first_deploy)
    monitor = functools.partial(SkippedCreates, targets=targets, unknown=unknown)

    deployment = deploy(first_deploy.stack, monitor=monitor)

    full = first_deploy.deployment
    assert sorted(resource.urn for resource in deployment.resources) == sorted(
        resource.urn for resource in full.resources
    )
    answered = {resource.type for resource in deployment.custom() if resource.outputs}
    assert answered == {"aws:ecr/repository:Repository", "aws:ecr/lifecyclePolicy:LifecyclePolicy"}
    (alb,) = deployment.of_type("aws:lb/loadBalancer:LoadBalancer")
    assert (alb.id, alb.outputs) == ("", {})


@pytest.mark.parametrize("stack", ["prod", "cutover", "existing_database"])
def test_the_targeted_first_up_runs_to_the_end_on_every_stack_shape(
    first_deploy: Run, stack: str, request
):
    """An existing VPC, routes being cut over, an existing database: other callbacks run."""
    full: Deployment = request.getfixturevalue(stack)
    monitor = functools.partial(SkippedCreates, targets=first_up(first_deploy), unknown=False)

    deployment = deploy(full.app.config, monitor=monitor)

    assert sorted(resource.urn for resource in deployment.resources) == sorted(
        resource.urn for resource in full.resources
    )
    assert [resource for resource in deployment.custom() if not resource.outputs]


def repository(deployment: Deployment) -> Recorded:
    (found,) = deployment.of_type("aws:ecr/repository:Repository")
    return found


def test_the_old_command_targeting_only_the_repository_is_refused(first_deploy: Run):
    """The seed's docs targeted the repository's URN alone: its parents were not created."""
    deployment = first_deploy.deployment
    urns = engine_urns(deployment)
    only = urns[repository(deployment).urn]

    errors = targeted_update_errors(deployment, [only])
    assert errors == [
        f"Resource '{only}' depends on "
        "'urn:pulumi:dev::keel::keel:aws:App$keel:aws:ImageRepository::registry' which was "
        "was not specified in --target list."
    ]
    assert only == (
        "urn:pulumi:dev::keel::keel:aws:App$keel:aws:ImageRepository"
        "$aws:ecr/repository:Repository::images"
    )


def test_every_aws_command_run_is_one_the_cli_accepts_in_the_stacks_region(first_deploy: Run):
    calls = first_deploy.of("aws")

    assert len(calls) >= 6
    for call in calls:
        assert aws_cli.problems(["aws", *call.argv]) == [], call.argv
        if call.argv[:2] != ["sts", "get-caller-identity"]:
            assert aws_cli.option_values(call.argv, "--region") == [first_deploy.stack.region]


def test_aws_commands_name_the_stacks_resources(first_deploy: Run):
    outputs = first_deploy.deployment.outputs
    (describe_repository,) = first_deploy.of("aws", "ecr", "describe-repositories")
    (describe_services,) = first_deploy.of("aws", "ecs", "describe-services")
    (describe_alarms,) = first_deploy.of("aws", "cloudwatch", "describe-alarms")

    assert aws_cli.option_values(describe_repository.argv, "--repository-names") == [
        repository(first_deploy.deployment).inputs["name"]
    ]
    assert aws_cli.option_values(describe_services.argv, "--cluster") == [outputs["cluster"]]
    assert aws_cli.option_values(describe_services.argv, "--services") == [
        outputs["web_service"],
        outputs["worker_service"],
    ]
    assert (
        aws_cli.option_values(describe_alarms.argv, "--alarm-names") == (outputs["rollback_alarms"])
    )


def test_the_image_is_built_for_the_stacks_platform_and_pushed_to_its_repository(
    first_deploy: Run,
):
    (build,) = first_deploy.of("docker", "build")
    (push,) = first_deploy.of("docker", "push")
    (login,) = first_deploy.of("docker", "login")
    image = f"{first_deploy.deployment.outputs['repository_url']}:{first_deploy.stack.image_tag}"

    assert aws_cli.option_value(build.argv, "--platform") == first_deploy.stack.image_platform
    assert aws_cli.option_value(build.argv, "-t") == image
    assert (build.cwd / build.argv[-1] / "Dockerfile").resolve() == REPOSITORY / "Dockerfile"
    assert push.argv == ["push", image]
    assert login.argv[-1] == image.split("/", 1)[0]
    assert first_deploy.deployment.outputs["image"] == image


def test_pulumi_runs_in_the_project_with_the_policy_pack(first_deploy: Run):
    for call in first_deploy.of("pulumi"):
        assert (call.cwd / "Pulumi.yaml").resolve() == INFRA / "Pulumi.yaml"
    (preview,) = first_deploy.of("pulumi", "preview")
    full_up = first_deploy.of("pulumi", "up")[-1]
    for call in (preview, full_up):
        pack = aws_cli.option_value(call.argv, "--policy-pack")
        assert pack
        assert (call.cwd / pack / "PulumiPolicy.yaml").exists()
    assert "--target" not in full_up.argv


def test_verify_asks_the_alb_over_https_for_the_certificates_host(first_deploy: Run):
    outputs = first_deploy.deployment.outputs
    web = first_deploy.deployment.container_definitions("-web")
    allowed = next(e["value"] for e in web["environment"] if e["name"] == "ALLOWED_HOSTS")
    requests = first_deploy.of("curl")

    assert [urlsplit(call.argv[-1]).path for call in requests] == ["/healthz", "/readyz"]
    for call in requests:
        url = urlsplit(call.argv[-1])
        assert url.scheme == "https"
        assert url.hostname in first_deploy.stack.web.domain_names
        assert url.hostname in allowed.split(",")
        assert aws_cli.option_value(call.argv, "--connect-to") == (
            f"::{outputs['load_balancer_dns_name']}:"
        )


# ---- Every command the two docs show ---------------------------------------------------


def substitutions(text: str) -> tuple[str, list[str]]:
    """Return ``text`` with each ``$(...)`` replaced by one word, and what they held."""
    out, inner, index = [], [], 0
    while index < len(text):
        if text.startswith("$(", index):
            depth, start = 1, index + 2
            index = start
            while depth:
                depth += {"(": 1, ")": -1}.get(text[index], 0)
                index += 1
            inner.append(text[start : index - 1])
            out.append("SUBSTITUTED")
        else:
            out.append(text[index])
            index += 1
    return "".join(out), inner


def command_lines(text: str) -> list[str]:
    """Split shell text into simple commands, those inside ``$(...)`` too."""
    text, inner = substitutions(text)
    commands = []
    for line in text.splitlines():
        line = line.split(" #", 1)[0].strip()
        commands += [part.strip() for part in re.split(r"\|\||&&|\||;", line) if part.strip()]
    for nested in inner:
        commands += command_lines(nested)
    return commands


def doc_commands(path: Path) -> list[str]:
    """Return every command a doc shows: in its sh blocks and in inline code with options.

    ``<placeholder>`` values stand for one word; a command with ``...`` is elided on
    purpose and skipped.
    """
    text = path.read_text()
    commands = []
    for block in shell_blocks(text):
        commands += command_lines(block.replace("\\\n", " "))
    for span in re.findall(r"`((?:aws|pulumi) [^`]+)`", text):
        span = " ".join(span.split())
        # `aws ecs describe-tasks` alone names a command; with arguments it is one to run.
        if len(span.split()) > 3:
            commands += command_lines(span)
    return [
        re.sub(r"<[^>]+>", "PLACEHOLDER", command) for command in commands if "..." not in command
    ]


@pytest.mark.parametrize("doc", ["deploy.md", "operations.md", "migration.md"])
def test_every_aws_command_in_the_docs_is_one_the_cli_accepts(doc: str):
    commands = [
        shlex.split(command) for command in doc_commands(DOCS / doc) if command.startswith("aws ")
    ]

    assert len(commands) >= 3
    assert [(argv, aws_cli.problems(argv)) for argv in commands if aws_cli.problems(argv)] == []


@pytest.mark.parametrize("doc", ["deploy.md", "operations.md", "migration.md"])
def test_every_pulumi_command_in_the_docs_is_one_the_cli_accepts(doc: str):
    commands = [
        shlex.split(command)
        for command in doc_commands(DOCS / doc)
        if command.startswith("pulumi ")
    ]

    assert commands
    assert [
        (argv, pulumi_cli.problems(argv)) for argv in commands if pulumi_cli.problems(argv)
    ] == []


def test_the_aws_checker_refuses_what_the_cli_refuses():
    integration = ["aws", "apigatewayv2", "create-integration", "--api-id", "a1"]
    proxy = [*integration, "--integration-type", "HTTP_PROXY"]
    assert aws_cli.problems([*proxy, "--tls-config", "ServerNameToVerify=keel.example.com"]) == []
    assert aws_cli.problems([*proxy, "--tls-config", "ServerName=keel.example.com"]) == [
        "aws apigatewayv2 create-integration: --tls-config has no key ServerName"
        " (it takes ServerNameToVerify)"
    ]
    assert "aws apigatewayv2 create-integration: no option --vpc-link-id" in aws_cli.problems(
        [*proxy, "--vpc-link-id", "v1"]
    )
    assert aws_cli.problems(integration) == [
        "aws apigatewayv2 create-integration: --integration-type is required"
    ]
    # A list of structures: each item's keys; a key's further values are not keys.
    ingress = ["aws", "ec2", "authorize-security-group-ingress", "--ip-permissions"]
    assert aws_cli.problems([*ingress, "IpProtocol=tcp,UserIdGroupPairs=[{GroupId=sg-1}]"]) == []
    assert aws_cli.problems([*ingress, "Protocol=tcp"])[0].endswith(
        "--ip-permissions has no key Protocol (it takes FromPort, IpProtocol, IpRanges,"
        " Ipv6Ranges, PrefixListIds, ToPort, UserIdGroupPairs)"
    )
    assert (
        aws_cli.problems(["aws", "ec2", "describe-subnets", "--filters", "Name=a,Values=b,c"]) == []
    )


def test_the_pulumi_checker_refuses_what_the_cli_refuses():
    assert pulumi_cli.problems(["pulumi", "up", "--policy-pack", "policy", "--yes"]) == []
    assert pulumi_cli.problems(["pulumi", "stack", "init", "prod", "--secret-provider=x"]) == [
        "pulumi stack init: no flag --secret-provider"
    ]
    assert pulumi_cli.problems(["pulumi", "upp"]) == ["pulumi upp: no such command"]
    assert pulumi_cli.problems(["pulumi", "config", "set", "a", "b", "c"]) == [
        "pulumi config set: at most 2 arguments, not 3"
    ]


@pytest.mark.parametrize(
    ("doc", "stack"),
    [("deploy.md", "dev_file"), ("operations.md", "dev_file"), ("migration.md", "cutover")],
)
def test_every_stack_output_the_docs_name_exists(doc: str, stack: str, request):
    deployment: Deployment = request.getfixturevalue(stack)
    # A stack on an existing database has outputs of its own (its ingress command).
    existing: Deployment = request.getfixturevalue("existing_database")
    named = set(re.findall(r"pulumi stack output (\w+)", (DOCS / doc).read_text()))
    outputs = set(deployment.outputs) | set(existing.outputs)

    assert named
    assert named <= outputs, sorted(named - outputs)


@pytest.mark.parametrize("doc", ["deploy.md", "operations.md", "migration.md"])
def test_every_config_key_the_docs_set_is_one_the_stack_reads(doc: str):
    documented = (INFRA / "Pulumi.yaml").read_text()
    keys = {
        match.split(".")[0].split("[")[0]
        for match in re.findall(
            r"pulumi config set (?:--path )?'?(keel:[\w.\[\]]+)", (DOCS / doc).read_text()
        )
    }

    for key in keys:
        assert f"{key}" in documented or f"  {key.removeprefix('keel:')}:" in documented, key
