"""`keel cutover` run as an operator runs it, against moto's server on loopback.

Each test stands keel's cutover stack up in moto from the Pulumi program's own
resources (tests/cutover/stack.py), runs the command in a new process whose boto3
differs from an operator's only by ``AWS_ENDPOINT_URL``, and reads the result back from
the emulated AWS: the rule's weights, the change log, what was printed.
"""

from __future__ import annotations

import datetime
import json
import re
import subprocess
import time

import pytest

from tests.cutover.conftest import Cutover
from tests.moto import DEFAULT_IDENTITY

# Neither a database nor Django: the same on every CI phase, so it runs in the first only.
pytestmark = [pytest.mark.e2e, pytest.mark.once, pytest.mark.timeout(120)]


#: A change record's fields; the line on stdout adds keel's log fields (time, level, ...).
RECORD = ("event", "route", "rule", "from", "to", "who", "when", "reason")


def changes(stdout: str) -> list[dict]:
    """Return the weight-change records a command printed (JSON lines on stdout)."""
    lines = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    return [
        {key: line[key] for key in RECORD}
        for line in lines
        if line.get("event") == "cutover.weight"
    ]


def rule(cutover: Cutover, route: str) -> dict:
    (found,) = cutover.aws["elbv2"].describe_rules(RuleArns=[cutover.stood.rules[route]])["Rules"]
    return found


def put_metrics(cutover: Cutover, group: str, **values: float) -> None:
    dimensions = [
        {"Name": "LoadBalancer", "Value": cutover.stood.load_balancer_arn_suffix},
        {
            "Name": "TargetGroup",
            "Value": "targetgroup/" + cutover.stood.target_groups[group].split(":targetgroup/")[1],
        },
    ]
    when = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=1)
    cutover.aws["cloudwatch"].put_metric_data(
        Namespace="AWS/ApplicationELB",
        MetricData=[
            {"MetricName": name, "Dimensions": dimensions, "Timestamp": when, "Value": value}
            for name, value in values.items()
        ],
    )


def alarm(cutover: Cutover, route: str, kind: str, state: str) -> str:
    name = f"keel-dev-cutover-{route}-{kind}"
    cutover.aws["cloudwatch"].set_alarm_state(AlarmName=name, StateValue=state, StateReason="test")
    return name


# ---- status ---------------------------------------------------------------------------


def test_status_shows_each_routes_weights_health_on_both_sides_and_alarms(cutover: Cutover):
    put_metrics(
        cutover,
        "keel-dev-orders-fn",
        RequestCount=1000,
        HTTPCode_Target_5XX_Count=3,
        LambdaUserError=2,
    )
    put_metrics(cutover, "keel-dev-orders-keel", RequestCount=50, HTTPCode_Target_5XX_Count=1)
    alarm(cutover, "reports", "latency-p95", "ALARM")

    shown = cutover.run("status")
    as_json = cutover.run("status", "--json")

    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0] == "orders  (path-pattern /orders,/orders/*)"
    assert lines[1] == "  weights  keel 0 % / lambda 100 %"
    assert lines[3].split() == ["lambda", "1000", "0.50", "%", "no", "data"]
    assert lines[4].split() == ["keel", "50", "2.00", "%", "no", "data"]
    assert "reports  (host-header reports.example.com)" in lines
    assert "  weights  keel 25 % / lambda 75 %" in lines
    assert (
        "  alarms   keel-dev-cutover-reports-5xx-rate OK, keel-dev-cutover-reports-latency-p95 ALARM"
        in lines
    )
    orders, reports = json.loads(as_json.stdout)
    assert orders["health"]["lambda"] == {
        "requests": 1000.0,
        "errors": 5.0,
        "error_rate_percent": 0.5,
        # moto computes no percentiles (GetMetricStatistics returns the datapoint without
        # ExtendedStatistics), so the p95 column can only say "no data" here.
        "p95_seconds": None,
    }
    assert orders["health"]["keel"]["error_rate_percent"] == 2.0
    assert reports["weights"] == {"lambda": 75, "keel": 25}
    assert reports["alarms"]["keel-dev-cutover-reports-latency-p95"] == "ALARM"


