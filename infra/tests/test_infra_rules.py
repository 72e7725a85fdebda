"""The rules of issue 5, checked on the resources keel's program registers (preview=False)."""

from __future__ import annotations

import json

import pytest
from keel_infra_mocks import (
    EXISTING_VPC_CIDR,
    Deployment,
    Recorded,
    deploy,
    dev_config,
    web_config,
)

from keel import constants
from keel.infra.config import DeploymentConfig, looks_secret
from keel.infra.policies import stack

SERVICE = "aws:ecs/service:Service"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
TASK_ROLES = ("web", "worker", "migrate")


def groups_by_role(deployment: Deployment) -> dict[str, Recorded]:
    return {
        group.inputs["tags"]["keel:role"]: group
        for group in deployment.of_type(SECURITY_GROUP)
        if "keel:role" in group.inputs.get("tags", {})
    }


def service(deployment: Deployment, role: str) -> Recorded:
    return deployment.one(SERVICE, role)


# 1. No public IPs; tasks only in private subnets -------------------------------------


@pytest.mark.parametrize("role", ["web", "worker"])
def test_services_assign_no_public_ip_and_use_private_subnets(dev: Deployment, role: str):
    network = service(dev, role).inputs["networkConfiguration"]
    private = sorted(
        subnet.id
        for subnet in dev.of_type("aws:ec2/subnet:Subnet")
        if subnet.inputs["tags"]["keel:tier"] == "private"
    )

    assert network["assignPublicIp"] is False
    assert sorted(network["subnets"]) == private
    assert len(private) == 2


@pytest.mark.parametrize("command", ["migrate", "preflight"])
def test_one_off_tasks_run_in_private_subnets_without_public_ip(dev: Deployment, command: str):
    run = dev.one("command:local:Command", command)
    private = [
        subnet.id
        for subnet in dev.of_type("aws:ec2/subnet:Subnet")
        if subnet.inputs["tags"]["keel:tier"] == "private"
    ]

    assert sorted(run.inputs["environment"]["SUBNETS"].split(",")) == sorted(private)
    assert "assignPublicIp=DISABLED" in run.inputs["create"]


def test_new_subnets_never_map_public_ips(dev: Deployment):
    for subnet in dev.of_type("aws:ec2/subnet:Subnet"):
        assert subnet.inputs["mapPublicIpOnLaunch"] is False


# 2. Security groups --------------------------------------------------------------------


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_task_ingress_only_on_app_port_from_the_alb(name: str, request):
    deployment: Deployment = request.getfixturevalue(name)
    groups = groups_by_role(deployment)
    task_group_ids = {groups[role].id: role for role in TASK_ROLES}
    task_ingress = [
        rule
        for rule in deployment.of_type(INGRESS)
        if rule.inputs["securityGroupId"] in task_group_ids
    ]

    assert [task_group_ids[rule.inputs["securityGroupId"]] for rule in task_ingress] == ["web"]
    (rule,) = task_ingress
    assert rule.inputs["referencedSecurityGroupId"] == groups["alb"].id
    assert (rule.inputs["fromPort"], rule.inputs["toPort"]) == (constants.PORT, constants.PORT)
    assert "cidrIpv4" not in rule.inputs
    assert service(deployment, "web").inputs["networkConfiguration"]["securityGroups"] == [
        groups["web"].id
    ]
    assert service(deployment, "worker").inputs["networkConfiguration"]["securityGroups"] == [
        groups["worker"].id
    ]


def test_database_admits_5432_only_from_every_task_group(dev: Deployment):
    groups = groups_by_role(dev)
    database_ingress = [
        rule
        for rule in dev.of_type(INGRESS)
        if rule.inputs["securityGroupId"] == groups["database"].id
    ]

    assert sorted(rule.inputs["referencedSecurityGroupId"] for rule in database_ingress) == sorted(
        groups[role].id for role in TASK_ROLES
    )
    for rule in database_ingress:
        assert (rule.inputs["fromPort"], rule.inputs["toPort"]) == (5432, 5432)
        assert "cidrIpv4" not in rule.inputs
    (database,) = dev.of_type("aws:rds/instance:Instance")
    assert database.inputs["vpcSecurityGroupIds"] == [groups["database"].id]


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_only_the_alb_is_open_to_the_world_and_only_on_80_and_443(name: str, request):
    deployment: Deployment = request.getfixturevalue(name)
    groups = groups_by_role(deployment)
    world = [
        rule
        for rule in deployment.of_type(INGRESS)
        if rule.inputs.get("cidrIpv4") == "0.0.0.0/0" or rule.inputs.get("cidrIpv6") == "::/0"
    ]

    assert {rule.inputs["securityGroupId"] for rule in world} == {groups["alb"].id}
    assert sorted(rule.inputs["fromPort"] for rule in world) == [80, 443]
    assert all(rule.inputs["fromPort"] == rule.inputs["toPort"] for rule in world)
    for group in deployment.of_type(SECURITY_GROUP):
        assert not group.inputs.get("ingress"), "rules must be separate resources"
    (alb,) = deployment.of_type("aws:lb/loadBalancer:LoadBalancer")
    assert alb.inputs["securityGroups"] == [groups["alb"].id]


