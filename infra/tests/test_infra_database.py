"""The database's credentials reach the processes as secret ARNs, in both modes.

With RDS (the default) the tasks get the managed master secret's ARN and read the
password themselves, so a rotation needs no new task; with an existing database they
get the ARN of the secret holding its URL, no RDS is created, and the looked-up
security group is only read: the one rule it needs is printed as a command.
"""

from __future__ import annotations

import gc
import json
import logging
import re
import shlex
import sys

import aws_cli
import pytest
import yaml
from keel_infra_mocks import (
    EXISTING_DATABASE,
    EXISTING_VPC_ID,
    INFRA,
    Deployment,
    deploy,
    dev_config,
    existing_database_config,
    stack_config_from,
)

from keel.infra import policies
from keel.infra.config import DatabaseConfig, ExistingDatabaseConfig, NetworkConfig, StackConfig
from keel.infra.policies import stack

ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
ROLES = ("web", "worker", "migrate")
KEY = "arn:aws:kms:eu-west-1:123456789012:key/00000000-1111-2222-3333-444444444444"


def environment(deployment: Deployment, role: str) -> dict[str, str]:
    container = deployment.container_definitions(f"-{role}")
    return {item["name"]: item["value"] for item in container["environment"]}


def secret_reads(deployment: Deployment, role: str) -> list[dict]:
    policy = json.loads(deployment.one(ROLE_POLICY, f"task-{role}").inputs["policy"])
    return [s for s in policy["Statement"] if s["Action"] == "secretsmanager:GetSecretValue"]


# ---- RDS: the password is read by the processes, not injected ---------------------------


@pytest.mark.parametrize("role", ROLES)
def test_the_tasks_get_the_master_secrets_arn_not_its_password(dev: Deployment, role: str):
    (database,) = dev.of_type("aws:rds/instance:Instance")
    master = database.outputs["masterUserSecrets"][0]["secretArn"]
    variables = environment(dev, role)
    container = dev.container_definitions(f"-{role}")

    assert variables["DATABASE_PASSWORD_SECRET_ARN"] == master
    assert variables["DATABASE_HOST"] == database.outputs["address"]
    assert (variables["DATABASE_NAME"], variables["DATABASE_USER"]) == ("keel", "keel")
    assert "DATABASE_PASSWORD" not in {s["name"] for s in container["secrets"]}
    assert secret_reads(dev, role) == [
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": [master]}
    ]


def test_the_execution_role_no_longer_reads_the_master_secret(dev: Deployment):
    execution = dev.one(ROLE_POLICY, "execution")
    (database,) = dev.of_type("aws:rds/instance:Instance")

    assert database.outputs["masterUserSecrets"][0]["secretArn"] not in (
        stack.readable_secret_arns([execution.inputs])
    )


# ---- An existing database ----------------------------------------------------------------


def test_an_existing_database_creates_no_rds_and_no_database_network(
    existing_database: Deployment,
):
    created = {resource.type for resource in existing_database.custom()}

    assert not [kind for kind in created if kind.startswith("aws:rds/")]
    assert not [
        group
        for group in existing_database.of_type("aws:ec2/securityGroup:SecurityGroup")
        if group.inputs["tags"].get("keel:role") == "database"
    ]
    assert not [
        group
        for group in existing_database.of_type("aws:cloudwatch/logGroup:LogGroup")
        if group.inputs["name"].startswith("/aws/rds/")
    ]


def test_no_looked_up_resource_is_created_updated_or_deleted(existing_database: Deployment):
    """The database's group is only read: an invoke, and nothing registered names it as
    the group it changes (Pulumi can only update or delete what it registered)."""
    looked_up = EXISTING_DATABASE.security_group_id
    lookups = [
        args for token, args in existing_database.invokes if token.endswith("getSecurityGroup")
    ]

    assert lookups == [{"id": looked_up}]
    for resource in existing_database.custom():
        assert resource.id != looked_up
        assert resource.inputs.get("securityGroupId") != looked_up, resource.name
        assert resource.inputs.get("id") != looked_up
    assert not [r for r in existing_database.of_type(INGRESS) if "database" in r.name]


def test_keels_task_groups_may_send_to_the_database_on_its_port(existing_database: Deployment):
    groups = {
        group.inputs["tags"]["keel:role"]: group.id
        for group in existing_database.of_type("aws:ec2/securityGroup:SecurityGroup")
    }
    rules = {
        rule.name: rule.inputs
        for rule in existing_database.of_type(EGRESS)
        if rule.name.endswith("-out-database")
    }

    assert sorted(rules) == [f"{role}-out-database" for role in sorted(ROLES)]
    for role in ROLES:
        rule = rules[f"{role}-out-database"]
        assert rule["securityGroupId"] == groups[role]
        assert rule["referencedSecurityGroupId"] == EXISTING_DATABASE.security_group_id
        assert (rule["fromPort"], rule["toPort"]) == (5432, 5432)


@pytest.mark.parametrize("role", ROLES)
def test_the_tasks_get_the_url_secrets_arn_and_may_read_exactly_it(
    existing_database: Deployment, role: str
):
    variables = environment(existing_database, role)
    policy = json.loads(existing_database.one(ROLE_POLICY, f"task-{role}").inputs["policy"])
    (decrypt,) = [s for s in policy["Statement"] if s["Action"] == "kms:Decrypt"]

    assert variables["DATABASE_URL_SECRET_ARN"] == EXISTING_DATABASE.url_secret_arn
    assert not {"DATABASE_HOST", "DATABASE_PASSWORD_SECRET_ARN"} & set(variables)
    assert secret_reads(existing_database, role) == [
        {
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": [EXISTING_DATABASE.url_secret_arn],
        }
    ]
    assert decrypt["Resource"] == [KEY]
    assert decrypt["Condition"] == {
        "StringEquals": {"kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com"}
    }


