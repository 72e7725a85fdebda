"""The team's own AWS needs: each knob lands in the task roles, security groups and task
definitions as configured, and the unsafe variants are refused before planning."""

from __future__ import annotations

import json

import pytest
from keel_infra_mocks import Deployment, deploy, dev_config

from keel.infra.access_config import AccessConfig, EgressRule, RolePermissions
from keel.infra.config import WorkerConfig
from keel.infra.containers import ECS_EXEC_TAG

ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
KEY = "arn:aws:kms:eu-west-1:123456789012:key/00000000-1111-2222-3333-444444444444"
QUEUE = "arn:aws:sqs:eu-west-1:123456789012:orders"
SEND = {"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": [QUEUE]}
READER = "arn:aws:iam::123456789012:policy/orders-reader"


@pytest.fixture(scope="module")
def custom() -> Deployment:
    return deploy(
        dev_config(
            access=AccessConfig(
                permissions={
                    "worker": RolePermissions(statements=[SEND], managed_policy_arns=[READER])
                },
                egress=[
                    EgressRule(name="redis", port=6379, cidrs=["10.1.0.0/24"], roles=["worker"]),
                    EgressRule(
                        name="smtp", port=587, cidrs=["0.0.0.0/0"], prefix_list_ids=["pl-0123abcd"]
                    ),
                ],
                kms_key_arns=[KEY],
            )
        )
    )


def statements(deployment: Deployment, name: str) -> list[dict]:
    return json.loads(deployment.one(ROLE_POLICY, name).inputs["policy"])["Statement"]


def test_each_role_runs_with_its_own_task_role(dev: Deployment):
    roles = {role.name: role for role in dev.of_type("aws:iam/role:Role")}

    for role in ("web", "worker", "migrate"):
        task = dev.container_definitions(f"-{role}")
        definition = next(
            d for d in dev.of_type(TASK_DEFINITION) if d.inputs["family"].endswith(f"-{role}")
        )
        assert task["name"] == role
        assert definition.inputs["taskRoleArn"].endswith(f"/keel-dev-{role}-task")
        assert roles[f"task-{role}"].inputs["name"] == f"keel-dev-{role}-task"


def test_permissions_go_to_the_configured_role_only(custom: Deployment):
    attachments = custom.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    worker_role = custom.one("aws:iam/role:Role", "task-worker")

    # keel's own statements (the database secret, its key) come first, the team's after.
    assert statements(custom, "task-worker")[-1] == SEND
    for other in ("task-web", "task-migrate"):
        assert SEND not in statements(custom, other)
        assert all(
            s["Action"] in ("secretsmanager:GetSecretValue", "kms:Decrypt")
            for s in statements(custom, other)
        )
    (reader,) = [a for a in attachments if a.inputs["policyArn"] == READER]
    assert reader.name == "task-worker-orders-reader"
    assert reader.inputs["role"] == worker_role.inputs["name"]


def test_kms_keys_let_the_execution_role_decrypt_through_secrets_manager_only(
    custom: Deployment,
):
    (decrypt,) = [s for s in statements(custom, "execution") if s["Action"] == "kms:Decrypt"]

    assert decrypt["Resource"] == [KEY]
    assert decrypt["Condition"] == {
        "StringEquals": {"kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com"}
    }
    # The task roles read the database's secret themselves, with the same narrow grant.
    for role in ("web", "worker", "migrate"):
        (task_decrypt,) = [
            s for s in statements(custom, f"task-{role}") if s["Action"] == "kms:Decrypt"
        ]
        assert task_decrypt == decrypt


def test_egress_rules_open_the_configured_port_to_the_configured_roles(custom: Deployment):
    groups = {
        group.inputs["tags"]["keel:role"]: group.id
        for group in custom.of_type("aws:ec2/securityGroup:SecurityGroup")
        if "keel:role" in group.inputs["tags"]
    }
    added = {
        rule.name: rule
        for rule in custom.of_type(EGRESS)
        if "-out-redis-" in rule.name or "-out-smtp-" in rule.name
    }

    assert sorted(added) == [
        "migrate-out-smtp-0-0-0-0-0",
        "migrate-out-smtp-pl-0123abcd",
        "web-out-smtp-0-0-0-0-0",
        "web-out-smtp-pl-0123abcd",
        "worker-out-redis-10-1-0-0-24",
        "worker-out-smtp-0-0-0-0-0",
        "worker-out-smtp-pl-0123abcd",
    ]
    redis = added["worker-out-redis-10-1-0-0-24"].inputs
    assert redis["securityGroupId"] == groups["worker"]
    assert (redis["ipProtocol"], redis["fromPort"], redis["toPort"]) == ("tcp", 6379, 6379)
    assert redis["cidrIpv4"] == "10.1.0.0/24"
    assert added["web-out-smtp-pl-0123abcd"].inputs["prefixListId"] == "pl-0123abcd"


