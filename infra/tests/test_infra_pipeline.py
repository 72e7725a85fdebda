"""The deploy pipeline: the workflow keel init writes, what it says the program does, and
the AWS side docs/deploy.md ("The deploy pipeline") tells a team to set up for it.

The workflow's header is checked against the program's own graph (the one-off tasks it
names, in the order the program runs them, before the services), the trust policy the
doc gives against the subjects GitHub puts in the workflow's OIDC tokens, and the
repository variables the doc lists against the ones the workflow reads.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from keel_infra_mocks import Deployment

from keel.infra.preflight import PREFLIGHT_COMMAND

REPOSITORY = Path(__file__).resolve().parents[2]
TEMPLATE = REPOSITORY / "src/keel/runtime/init/templates/github/deploy.yml"
DEPLOY = (REPOSITORY / "docs" / "deploy.md").read_text()
PIPELINE = DEPLOY[DEPLOY.index("### The deploy pipeline") : DEPLOY.index("### Configuration")]
COMMAND = "command:local:Command"
OIDC = "token.actions.githubusercontent.com"


def workflow() -> dict:
    text = re.sub(r"^\{\{keel:install_steps\}\}$", "", TEMPLATE.read_text(), flags=re.MULTILINE)
    return yaml.safe_load(text.replace("{{keel:name}}", "shop"))


def header() -> str:
    lines = TEMPLATE.read_text().splitlines()
    return " ".join(line.lstrip("# ") for line in lines[: lines.index("name: deploy")])


def test_the_header_names_the_one_off_tasks_in_the_order_the_program_runs_them(
    dev: Deployment,
):
    text = header()
    migrate = dev.one(COMMAND, "migrate")
    preflight = dev.one(COMMAND, "preflight")

    assert text.index("`keel migrate`") < text.index("`keel " + " ".join(PREFLIGHT_COMMAND) + "`")
    assert migrate.urn in preflight.dependencies
    for role in ("web", "worker"):
        service = dev.one("aws:ecs/service:Service", role)
        assert {migrate.urn, preflight.urn} <= set(service.dependencies)
    assert "only then updates the web and worker services" in text
    assert json.loads(preflight.inputs["environment"]["OVERRIDES"])["containerOverrides"][0][
        "command"
    ] == list(PREFLIGHT_COMMAND)


def trust_policy() -> dict:
    (document,) = re.findall(r"```json\n(.*?)```", PIPELINE, re.DOTALL)
    return json.loads(re.sub(r"^ {3}", "", document, flags=re.MULTILINE))


def test_the_trust_policy_admits_exactly_the_workflows_jobs():
    (statement,) = trust_policy()["Statement"]
    jobs = workflow()["jobs"]
    branches = workflow()[True]["push"]["branches"]  # YAML reads the key `on` as True
    expected = {
        f"repo:acme/shop:environment:{job['environment']}"
        if "environment" in job
        else f"repo:acme/shop:ref:refs/heads/{branch}"
        for job in jobs.values()
        for branch in branches
    }

    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Principal"] == {
        "Federated": f"arn:aws:iam::123456789012:oidc-provider/{OIDC}"
    }
    condition = statement["Condition"]
    assert list(condition) == ["StringEquals"]
    assert condition["StringEquals"][f"{OIDC}:aud"] == "sts.amazonaws.com"
    assert set(condition["StringEquals"][f"{OIDC}:sub"]) == expected
    assert all("*" not in subject for subject in expected)


def test_the_doc_lists_every_variable_the_workflow_reads():
    read = set(re.findall(r"vars\.(\w+)", TEMPLATE.read_text()))
    listed = set(re.findall(r"^\s*\| `(\w+)` \|", PIPELINE, re.MULTILINE))

    assert (
        read
        == listed
        == {
            "AWS_DEPLOY_ROLE_ARN",
            "AWS_REGION",
            "PULUMI_BACKEND_URL",
            "IMAGE_PLATFORM",
        }
    )


def test_prod_waits_for_its_reviewers_after_dev_and_the_state_is_in_s3_with_kms():
    jobs = workflow()["jobs"]

    assert jobs["deploy-prod"]["environment"] == "prod"
    assert "deploy-dev" in jobs["deploy-prod"]["needs"]
    assert "`dev`, and `prod` with required reviewers" in " ".join(
        PIPELINE.replace("*", "").split()
    )
    assert re.search(r"pulumi login 's3://[^']+'", PIPELINE)
    stacks = re.findall(r"pulumi stack init (\w+) --secrets-provider 'awskms://", PIPELINE)
    deployed = {
        step["with"]["stack-name"]
        for job in jobs.values()
        for step in job["steps"]
        if str(step.get("uses", "")).startswith("pulumi/actions")
    }
    assert set(stacks) == deployed == {"dev", "prod"}