# 3. Circuit breaker --------------------------------------------------------------------


@pytest.mark.parametrize("strategy", ["CANARY", "LINEAR", "BLUE_GREEN", "ROLLING"])
def test_every_service_has_the_circuit_breaker_with_rollback_for_every_strategy(strategy: str):
    deployment = deploy(dev_config(web=web_config(deployment=DeploymentConfig(strategy=strategy))))

    services = deployment.of_type(SERVICE)
    assert len(services) == 2
    for recorded in services:
        assert recorded.inputs["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    web = service(deployment, "web").inputs
    assert web["deploymentConfiguration"]["strategy"] == strategy
    assert web["alarms"]["enable"] is True
    assert web["alarms"]["rollback"] is True


# 4. Health check and timeouts ----------------------------------------------------------


def test_target_groups_use_the_runtime_constants(dev: Deployment):
    groups = dev.of_type("aws:lb/targetGroup:TargetGroup")

    assert len(groups) == 2
    for group in groups:
        check = group.inputs["healthCheck"]
        assert group.inputs["port"] == constants.PORT
        assert group.inputs["targetType"] == "ip"
        assert check["path"] == constants.HEALTH_PATH
        assert check["port"] == str(constants.PORT)
        assert check["interval"] == constants.HEALTH_CHECK_INTERVAL
        assert check["timeout"] == constants.HEALTH_CHECK_TIMEOUT
        assert check["healthyThreshold"] == constants.HEALTH_CHECK_HEALTHY_THRESHOLD
        assert check["unhealthyThreshold"] == constants.HEALTH_CHECK_UNHEALTHY_THRESHOLD
        assert check["matcher"] == constants.HEALTH_CHECK_MATCHER
        assert group.inputs["deregistrationDelay"] == constants.DEREGISTRATION_DELAY
    web = service(dev, "web").inputs
    assert web["healthCheckGracePeriodSeconds"] == constants.HEALTH_CHECK_GRACE_PERIOD
    assert web["loadBalancers"][0]["containerPort"] == constants.PORT
    (alb,) = dev.of_type("aws:lb/loadBalancer:LoadBalancer")
    assert alb.inputs["idleTimeout"] == constants.ALB_IDLE_TIMEOUT


@pytest.mark.parametrize("role", TASK_ROLES)
def test_stop_timeout_exceeds_graceful_timeouts_and_deregistration_delay(
    dev: Deployment, role: str
):
    stop_timeout = dev.container_definitions(f"-{role}")["stopTimeout"]

    assert stop_timeout == constants.STOP_TIMEOUT
    assert constants.DEREGISTRATION_DELAY < stop_timeout <= 120
    assert stop_timeout > constants.WEB_GRACEFUL_TIMEOUT
    assert stop_timeout > constants.WORKER_GRACEFUL_TIMEOUT


def test_worker_stop_timeout_is_120(dev: Deployment):
    assert dev.container_definitions("-worker")["stopTimeout"] == 120


# 5. Secrets ----------------------------------------------------------------------------


#: The database password is not injected: it rotates, so the processes read it themselves.
EXPECTED_SECRETS = {"SECRET_KEY"}


@pytest.mark.parametrize("name", ["dev", "prod"])
@pytest.mark.parametrize("role", TASK_ROLES)
def test_no_secret_in_plain_environment(name: str, role: str, request):
    deployment: Deployment = request.getfixturevalue(name)
    container = deployment.container_definitions(f"-{role}")
    environment = {item["name"]: item["value"] for item in container["environment"]}

    assert not [key for key, value in environment.items() if looks_secret(key, value)]
    assert "DATABASE_URL" not in environment
    assert all("@" not in value for value in environment.values())
    assert "r" * 64 not in json.dumps(container), "the generated SECRET_KEY leaked"


def test_secrets_come_only_through_secrets(dev: Deployment, prod: Deployment):
    dev_secrets = {s["name"] for s in dev.container_definitions("-web")["secrets"]}
    prod_secrets = {s["name"] for s in prod.container_definitions("-web")["secrets"]}

    assert dev_secrets == EXPECTED_SECRETS
    assert prod_secrets == EXPECTED_SECRETS | {"OPENAI_API_KEY", "ANTHROPIC_API_KEY"}


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_execution_role_reads_exactly_the_injected_secrets(name: str, request):
    deployment: Deployment = request.getfixturevalue(name)
    execution = deployment.one("aws:iam/rolePolicy:RolePolicy", "execution")
    injected = stack.injected_secret_arns(
        task.inputs for task in deployment.of_type(TASK_DEFINITION)
    )

    readable = stack.readable_secret_arns([execution.inputs])
    assert readable == injected
    assert len(injected) == (1 if name == "dev" else 3)
    assert (
        stack.secrets_match((resource.type, resource.inputs) for resource in deployment.custom())
        == []
    )
    for task in deployment.of_type(TASK_DEFINITION):
        roles = deployment.of_type("aws:iam/role:Role")
        execution_role = next(role for role in roles if role.name == "execution")
        assert task.inputs["executionRoleArn"].endswith(execution_role.inputs["name"])


def test_secret_with_a_json_key_is_granted_by_its_arn():
    arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:shared/keys-AbCdEf"
    deployment = deploy(dev_config(secrets={"OPENAI_API_KEY": f"{arn}:openai::"}))

    readable = stack.readable_secret_arns(
        [deployment.one("aws:iam/rolePolicy:RolePolicy", "execution").inputs]
    )
    assert arn in readable
    assert not any(resource.endswith("::") for resource in readable)


# 6. Database ---------------------------------------------------------------------------


def test_database_is_protected_retained_encrypted_and_private(dev: Deployment):
    (database,) = dev.of_type("aws:rds/instance:Instance")

    assert database.protect is True
    assert database.retain_on_delete is True
    assert database.inputs["deletionProtection"] is True
    assert database.inputs["storageEncrypted"] is True
    assert database.inputs["publiclyAccessible"] is False
    assert database.inputs["manageMasterUserPassword"] is True
    assert database.inputs["backupRetentionPeriod"] >= 1
    assert "password" not in database.inputs


# 7. Logs -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_every_log_group_has_retention_and_every_container_logs_to_one(name: str, request):
    deployment: Deployment = request.getfixturevalue(name)
    log_groups = {
        group.inputs["name"]: group
        for group in deployment.of_type("aws:cloudwatch/logGroup:LogGroup")
    }

    for group in log_groups.values():
        assert group.inputs["retentionInDays"] >= 1
    for role in TASK_ROLES:
        options = deployment.container_definitions(f"-{role}")["logConfiguration"]["options"]
        assert options["awslogs-group"] in log_groups
    assert any(name.endswith("/postgresql") for name in log_groups)


# 8. One image; services after the migration ---------------------------------------------


def test_web_worker_and_migration_run_the_same_image(dev: Deployment):
    images = {dev.container_definitions(f"-{role}")["image"] for role in TASK_ROLES}

    assert images == {dev.outputs["image"]}
    commands = {role: dev.container_definitions(f"-{role}")["command"] for role in TASK_ROLES}
    assert commands == {role: [role] for role in TASK_ROLES}


def test_both_services_depend_on_the_migration(dev: Deployment):
    run = dev.one("command:local:Command", "migrate")

    for role in ("web", "worker"):
        assert run.urn in service(dev, role).dependencies
    assert run.inputs["triggers"] == [dev.outputs["image"]]
    assert run.inputs["environment"]["TASK_DEFINITION"] == dev.outputs["migration_task_family"]


def test_migration_waits_for_the_database_and_its_task_definition(dev: Deployment):
    run = dev.one("command:local:Command", "migrate")
    (database,) = dev.of_type("aws:rds/instance:Instance")
    migrate_task = next(
        task for task in dev.of_type(TASK_DEFINITION) if task.inputs["family"].endswith("-migrate")
    )

    assert database.urn in run.dependencies
    assert migrate_task.urn in run.dependencies


# 9. Existing VPC -----------------------------------------------------------------------

NETWORK_BUILDING = (
    "aws:ec2/vpc:Vpc",
    "aws:ec2/subnet:Subnet",
    "aws:ec2/routeTable:RouteTable",
    "aws:ec2/routeTableAssociation:RouteTableAssociation",
    "aws:ec2/route:Route",
    "aws:ec2/internetGateway:InternetGateway",
    "aws:ec2/natGateway:NatGateway",
    "aws:ec2/eip:Eip",
)


def test_existing_vpc_creates_no_network(prod: Deployment):
    created = {resource.type for resource in prod.custom()}

    assert not created & set(NETWORK_BUILDING)
    assert "aws:ec2/getVpc:getVpc" in prod.calls
    configured = ["subnet-0bbbbbbbbbbbbbbb1", "subnet-0bbbbbbbbbbbbbbb2"]
    for role in ("web", "worker"):
        assert service(prod, role).inputs["networkConfiguration"]["subnets"] == configured
    (alb,) = prod.of_type("aws:lb/loadBalancer:LoadBalancer")
    assert alb.inputs["subnets"] == ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2"]
    environment = {
        item["name"]: item["value"] for item in prod.container_definitions("-web")["environment"]
    }
    assert environment["FORWARDED_ALLOW_IPS"] == EXISTING_VPC_CIDR


def test_new_vpc_does_build_the_network(dev: Deployment):
    created = {resource.type for resource in dev.custom()}

    assert set(NETWORK_BUILDING) - {"aws:ec2/route:Route"} <= created


# 10. Two stacks, no colliding names ----------------------------------------------------

PHYSICAL_NAME_KEYS = ("name", "namePrefix", "identifier", "family", "finalSnapshotIdentifier")
#: Names that are scoped to a parent resource rather than global to the account.
PARENT_SCOPED = ("aws:iam/rolePolicy:RolePolicy",)


def physical_names(deployment: Deployment) -> set[tuple[str, str]]:
    names = set()
    for resource in deployment.custom():
        if resource.type in PARENT_SCOPED:
            continue
        for key in PHYSICAL_NAME_KEYS:
            if isinstance(resource.inputs.get(key), str):
                names.add((resource.type, resource.inputs[key]))
    return names


def test_dev_and_prod_physical_names_never_collide(dev_file: Deployment, prod: Deployment):
    dev_names, prod_names = physical_names(dev_file), physical_names(prod)

    assert len(dev_names) > 20
    assert not dev_names & prod_names
    for _, name in dev_names:
        assert "dev" in name, f"{name} does not include the stack"


def test_physical_names_are_unique_within_a_stack(dev: Deployment):
    names = [
        (resource.type, resource.inputs[key])
        for resource in dev.custom()
        if resource.type not in PARENT_SCOPED
        for key in PHYSICAL_NAME_KEYS
        if isinstance(resource.inputs.get(key), str)
    ]

    assert len(names) == len(set(names))


# 11. Canary by default, rolled back on the ALB's alarms -------------------------------


def test_web_deploys_by_canary_by_default_and_rolls_back_on_5xx_and_unhealthy_alarms(
    dev: Deployment,
):
    web = service(dev, "web").inputs
    alarms = {
        alarm.inputs["name"]: alarm
        for alarm in dev.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
        if alarm.inputs["name"] in dev.outputs["rollback_alarms"]
    }
    # keel's own alarms (backlog, failures...) notify; they never roll a deployment back.
    assert not set(dev.outputs["operations_alarms"]) & set(web["alarms"]["alarmNames"])

    assert web["deploymentConfiguration"]["strategy"] == "CANARY"
    assert 0 < web["deploymentConfiguration"]["canaryConfiguration"]["canaryPercent"] <= 20
    assert web["alarms"] == {
        "alarmNames": sorted(alarms, key=web["alarms"]["alarmNames"].index),
        "enable": True,
        "rollback": True,
    }
    metrics = {
        alarm_name: {
            query["metric"]["metricName"]
            for query in alarm.inputs["metricQueries"]
            if "metric" in query
        }
        for alarm_name, alarm in alarms.items()
    }
    assert any("HTTPCode_Target_5XX_Count" in names for names in metrics.values())
    assert any("HTTPCode_ELB_5XX_Count" in names for names in metrics.values())
    assert any("UnHealthyHostCount" in names for names in metrics.values())


def test_gradual_strategies_route_through_the_alternate_target_group(dev: Deployment):
    advanced = service(dev, "web").inputs["loadBalancers"][0]["advancedConfiguration"]
    group_arns = {group.name: group for group in dev.of_type("aws:lb/targetGroup:TargetGroup")}
    rule = dev.one("aws:lb/listenerRule:ListenerRule", "production")

    assert service(dev, "web").inputs["loadBalancers"][0]["targetGroupArn"].endswith("web-a/0123")
    assert advanced["alternateTargetGroupArn"].endswith("web-b/0123")
    assert advanced["productionListenerRule"].endswith("production")
    assert advanced["roleArn"].endswith("keel-dev-ecs-load-balancer")
    assert "actions" in rule.ignore_changes
    assert set(group_arns) == {"web-a", "web-b"}


def test_rolling_needs_no_alternate_target_group():
    deployment = deploy(dev_config(web=web_config(deployment=DeploymentConfig(strategy="ROLLING"))))

    assert "advancedConfiguration" not in service(deployment, "web").inputs["loadBalancers"][0]