def test_without_knobs_tasks_reach_only_https_and_the_database(dev: Deployment):
    ports = {(rule.inputs["fromPort"], rule.inputs["toPort"]) for rule in dev.of_type(EGRESS)}

    assert ports == {(443, 443), (5432, 5432), (8000, 8000)}


@pytest.mark.parametrize("architecture", ["X86_64", "ARM64"])
def test_every_task_runs_on_the_configured_architecture(architecture: str):
    deployment = deploy(
        dev_config(cpu_architecture=architecture, worker=WorkerConfig(spot_percent=0))
    )

    platforms = {
        task.inputs["runtimePlatform"]["cpuArchitecture"]
        for task in deployment.of_type(TASK_DEFINITION)
    }
    assert platforms == {architecture}
    assert deployment.outputs["image_platform"] == (
        "linux/arm64" if architecture == "ARM64" else "linux/amd64"
    )


@pytest.mark.parametrize("role", ["web", "worker", "migrate"])
def test_root_filesystems_are_read_only_with_a_tmp_volume(dev: Deployment, role: str):
    container = dev.container_definitions(f"-{role}")
    task = next(t for t in dev.of_type(TASK_DEFINITION) if t.inputs["family"] == f"keel-dev-{role}")

    assert container["readonlyRootFilesystem"] is True
    assert container["mountPoints"] == [
        {"sourceVolume": "tmp", "containerPath": "/tmp", "readOnly": False}  # noqa: S108
    ]
    assert task.inputs["volumes"] == [{"name": "tmp"}]
    assert ECS_EXEC_TAG not in task.inputs["tags"]


def test_ecs_exec_makes_the_service_roots_writable_and_tags_them(dev_file: Deployment):
    """ECS Exec's agent writes into the container; the migrate task is never exec'd."""
    for role, writable in (("web", True), ("worker", True), ("migrate", False)):
        container = dev_file.container_definitions(f"-{role}")
        task = next(
            t for t in dev_file.of_type(TASK_DEFINITION) if t.inputs["family"] == f"keel-dev-{role}"
        )
        assert container["readonlyRootFilesystem"] is not writable
        assert (task.inputs["tags"].get(ECS_EXEC_TAG) == "enabled") is writable
    (cluster,) = dev_file.of_type("aws:ecs/cluster:Cluster")
    assert cluster.inputs["configuration"] == {"executeCommandConfiguration": {"logging": "NONE"}}


