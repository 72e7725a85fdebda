"""Stand keel's cutover resources up in moto as the Pulumi program declares them.

The program is run under keel's Pulumi mocks (infra/tests/keel_infra_mocks.py), and
every resource the controller reads is created in moto from what was registered: the
ALB's name, the target groups' names, types and tags, each rule's listener, priority,
conditions, weights and tags, the alarms' names and tags, the log group, the looked-up
functions and keel's permission on them. A tag or name the component and the
controller disagree on fails here, not in an operator's first cutover. The alarms keep
their names and tags but watch one plain metric each: the controller reads only their
state, which the tests set with SetAlarmState.
"""

from __future__ import annotations

import importlib
import io
import sys
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from keel import constants
from tests.moto import REGION, MotoServer

INFRA_TESTS = Path(__file__).resolve().parents[2] / "infra" / "tests"
RULE = "aws:lb/listenerRule:ListenerRule"
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
PERMISSION = "aws:lambda/permission:Permission"
ATTACHMENT = "aws:lb/targetGroupAttachment:TargetGroupAttachment"


def deployment(routes: Any) -> Any:
    """Run keel's Pulumi program under mocks with ``routes`` in keel:cutover."""
    if str(INFRA_TESTS) not in sys.path:
        sys.path.insert(0, str(INFRA_TESTS))
    with warnings.catch_warnings():
        # As infra/tests/conftest.py: sibling modules of pulumi_aws warn at import time
        # about resource types keel never uses.
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"pulumi_aws\.")
        from conftest import PULUMI_AWS_MODULES

        for module in PULUMI_AWS_MODULES:
            getattr(importlib.import_module(f"pulumi_aws.{module}"), "_utilities", None)
    from keel_infra_mocks import deploy, dev_config

    from keel.infra.cutover_config import CutoverConfig

    return deploy(dev_config(cutover=CutoverConfig(routes=tuple(routes))))


@dataclass
class Stood:
    """What was created in moto, by the name or route the program gave it."""

    rules: dict[str, str] = field(default_factory=dict)
    target_groups: dict[str, str] = field(default_factory=dict)
    alarms: dict[str, list[str]] = field(default_factory=dict)
    functions: dict[str, str] = field(default_factory=dict)
    load_balancer_arn_suffix: str = ""
    log_group: str = ""


def clients(server: MotoServer) -> dict[str, Any]:
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    )
    return {
        name: session.client(name, endpoint_url=server.url)
        for name in ("ec2", "elbv2", "cloudwatch", "logs", "lambda", "iam", "sqs")
    }


def stand_up(server: MotoServer, program: Any) -> Stood:
    """Create the program's cutover resources (and the ALB they hang on) in moto."""
    aws = clients(server)
    stood = Stood()
    ec2 = aws["ec2"]
    vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.42.{i}.0/24", AvailabilityZone=f"{REGION}{z}")[
            "Subnet"
        ]["SubnetId"]
        for i, z in enumerate("ab")
    ]
    (balancer,) = program.of_type("aws:lb/loadBalancer:LoadBalancer")
    balancer_arn = aws["elbv2"].create_load_balancer(
        Name=balancer.inputs["name"], Subnets=subnets, Tags=_tags(balancer.inputs["tags"])
    )["LoadBalancers"][0]["LoadBalancerArn"]
    stood.load_balancer_arn_suffix = balancer_arn.split(":loadbalancer/", 1)[1]
    # moto's HTTPS listeners need an ACM certificate; the controller reads every listener.
    listener = aws["elbv2"].create_listener(
        LoadBalancerArn=balancer_arn,
        Protocol="HTTP",
        Port=443,
        DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}],
    )["Listeners"][0]["ListenerArn"]
    arns: dict[str, str] = {}
    for group in program.of_type(TARGET_GROUP):
        inputs = group.inputs
        parameters: dict[str, Any] = {"Name": inputs["name"], "TargetType": inputs["targetType"]}
        if inputs["targetType"] == "ip":
            parameters |= {"Protocol": "HTTP", "Port": int(inputs["port"]), "VpcId": vpc}
        created = aws["elbv2"].create_target_group(**parameters, Tags=_tags(inputs["tags"]))
        arns[group.outputs["arn"]] = created["TargetGroups"][0]["TargetGroupArn"]
        stood.target_groups[inputs["name"]] = arns[group.outputs["arn"]]
    _functions(aws, program, arns, stood)
    for rule in program.of_type(RULE):
        inputs = rule.inputs
        created = aws["elbv2"].create_rule(
            ListenerArn=listener,
            Priority=int(inputs["priority"]),
            Conditions=[_condition(condition) for condition in inputs["conditions"]],
            Actions=[_action(action, arns) for action in inputs["actions"]],
            Tags=_tags(inputs["tags"]),
        )
        stood.rules[inputs["tags"].get(constants.CUTOVER_ROUTE_TAG, rule.name)] = created["Rules"][
            0
        ]["RuleArn"]
    for alarm in program.of_type(ALARM):
        route = alarm.inputs["tags"].get(constants.CUTOVER_ROUTE_TAG)
        if route is None:
            continue
        aws["cloudwatch"].put_metric_alarm(
            AlarmName=alarm.inputs["name"],
            Namespace="AWS/ApplicationELB",
            MetricName="HTTPCode_Target_5XX_Count",
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="GreaterThanThreshold",
            Tags=_tags(alarm.inputs["tags"]),
        )
        stood.alarms.setdefault(route, []).append(alarm.inputs["name"])
    (log_group,) = [
        group
        for group in program.of_type("aws:cloudwatch/logGroup:LogGroup")
        if group.inputs["name"].endswith("/cutover")
    ]
    stood.log_group = log_group.inputs["name"]
    aws["logs"].create_log_group(logGroupName=stood.log_group)
    return stood


