"""Stack configuration and component arguments are checked before any resource exists."""

from __future__ import annotations

import inspect
import json
import re

import pulumi_aws as aws
import pytest
from keel_infra_mocks import (
    Deployment,
    StackFileConfig,
    deploy,
    dev_config,
    stack_file_config,
    web_config,
)

from keel import constants
from keel.infra.config import (
    DatabaseConfig,
    DeploymentConfig,
    NetworkConfig,
    StackConfig,
    WebConfig,
    WorkerConfig,
)
from keel.infra.database import Database, DatabaseArgs
from keel.infra.worker_service import capacity_provider_strategies


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"stack": "Dev"}, "stack name"),
        ({"stack": "a-very-long-stack-name-indeed"}, "too long"),
        ({"image": "repo:tag"}, "exactly one of image"),
        ({"environment": {"DATABASE_URL": "postgres://x"}}, "looks like a secret"),
        ({"environment": {"OPENAI_API_KEY": "sk-1"}}, "looks like a secret"),
        ({"secrets": {"OPENAI_API_KEY": "sk-not-an-arn"}}, "Secrets Manager ARN"),
        ({"log_retention_days": 0}, "logRetentionDays"),
        ({"network": NetworkConfig(vpc_id="vpc-1", private_subnet_ids=["a"])}, "two public"),
        ({"network": NetworkConfig(nat="none", vpc_endpoints=False)}, "cannot pull images"),
        ({"network": NetworkConfig(availability_zones=1)}, "availabilityZones"),
        ({"database": DatabaseConfig(backup_retention_days=0)}, "backups"),
        ({"web": web_config(cpu=256, memory=4096)}, "Fargate task size"),
        ({"web": web_config(min_count=3, max_count=2)}, "minCount"),
        ({"web": web_config(deployment=DeploymentConfig(strategy="ALL_AT_ONCE"))}, "strategy"),
        ({"web": web_config(deployment=DeploymentConfig(canary_percent=0))}, "canaryPercent"),
        ({"worker": WorkerConfig(spot_percent=101)}, "spotPercent"),
        ({"web": web_config(certificate_arn="arn:aws:iam::1:server-certificate/x")}, "not an ACM"),
        ({"web": web_config(domain_names=())}, "domainNames must list"),
        ({"web": web_config(domain_names=("Keel.Example.com",))}, "lowercase host name"),
        ({"region": "us-east-1"}, "certificate is in eu-west-1, the stack in us-east-1"),
        ({"cpu_architecture": "AMD64"}, "cpuArchitecture must be one of X86_64, ARM64"),
        (
            {"cpu_architecture": "ARM64", "worker": WorkerConfig(spot_percent=50)},
            "Fargate Spot runs X86_64 tasks only",
        ),
    ],
)
def test_bad_config_is_refused_with_the_name_of_the_value(changes: dict, message: str):
    config = dev_config().replace(**changes)

    with pytest.raises(ValueError, match=message):
        config.check()


def test_an_http_only_stack_is_refused_with_the_reason():
    """keel redirects every path but /healthz to HTTPS outside DEBUG; HTTP-only half-works."""
    config = dev_config().replace(web=WebConfig(domain_names=("a.example",)))

    with pytest.raises(ValueError, match="certificateArn is required") as refused:
        config.check()
    assert "SECURE_SSL_REDIRECT" in str(refused.value)
    assert "/healthz" in str(refused.value)


def test_a_bad_config_creates_no_resource():
    config = dev_config().replace(log_retention_days=0)

    with pytest.raises(ValueError, match="logRetentionDays"):
        deploy(config)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_example_stack_files_are_valid(stack: str):
    config = stack_file_config(stack)

    assert config.stack == stack
    assert config.web.deployment.strategy == "CANARY"


def test_unknown_config_keys_are_refused(monkeypatch: pytest.MonkeyPatch):
    stack_file = StackFileConfig("dev")
    monkeypatch.setitem(stack_file._values, "web", {"minCount": 1, "minimumCount": 2})

    with pytest.raises(ValueError, match="minimumCount"):
        StackConfig.from_pulumi(stack_file, stack="dev")


def test_pulumi_yaml_documents_every_config_key():
    import yaml
    from keel_infra_mocks import INFRA

    text = (INFRA / "Pulumi.yaml").read_text()
    schema = yaml.safe_load(text)["config"]
    documented = {f"keel:{key}" for key in schema} | set(re.findall(r"#\s+(keel:\w+)", text))
    for stack in ("dev", "prod"):
        used = yaml.safe_load((INFRA / f"Pulumi.{stack}.yaml").read_text())["config"]
        keel_keys = {key for key in used if not key.startswith("aws:")}
        assert keel_keys <= documented, f"Pulumi.{stack}.yaml uses undocumented keys"
    for key, entry in schema.items():
        # Pulumi's project schema knows only these types, and a key without a
        # default would be required in every stack.
        assert entry["type"] in {"string", "boolean", "integer", "array"}, key
        assert "default" in entry, f"{key} has no default"
        assert entry.get("description"), f"{key} has no description"