def refused(access: AccessConfig, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        dev_config(access=access)


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        ({"Effect": "Allow", "Action": "*", "Resource": QUEUE}, "every action of a service"),
        ({"Effect": "Allow", "Action": "sqs:*", "Resource": QUEUE}, "every action of a service"),
        (
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
            "Resource '\\*' for s3:GetObject",
        ),
        (
            {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "arn:aws:iam::1:role/*"},
            "iam:PassRole on .*: name the exact ARNs",
        ),
        (
            {
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": "arn:aws:kms:eu-west-1:1:key/*",
            },
            "kms:Decrypt on .*: name the exact ARNs",
        ),
        (
            {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"},
            "secretsmanager:GetSecretValue on '\\*'",
        ),
        ({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}, "NotAction grants everything"),
        ({"Effect": "Allow", "Action": "sqs:SendMessage"}, "Resource must name"),
        ({"Effect": "Permit", "Action": "sqs:SendMessage", "Resource": QUEUE}, "Effect must be"),
    ],
)
def test_wildcard_statements_are_refused(statement: dict, message: str):
    refused(
        AccessConfig(permissions={"worker": RolePermissions(statements=[statement])}),
        f"permissions.worker: statement 0: .*{message}",
    )


@pytest.mark.parametrize(
    "statement",
    [
        # No resource-level permissions exist for these: '*' is the only way.
        {"Effect": "Allow", "Action": "cloudwatch:PutMetricData", "Resource": "*"},
        {"Effect": "Deny", "Action": "*", "Resource": "*"},
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::uploads/*"]},
    ],
)
def test_narrow_statements_pass(statement: dict):
    dev_config(access=AccessConfig(permissions={"web": RolePermissions(statements=[statement])}))


@pytest.mark.parametrize(
    ("arn", "message"),
    [
        ("arn:aws:iam::aws:policy/AdministratorAccess", "administrator or full access"),
        ("arn:aws:iam::aws:policy/AmazonS3FullAccess", "administrator or full access"),
        ("arn:aws:iam::aws:policy/PowerUserAccess", "administrator or full access"),
        ("orders-reader", "not an IAM managed policy ARN"),
    ],
)
def test_broad_managed_policies_are_refused(arn: str, message: str):
    refused(
        AccessConfig(permissions={"web": RolePermissions(managed_policy_arns=[arn])}),
        f"permissions.web.managedPolicyArns: .*{message}",
    )


def test_permissions_for_an_unknown_role_are_refused():
    refused(AccessConfig(permissions={"admin": RolePermissions()}), "unknown roles \\['admin'\\]")


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (EgressRule(name="all", port=443, protocol="-1", cidrs=["10.0.0.0/8"]), "tcp or udp"),
        (
            EgressRule(name="wide", from_port=1, to_port=65535, cidrs=["10.0.0.0/8"]),
            "every port is open",
        ),
        (
            EgressRule(name="range", from_port=8000, to_port=9000, cidrs=["0.0.0.0/0"]),
            "the whole internet only on one port",
        ),
        (EgressRule(name="host", port=6379, cidrs=["10.1.0.7/16"]), "host bits set"),
        (EgressRule(name="nowhere", port=6379), "name cidrs or prefixListIds"),
        (EgressRule(name="Bad_Name", port=6379, cidrs=["10.1.0.0/24"]), "lowercase letters"),
        (EgressRule(name="x", port=6379, cidrs=["10.1.0.0/24"], roles=["db"]), "roles must be"),
        (
            EgressRule(name="both", port=1, from_port=1, to_port=2, cidrs=["10.1.0.0/24"]),
            "set port",
        ),
    ],
)
def test_unsafe_egress_is_refused(rule: EgressRule, message: str):
    refused(AccessConfig(egress=[rule]), message)


@pytest.mark.parametrize(
    "arn", ["arn:aws:kms:eu-west-1:123456789012:alias/keel", "arn:aws:kms:eu-west-1:1:key/*", "*"]
)
def test_kms_aliases_and_wildcards_are_refused(arn: str):
    refused(AccessConfig(kms_key_arns=[arn]), "kmsKeyArns: .*not a KMS key ARN")


def test_the_stack_file_reads_every_knob(prod: Deployment):
    """infra/Pulumi.prod.yaml uses each knob; all of them reach the resources."""
    (decrypt,) = [s for s in statements(prod, "execution") if s["Action"] == "kms:Decrypt"]
    uploads = [s for s in statements(prod, "task-worker") if "s3:PutObject" in s["Action"]]
    redis = [rule for rule in prod.of_type(EGRESS) if "-out-redis-" in rule.name]

    assert decrypt["Resource"][0].startswith("arn:aws:kms:eu-west-1:123456789012:key/")
    assert uploads
    assert sorted(rule.name.split("-out-")[0] for rule in redis) == ["web", "worker"]


def test_stack_config_reads_the_knobs_from_pulumi_config_values():
    """As ``pulumi config set --path`` stores them: ports may arrive as strings."""
    access = AccessConfig.from_values(
        permissions={"worker": {"statements": [SEND], "managedPolicyArns": [READER]}},
        egress=[{"name": "redis", "port": "6379", "cidrs": ["10.1.0.0/24"], "roles": ["worker"]}],
        kms_key_arns=[KEY],
    )

    access.check()
    assert access.permissions["worker"].statements == [SEND]
    assert access.egress[0].ports == (6379, 6379)
    with pytest.raises(ValueError, match="unknown RolePermissions keys: actions"):
        AccessConfig.from_values(
            permissions={"web": {"actions": []}}, egress=None, kms_key_arns=None
        )