def _functions(aws: dict[str, Any], program: Any, arns: dict[str, str], stood: Stood) -> None:
    """Create the looked-up functions (the old stack's), then keel's permission and target."""
    role = aws["iam"].create_role(
        RoleName="legacy-lambda", AssumeRolePolicyDocument='{"Version": "2012-10-17"}'
    )["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return {}\n")
    for token, arguments in program.invokes:
        if token != "aws:lambda/getFunction:getFunction":
            continue
        name = arguments["functionName"].rsplit(":", 1)[-1]
        function = aws["lambda"].create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler="handler.handler",
            Code={"ZipFile": code.getvalue()},
            Publish=True,
        )
        qualifier = arguments.get("qualifier")
        if qualifier:
            aws["lambda"].create_alias(
                FunctionName=name, Name=qualifier, FunctionVersion=function["Version"]
            )
        stood.functions[name] = function["FunctionArn"].split(":$")[0]
    for permission in program.of_type(PERMISSION):
        inputs = permission.inputs
        parameters = {
            "FunctionName": inputs["function"],
            "StatementId": inputs["statementId"],
            "Action": inputs["action"],
            "Principal": inputs["principal"],
            "SourceArn": arns[inputs["sourceArn"]],
        }
        if inputs.get("qualifier"):
            parameters["Qualifier"] = inputs["qualifier"]
        aws["lambda"].add_permission(**parameters)
    for attachment in program.of_type(ATTACHMENT):
        # The mocks' account and region are moto's, so the function's ARN is the same.
        aws["elbv2"].register_targets(
            TargetGroupArn=arns[attachment.inputs["targetGroupArn"]],
            Targets=[{"Id": attachment.inputs["targetId"]}],
        )


def _tags(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in tags.items()]


def _condition(condition: dict[str, Any]) -> dict[str, Any]:
    if "pathPattern" in condition:
        return {
            "Field": "path-pattern",
            "PathPatternConfig": {"Values": condition["pathPattern"]["values"]},
        }
    return {
        "Field": "host-header",
        "HostHeaderConfig": {"Values": condition["hostHeader"]["values"]},
    }


def _action(action: dict[str, Any], arns: dict[str, str]) -> dict[str, Any]:
    if "targetGroupArn" in action:
        return {"Type": "forward", "TargetGroupArn": arns[action["targetGroupArn"]]}
    return {
        "Type": "forward",
        "ForwardConfig": {
            "TargetGroups": [
                {"TargetGroupArn": arns[group["arn"]], "Weight": int(group["weight"])}
                for group in action["forward"]["targetGroups"]
            ]
        },
    }