def test_component_checks_its_arguments_before_creating_anything():
    with pytest.raises(ValueError, match="client security group"):
        Database(
            "database",
            DatabaseArgs(
                config=DatabaseConfig(),
                prefix="keel-dev",
                vpc_id="vpc-1",
                subnet_ids=["subnet-1"],
                client_security_groups={},
                log_retention_days=7,
                tags={},
            ),
        )


def test_worker_floor_stays_on_demand_and_the_rest_can_be_spot():
    assert capacity_provider_strategies(2, 0) == [
        {"capacity_provider": "FARGATE", "base": 2, "weight": 100}
    ]
    assert capacity_provider_strategies(2, 60) == [
        {"capacity_provider": "FARGATE", "base": 2, "weight": 40},
        {"capacity_provider": "FARGATE_SPOT", "weight": 60},
    ]


def test_worker_autoscales_on_cpu_above_its_floor(prod: Deployment):
    target = prod.one("aws:appautoscaling/target:Target", "worker")
    policy = prod.one("aws:appautoscaling/policy:Policy", "worker-cpu")
    configuration = policy.inputs["targetTrackingScalingPolicyConfiguration"]

    assert target.inputs["minCapacity"] == 2
    assert target.inputs["maxCapacity"] == 8
    assert configuration["predefinedMetricSpecification"]["predefinedMetricType"] == (
        "ECSServiceAverageCPUUtilization"
    )
    assert "ignoreChanges" not in target.inputs


def test_worker_autoscales_on_queued_work_per_running_task_beside_cpu(prod: Deployment):
    policy = prod.one("aws:appautoscaling/policy:Policy", "worker-backlog")
    configuration = policy.inputs["targetTrackingScalingPolicyConfiguration"]
    metrics = {
        metric["id"]: metric for metric in configuration["customizedMetricSpecification"]["metrics"]
    }
    worker = prod.one("aws:ecs/service:Service", "worker")
    container = json.loads(
        prod.one("aws:ecs/taskDefinition:TaskDefinition", "worker").inputs["containerDefinitions"]
    )[0]
    published_as = {item["name"]: item["value"] for item in container["environment"]}[
        "KEEL_METRICS_SERVICE"
    ]

    assert configuration["targetValue"] == 10
    queued = metrics["queued"]["metricStat"]
    assert queued["metric"]["metricName"] == constants.QUEUED_WORK
    assert queued["metric"]["namespace"] == constants.METRICS_NAMESPACE
    assert queued["stat"] == "Maximum"  # every worker publishes the same database-wide count
    # The gauge is read under the name the worker's task definition publishes it with.
    assert queued["metric"]["dimensions"] == [{"name": "Service", "value": published_as}]
    assert published_as == worker.inputs["name"]
    assert metrics["tasks"]["metricStat"]["metric"]["metricName"] == "RunningTaskCount"
    assert metrics["per_task"]["returnData"] is True
    assert "FILL(queued, 0) / tasks" in metrics["per_task"]["expression"]
    # CPU stays a second policy on the same scalable target.
    names = {policy.name for policy in prod.of_type("aws:appautoscaling/policy:Policy")}
    assert {"worker-cpu", "worker-backlog"} <= names


def test_worker_backlog_target_must_be_positive():
    with pytest.raises(ValueError, match="backlogPerTask"):
        WorkerConfig(backlog_per_task=0).check()


def test_web_autoscales_on_cpu_and_requests(dev: Deployment):
    names = {policy.name for policy in dev.of_type("aws:appautoscaling/policy:Policy")}

    assert {"web-cpu", "web-requests"} <= names
    assert "desiredCount" in dev.one("aws:ecs/service:Service", "web").ignore_changes


def test_https_listener_uses_tls12_and_http_redirects(prod: Deployment):
    listeners = {listener.name: listener for listener in prod.of_type("aws:lb/listener:Listener")}

    assert listeners["https"].inputs["sslPolicy"].startswith("ELBSecurityPolicy-TLS13-1-2")
    assert listeners["http-redirect"].inputs["defaultActions"][0]["redirect"]["protocol"] == (
        "HTTPS"
    )