# ---- step and bake -----------------------------------------------------------------------


def tags(cutover: Cutover, route: str) -> list[dict]:
    (described,) = cutover.aws["elbv2"].describe_tags(ResourceArns=[cutover.stood.rules[route]])[
        "TagDescriptions"
    ]
    return sorted(described["Tags"], key=lambda tag: tag["Key"])


def test_step_moves_the_weight_bakes_and_logs_who_when_from_and_to(cutover: Cutover):
    before, tags_before = rule(cutover, "orders"), tags(cutover, "orders")
    started = datetime.datetime.now(datetime.UTC)

    stepped = cutover.run("step", "orders", "--to", "5", "--bake", "1s", "--poll", "0.2s")

    assert stepped.returncode == 0, stepped.stderr
    assert cutover.weights("orders") == {"lambda": 95, "keel": 5}
    (record,) = changes(stepped.stdout)
    assert record["who"] == DEFAULT_IDENTITY
    assert (
        started
        <= datetime.datetime.fromisoformat(record["when"])
        <= datetime.datetime.now(datetime.UTC)
    )
    assert (record["from"], record["to"], record["reason"]) == (
        {"lambda": 100, "keel": 0},
        {"lambda": 95, "keel": 5},
        "step",
    )
    assert cutover.logged("orders") == [record]
    assert "baked 1 s at keel 5 % / lambda 95 %, alarms quiet" in stepped.stderr
    after = rule(cutover, "orders")
    # Only the weights moved: conditions, priority and tags are Pulumi's and stay as they were.
    for key in ("Conditions", "Priority"):
        assert after[key] == before[key]
    assert tags(cutover, "orders") == tags_before
    assert cutover.weights("reports") == {"lambda": 75, "keel": 25}


