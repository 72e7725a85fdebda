"""The project's rotated secrets (``keel:rotatedSecrets``) reach web and worker as ARNs.

Each becomes ``<NAME>_SECRET_ARN`` in the web and worker containers (the process reads
it, and again after a rotation: keel.credentials), never an injected value; the web and
worker task roles may read exactly those secrets, and migrate none of them.
"""

from __future__ import annotations

import json

import pytest
from keel_infra_mocks import ACCOUNT, REGION, Deployment, deploy, dev_config, stack_config_from

from keel.infra import policies

ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
PAYMENTS = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:keel-dev/payments-AbCdEf"
PARTNER = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:keel-dev/partner-GhIjKl"
ROTATED = {"STRIPE_API_KEY": PAYMENTS, "PARTNER_TOKEN": f"{PARTNER}:token::"}


@pytest.fixture(scope="module")
def rotating() -> Deployment:
    return deploy(dev_config(rotated_secrets=ROTATED))


def environment(deployment: Deployment, role: str) -> dict[str, str]:
    container = deployment.container_definitions(f"-{role}")
    return {item["name"]: item["value"] for item in container["environment"]}


def secret_reads(deployment: Deployment, role: str) -> list:
    policy = json.loads(deployment.one(ROLE_POLICY, f"task-{role}").inputs["policy"])
    return [
        statement["Resource"]
        for statement in policy["Statement"]
        if statement["Action"] == "secretsmanager:GetSecretValue"
    ]


def secret_variables(deployment: Deployment, role: str) -> set[str]:
    return {name for name in environment(deployment, role) if name.endswith("_SECRET_ARN")}


def master_secret(deployment: Deployment) -> str:
    (database,) = deployment.of_type("aws:rds/instance:Instance")
    return str(database.outputs["masterUserSecrets"][0]["secretArn"])


@pytest.mark.parametrize("role", ["web", "worker"])
def test_web_and_worker_get_each_rotated_secret_s_arn(rotating: Deployment, role: str) -> None:
    variables = environment(rotating, role)
    container = rotating.container_definitions(f"-{role}")

    assert variables["STRIPE_API_KEY_SECRET_ARN"] == PAYMENTS
    assert variables["PARTNER_TOKEN_SECRET_ARN"] == f"{PARTNER}:token::"
    # Read by the process, never injected at task start (a value that would go stale).
    assert not {"STRIPE_API_KEY", "PARTNER_TOKEN"} & {s["name"] for s in container["secrets"]}
    assert "ROTATED_SECRETS" not in variables  # the project declares the names


@pytest.mark.parametrize("role", ["web", "worker"])
def test_web_and_worker_may_read_exactly_those_secrets(rotating: Deployment, role: str) -> None:
    assert secret_reads(rotating, role) == [[master_secret(rotating), PARTNER, PAYMENTS]]


def test_migrate_neither_gets_nor_may_read_them(rotating: Deployment) -> None:
    assert secret_variables(rotating, "migrate") == {"DATABASE_PASSWORD_SECRET_ARN"}
    assert secret_reads(rotating, "migrate") == [[master_secret(rotating)]]


def test_the_execution_role_reads_none_of_them(rotating: Deployment) -> None:
    execution = json.loads(rotating.one(ROLE_POLICY, "execution").inputs["policy"])
    readable = [
        resource
        for statement in execution["Statement"]
        if statement["Action"] == "secretsmanager:GetSecretValue"
        for resource in statement["Resource"]
    ]
    assert PAYMENTS not in readable
    assert PARTNER not in readable


def test_without_rotated_secrets_nothing_changes(dev: Deployment) -> None:
    assert secret_reads(dev, "web") == [[master_secret(dev)]]
    assert secret_variables(dev, "web") == {"DATABASE_PASSWORD_SECRET_ARN"}


def test_the_policies_pass_a_stack_with_rotated_secrets(rotating: Deployment) -> None:
    assert [
        violation
        for resource in rotating.custom()
        for violation in policies.violations(
            resource.type, resource.inputs, policies.Options(protect=resource.protect)
        )
    ] == []
    assert policies.stack_violations((r.type, r.outputs) for r in rotating.custom()) == []


def test_the_stack_file_reads_rotated_secrets() -> None:
    values = {
        "aws:region": REGION,
        "keel:imageTag": "1",
        "keel:web": {
            "certificateArn": f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/abc-123",
            "domainNames": ["keel-dev.example.com"],
        },
        "keel:alarms": {"runbookBaseUrl": "https://example.com/runbooks"},
        "keel:rotatedSecrets": ROTATED,
    }
    assert stack_config_from(values, stack="dev").rotated_secrets == ROTATED


@pytest.mark.parametrize(
    ("rotated", "changes", "message"),
    [
        ({"stripe_key": PAYMENTS}, {}, "upper-case variable name"),
        ({"STRIPE_API_KEY": "keel-dev/payments"}, {}, "must be a Secrets Manager ARN"),
        ({"STRIPE_API_KEY": f"{PAYMENTS}:key:AWSPREVIOUS:"}, {}, "version stage"),
        ({"DATABASE_PASSWORD": PAYMENTS}, {}, "the database's"),
        ({"STRIPE_API_KEY": PAYMENTS}, {"secrets": {"STRIPE_API_KEY": PAYMENTS}}, "choose one"),
        (
            {"STRIPE_API_KEY": PAYMENTS},
            {"environment": {"STRIPE_API_KEY_SECRET_ARN": PARTNER}},
            "would hide",
        ),
    ],
)
def test_bad_rotated_secrets_are_refused_naming_them(
    rotated: dict[str, str], changes: dict, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        dev_config(rotated_secrets=rotated, **changes)