def test_ecs_exec_and_container_insights(dev_file: Deployment, dev: Deployment):
    (cluster,) = dev.of_type("aws:ecs/cluster:Cluster")

    assert cluster.inputs["settings"] == [{"name": "containerInsights", "value": "enhanced"}]
    assert dev.one("aws:ecs/service:Service", "web").inputs["enableExecuteCommand"] is False
    assert dev_file.one("aws:ecs/service:Service", "web").inputs["enableExecuteCommand"] is True
    for role in ("web", "worker"):
        policy = json.loads(
            dev_file.one("aws:iam/rolePolicy:RolePolicy", f"task-{role}").inputs["policy"]
        )
        assert any("ssmmessages" in str(s["Action"]) for s in policy["Statement"])
    migrate = json.loads(
        dev_file.one("aws:iam/rolePolicy:RolePolicy", "task-migrate").inputs["policy"]
    )
    assert not [s for s in migrate["Statement"] if "ssmmessages" in str(s["Action"])]


@pytest.mark.parametrize("role", ["web", "worker"])
def test_bedrock_is_scoped_to_configured_models(prod: Deployment, dev: Deployment, role: str):
    policy = json.loads(prod.one("aws:iam/rolePolicy:RolePolicy", f"task-{role}").inputs["policy"])
    (bedrock,) = [s for s in policy["Statement"] if "bedrock:InvokeModel" in s["Action"]]

    assert bedrock["Resource"] == [
        "arn:aws:bedrock:eu-west-1::foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0"
    ]
    assert "bedrock" not in json.dumps(
        [p.inputs["policy"] for p in dev.of_type("aws:iam/rolePolicy:RolePolicy")]
    )


def test_ecr_repository_has_a_lifecycle_policy(dev: Deployment):
    (lifecycle,) = dev.of_type("aws:ecr/lifecyclePolicy:LifecyclePolicy")
    (repository,) = dev.of_type("aws:ecr/repository:Repository")

    assert json.loads(lifecycle.inputs["policy"])["rules"]
    assert repository.inputs["imageTagMutability"] == "IMMUTABLE"


def _taggable(resource_type: str) -> bool:
    package, _, class_name = resource_type.partition(":")[2].partition(":")
    module = package.split("/")[0]
    resource_class = getattr(getattr(aws, module), class_name)
    return "tags" in inspect.signature(resource_class._internal_init).parameters


def test_every_taggable_resource_is_tagged_with_its_stack(dev: Deployment):
    untagged = [
        (resource.type, resource.name)
        for resource in dev.custom()
        if resource.type.startswith("aws:")
        and _taggable(resource.type)
        and resource.inputs.get("tags", {}).get("keel:stack") != "dev"
    ]

    assert untagged == []


def test_environment_contract(dev: Deployment):
    environment = {
        item["name"]: item["value"] for item in dev.container_definitions("-web")["environment"]
    }

    assert set(environment) == {
        "DJANGO_SETTINGS_MODULE",
        "DEBUG",
        "ALLOWED_HOSTS",
        "PORT",
        "FORWARDED_ALLOW_IPS",
        "DATABASE_HOST",
        "DATABASE_PORT",
        "DATABASE_NAME",
        "DATABASE_USER",
        "DATABASE_PASSWORD_SECRET_ARN",
        "AWS_REGION",
        "KEEL_METRICS_SERVICE",
    }
    assert environment["KEEL_METRICS_SERVICE"] == "keel-dev-web"
    assert environment["FORWARDED_ALLOW_IPS"] == "10.0.0.0/16"
    assert environment["DEBUG"] == "false"
    assert environment["ALLOWED_HOSTS"].endswith(".elb.amazonaws.com")


def test_web_concurrency_is_set_only_on_web_when_configured():
    deployment = deploy(dev_config(web=web_config(concurrency=4)))

    def names(role: str) -> dict:
        definition = deployment.container_definitions(f"-{role}")
        return {item["name"]: item["value"] for item in definition["environment"]}

    assert names("web")["WEB_CONCURRENCY"] == "4"
    assert "WEB_CONCURRENCY" not in names("worker")


def test_outputs_name_what_operators_need(dev: Deployment):
    assert dev.outputs["url"] == "https://keel-dev.example.com"
    assert dev.outputs["load_balancer_dns_name"].endswith(".elb.amazonaws.com")
    assert dev.outputs["migrate_log_group"] == "/keel/keel-dev/migrate"
    assert dev.outputs["one_off_network_configuration"] == (
        "awsvpcConfiguration={subnets=[subnet-private-0,subnet-private-1],"
        "securityGroups=[sg-migrate],assignPublicIp=DISABLED}"
    )
    assert dev.outputs["cluster"] == "keel-dev"
    assert dev.outputs["web_service"] == "keel-dev-web"
    assert dev.outputs["worker_service"] == "keel-dev-worker"
    assert dev.outputs["migration_task_family"] == "keel-dev-migrate"
    https = dev.one("aws:lb/listener:Listener", "https")
    assert dev.outputs["https_listener_arn"] == https.outputs["arn"]
    assert https.inputs["port"] == 443
    alb_group = dev.one("aws:ec2/securityGroup:SecurityGroup", "alb")
    assert dev.outputs["load_balancer_security_group"] == alb_group.id