def test_an_alarm_during_the_bake_puts_the_weight_back_where_it_was(cutover: Cutover):
    # The context manager closes the pipes and waits; the finally kills it (by its PID)
    # if an assertion left it baking.
    with subprocess.Popen(
        cutover.command("step", "reports", "--to", "50", "--bake", "30s", "--poll", "0.2s"),
        env=cutover.environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            deadline = time.monotonic() + 30
            while cutover.weights("reports") != {"lambda": 50, "keel": 50}:
                assert process.poll() is None, process.communicate()
                assert time.monotonic() < deadline, "the step never moved the weight"
                time.sleep(0.1)
            fired = alarm(cutover, "reports", "5xx-rate", "ALARM")
            stdout, stderr = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()

    assert process.returncode == 3, stderr
    assert cutover.weights("reports") == {"lambda": 75, "keel": 25}
    step, back = changes(stdout)
    assert (step["from"], step["to"]) == ({"lambda": 75, "keel": 25}, {"lambda": 50, "keel": 50})
    assert (back["from"], back["to"]) == ({"lambda": 50, "keel": 50}, {"lambda": 75, "keel": 25})
    assert back["reason"] == f"bake: {fired} went into ALARM"
    assert cutover.logged("reports") == [step, back]
    assert f"{fired} in ALARM; back to keel 25 % / lambda 75 %" in stderr


def test_step_refuses_to_start_while_an_alarm_fires(cutover: Cutover):
    fired = alarm(cutover, "orders", "latency-p95", "ALARM")

    refused = cutover.run("step", "orders", "--to", "5", "--bake", "1s")

    assert refused.returncode == 1
    assert refused.stderr == (
        f"keel cutover step: route orders: {fired} in ALARM already; nothing changed. Look at "
        "it first, or `keel cutover rollback orders`\n"
    )
    assert cutover.weights("orders") == {"lambda": 100, "keel": 0}
    assert cutover.logged("orders") == []


# ---- rollback ------------------------------------------------------------------------------


def test_rollback_puts_everything_on_lambda_in_one_change(cutover: Cutover):
    alarm(cutover, "reports", "5xx-rate", "ALARM")

    rolled = cutover.run("rollback", "reports")
    again = cutover.run("rollback", "reports")

    assert rolled.returncode == 0, rolled.stderr
    assert cutover.weights("reports") == {"lambda": 100, "keel": 0}
    (record,) = changes(rolled.stdout)
    assert (record["from"], record["to"], record["reason"]) == (
        {"lambda": 75, "keel": 25},
        {"lambda": 100, "keel": 0},
        "rollback",
    )
    assert again.returncode == 0
    assert changes(again.stdout) == []
    assert "reports is already at keel 0 % / lambda 100 %; nothing to change" in again.stderr
    assert cutover.logged("reports") == [record]


def test_rollback_is_one_modify_rule_and_nothing_else_changes(
    cutover: Cutover, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
):
    from keel.cutover.aws import Aws
    from keel.runtime.cli import main

    for name, value in cutover.environment().items():
        monkeypatch.setenv(name, value)
    calls: list[str] = []
    call = Aws.call

    def counted(self: Aws, service: str, operation: str, **parameters: object) -> object:
        calls.append(f"{service}:{operation}")
        return call(self, service, operation, **parameters)

    monkeypatch.setattr(Aws, "call", counted)

    assert main(["cutover", "rollback", "reports", "--stack", "dev"]) == 0
    writes = [c for c in calls if not c.split(":")[1].startswith(("Describe", "Get", "Filter"))]
    assert writes == ["elbv2:ModifyRule", "logs:CreateLogStream", "logs:PutLogEvents"]
    assert cutover.weights("reports") == {"lambda": 100, "keel": 0}
    (record,) = changes(capsys.readouterr().out)
    assert record["reason"] == "rollback"


# ---- retire --------------------------------------------------------------------------------


def test_retire_reports_what_keel_no_longer_reaches_and_removes_nothing(cutover: Cutover):
    functions = cutover.aws["lambda"]
    functions.add_permission(
        FunctionName="legacy-orders",
        StatementId="old-api-gateway",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn="arn:aws:execute-api:eu-west-1:123456789012:abc123/*/GET/orders",
    )
    queue = cutover.aws["sqs"].create_queue(QueueName="orders-jobs")["QueueUrl"]
    queue_arn = cutover.aws["sqs"].get_queue_attributes(
        QueueUrl=queue, AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    mapping = functions.create_event_source_mapping(
        EventSourceArn=queue_arn, FunctionName="legacy-orders"
    )
    assert cutover.run("step", "orders", "--to", "100", "--bake", "0s").returncode == 0
    assert cutover.run("step", "reports", "--to", "100", "--bake", "0s").returncode == 0
    time.sleep(1.2)  # orders' retireAfterHours is one second, reports' the default 168

    report = cutover.run("retire")
    as_json = {
        entry["route"]: entry for entry in json.loads(cutover.run("retire", "--json").stdout)
    }

    assert report.returncode == 0, report.stderr
    lines = report.stdout.splitlines()
    assert lines[0].startswith("orders: ready: 100 % keel with quiet alarms since ")
    function = cutover.stood.functions["legacy-orders"] + ":live"
    assert f"  no longer reachable through keel's ALB: {function}" in lines
    assert (
        f"  added by keel for it: {cutover.stood.target_groups['keel-dev-orders-fn']}, "
        "permission keel-dev-cutover-orders"
    ) in lines
    assert (
        "    resource policy old-api-gateway: apigateway.amazonaws.com from "
        "arn:aws:execute-api:eu-west-1:123456789012:abc123/*/GET/orders" in lines
    )
    assert f"    event source mapping {mapping['UUID']}: {queue_arn} ({mapping['State']})" in lines
    assert not [
        line for line in lines if "keel-dev-cutover-orders" in line and "resource policy" in line
    ]
    (reports,) = [line for line in lines if line.startswith("reports: ")]
    assert re.fullmatch(
        r"reports: not yet: 100 % keel with quiet alarms for \d s of the 168\.0 h required "
        r"\(since .+\)",
        reports,
    )
    assert as_json["orders"]["ready"] is True
    assert as_json["orders"]["function_arn"] == function
    assert as_json["reports"]["ready"] is False
    # Nothing was removed: the rule, its target groups and keel's permission are all there.
    assert cutover.weights("orders") == {"lambda": 0, "keel": 100}
    policy = json.loads(
        functions.get_policy(FunctionName="legacy-orders", Qualifier="live")["Policy"]
    )
    assert "keel-dev-cutover-orders" in [statement["Sid"] for statement in policy["Statement"]]


def test_an_alarm_after_the_move_restarts_the_retire_clock(cutover: Cutover):
    assert cutover.run("step", "reports", "--to", "100", "--bake", "0s").returncode == 0
    (moved,) = cutover.logged("reports")
    name = alarm(cutover, "reports", "5xx-rate", "ALARM")
    firing = cutover.run("retire")
    alarm(cutover, "reports", "5xx-rate", "OK")
    (described,) = cutover.aws["cloudwatch"].describe_alarms(AlarmNames=[name])["MetricAlarms"]

    restarted = cutover.run("retire")

    assert f"reports: not yet: {name} is ALARM" in firing.stdout
    since = described["StateUpdatedTimestamp"].astimezone(datetime.UTC)
    assert since > datetime.datetime.fromisoformat(moved["when"])
    assert f"of the 168.0 h required (since {since.isoformat()})" in restarted.stdout


# ---- what an operator sees when something is wrong -----------------------------------------


def test_without_credentials_the_error_names_the_call_and_the_chain(cutover: Cutover):
    environment = cutover.environment()
    del environment["AWS_ACCESS_KEY_ID"], environment["AWS_SECRET_ACCESS_KEY"]

    failed = cutover.run("status", environment=environment)

    assert failed.returncode == 1
    assert failed.stdout == ""
    (line,) = failed.stderr.splitlines()
    assert line.startswith(
        "keel cutover status: no usable AWS credentials for elasticloadbalancing:DescribeLoadBalancers"
    )
    assert "boto3's standard chain" in line


def test_a_missing_permission_is_named_and_nothing_changes(cutover: Cutover):
    iam = cutover.aws["iam"]
    iam.create_user(UserName="operator")
    iam.put_user_policy(
        UserName="operator",
        PolicyName="read-only",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": [
                            "elasticloadbalancing:Describe*",
                            "cloudwatch:DescribeAlarms",
                            # moto checks CloudWatch calls under its endpoint's prefix,
                            # "monitoring", where IAM says "cloudwatch".
                            "monitoring:DescribeAlarms",
                            "sts:GetCallerIdentity",
                        ],
                        "Resource": "*",
                    }
                ],
            }
        ),
    )
    key = iam.create_access_key(UserName="operator")["AccessKey"]
    cutover.server.enforce_iam(True)

    denied = cutover.run(
        "step",
        "orders",
        "--to",
        "5",
        "--bake",
        "1s",
        environment=cutover.environment(
            access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"]
        ),
    )
    cutover.server.enforce_iam(False)

    assert denied.returncode == 1
    (line,) = denied.stderr.splitlines()
    assert line.startswith("keel cutover step: AWS denied elasticloadbalancing:ModifyRule: ")
    assert "arn:aws:iam::123456789012:user/operator" in line
    assert 'docs/migration.md ("Permissions for keel cutover")' in line
    assert "Traceback" not in denied.stderr
    assert cutover.weights("orders") == {"lambda": 100, "keel": 0}
    assert cutover.logged("orders") == []


def test_credentials_aws_does_not_know_are_named_as_such(cutover: Cutover):
    cutover.server.enforce_iam(True)
    refused = cutover.run(
        "status", environment=cutover.environment(access_key="AKIAUNKNOWNKEY000000", secret_key="x")
    )
    cutover.server.enforce_iam(False)

    assert refused.returncode == 1
    (line,) = refused.stderr.splitlines()
    assert line.startswith(
        "keel cutover status: AWS refused the credentials for elasticloadbalancing:DescribeLoadBalancers: "
    )
    assert "(InvalidClientTokenId)" in line


def test_an_unknown_route_or_stack_is_named(cutover: Cutover):
    unknown_route = cutover.run("rollback", "invoices")
    unknown_stack = cutover.run("status", stack="prod")

    assert unknown_route.returncode == unknown_stack.returncode == 1
    assert unknown_route.stderr.startswith(
        "keel cutover rollback: stack keel-dev has no cutover route 'invoices' (routes: orders, reports)"
    )
    assert unknown_stack.stderr.startswith(
        "keel cutover status: no load balancer named keel-prod in this account and region"
    )