def test_the_ingress_the_database_needs_is_printed_as_one_aws_command(
    existing_database: Deployment,
):
    command = existing_database.outputs["database_ingress_command"]
    argv = shlex.split(command)
    groups = {
        group.inputs["tags"]["keel:role"]: group.id
        for group in existing_database.of_type("aws:ec2/securityGroup:SecurityGroup")
    }

    assert aws_cli.problems(argv) == []
    assert argv[:3] == ["aws", "ec2", "authorize-security-group-ingress"]
    assert aws_cli.option_values(argv, "--group-id") == [EXISTING_DATABASE.security_group_id]
    assert aws_cli.option_values(argv, "--region") == ["eu-west-1"]
    (permissions,) = aws_cli.option_values(argv, "--ip-permissions")
    match = re.fullmatch(
        r"IpProtocol=tcp,FromPort=5432,ToPort=5432,UserIdGroupPairs=\[(.+)\]", permissions
    )
    assert match is not None, permissions
    pairs = re.findall(r"\{GroupId=([\w-]+),Description=([\w-]+)\}", match[1])
    assert sorted(pairs) == sorted((groups[role], f"keel-prod-{role}") for role in ROLES)
    assert "database_address" not in existing_database.outputs


def config_in_another_vpc() -> StackConfig:
    """The existing database's group is in EXISTING_VPC_ID; keel's tasks are not."""
    return existing_database_config(
        network=NetworkConfig(
            vpc_id="vpc-0aaaaaaaaaaaaaaaa",
            public_subnet_ids=["subnet-1", "subnet-2"],
            private_subnet_ids=["subnet-3", "subnet-4"],
        )
    )


def test_a_group_in_another_vpc_is_refused():
    config = config_in_another_vpc()

    with pytest.raises(Exception, match=f"is in {EXISTING_VPC_ID}, keel's tasks in vpc-0a"):
        deploy(config)


def test_a_refused_program_leaves_nothing_pending_for_a_later_test(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A refused program's registrations were left pending on the closed loop; the garbage
    # collector then reported them inside an unrelated later test, which failed CI.
    config = config_in_another_vpc()
    with pytest.raises(Exception, match="keel's tasks in vpc-0a"):
        deploy(config)
    unraisable: list[str] = []
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        hook, sys.unraisablehook = sys.unraisablehook, lambda info: unraisable.append(repr(info))
        try:
            gc.collect()
        finally:
            sys.unraisablehook = hook
    assert not unraisable
    assert not [record.getMessage() for record in caplog.records if record.name == "asyncio"]


@pytest.mark.parametrize(
    ("database", "message"),
    [
        (
            DatabaseConfig(existing=EXISTING_DATABASE, multi_az=True),
            "multiAz describe the RDS instance",
        ),
        (
            DatabaseConfig(
                existing=ExistingDatabaseConfig(
                    url_secret_arn="postgres://keel:pw@db/keel", security_group_id="sg-0123abcd"
                )
            ),
            "urlSecretArn",
        ),
        (
            DatabaseConfig(
                existing=ExistingDatabaseConfig(
                    url_secret_arn=f"{EXISTING_DATABASE.url_secret_arn}:url::",
                    security_group_id="sg-0123abcd",
                )
            ),
            "no JSON key",
        ),
        (
            DatabaseConfig(
                existing=ExistingDatabaseConfig(
                    url_secret_arn=EXISTING_DATABASE.url_secret_arn, security_group_id="db"
                )
            ),
            "not a security group id",
        ),
    ],
)
def test_bad_existing_database_config_is_refused(database: DatabaseConfig, message: str):
    with pytest.raises(ValueError, match=message):
        existing_database_config(database=database)


def test_an_existing_database_needs_the_stack_in_an_existing_vpc():
    with pytest.raises(ValueError, match=r"needs network\.vpcId"):
        dev_config(database=DatabaseConfig(existing=EXISTING_DATABASE))


def test_the_stack_file_reads_an_existing_database_with_its_port_as_a_string():
    values = yaml.safe_load((INFRA / "Pulumi.prod.yaml").read_text())["config"]
    values["keel:database"] = {
        "existing": {
            "urlSecretArn": EXISTING_DATABASE.url_secret_arn,
            "securityGroupId": EXISTING_DATABASE.security_group_id,
            "port": "6432",
        }
    }

    config = stack_config_from(values, stack="prod")
    assert config.database.existing == ExistingDatabaseConfig(
        url_secret_arn=EXISTING_DATABASE.url_secret_arn,
        security_group_id=EXISTING_DATABASE.security_group_id,
        port=6432,
    )


def test_the_policies_pass_a_stack_on_an_existing_database(existing_database: Deployment):
    assert [
        violation
        for resource in existing_database.custom()
        for violation in policies.violations(
            resource.type, resource.inputs, policies.Options(protect=resource.protect)
        )
    ] == []
    assert policies.stack_violations((r.type, r.outputs) for r in existing_database.custom()) == []
