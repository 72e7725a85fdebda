"""``keel lambdas import``: templates as KEEL_LAMBDAS entries, and what is left out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from keel.lambdas import registry
from keel.lambdas.cloudformation import load
from keel.lambdas.importer import FromEnvironment, import_template, render

REPO = Path(__file__).resolve().parents[2]
SAM = REPO / "tests" / "data" / "lambda_sam" / "template.yaml"


def test_short_form_tags_are_read_as_their_long_forms() -> None:
    document = load(
        """
Resources:
  A:
    Properties:
      Arn: !GetAtt Queue.Arn
      Listed: !GetAtt [Queue, Arn]
      Name: !Sub "${AWS::StackName}-orders"
      Pair: !Sub ["${x}-y", {x: !Ref Stage}]
      Joined: !Join [",", [a, !Ref B]]
      Chosen: !If [IsProd, !Ref A, !Ref "AWS::NoValue"]
"""
    )
    properties = document["Resources"]["A"]["Properties"]
    assert properties["Arn"] == {"Fn::GetAtt": ["Queue", "Arn"]}
    assert properties["Listed"] == {"Fn::GetAtt": ["Queue", "Arn"]}
    assert properties["Name"] == {"Fn::Sub": "${AWS::StackName}-orders"}
    assert properties["Pair"] == {"Fn::Sub": ["${x}-y", {"x": {"Ref": "Stage"}}]}
    assert properties["Joined"] == {"Fn::Join": [",", ["a", {"Ref": "B"}]]}
    assert properties["Chosen"] == {"Fn::If": ["IsProd", {"Ref": "A"}, {"Ref": "AWS::NoValue"}]}


def test_an_unknown_tag_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown CloudFormation tag !Bogus"):
        load("A: !Bogus x")


def test_the_sample_sam_template_becomes_settings_entries() -> None:
    imported = import_template(SAM, root=REPO)
    assert sorted(imported.functions) == [
        "FulfilmentFunction",
        "NightlyReportFunction",
        "OrdersFunction",
    ]
    orders = imported.functions["OrdersFunction"]
    assert orders["handler"] == "tests.data.lambda_sam.orders.app.lambda_handler"
    assert (orders["timeout"], orders["memory"]) == (10, 256)  # Globals.Function
    assert orders["triggers"] == [
        {
            "type": "http",
            "path": "/orders",
            "methods": ["GET"],
            "format": "apigateway-v1",
            "stage": "prod",
        },
        {
            "type": "http",
            "path": "/orders/{order_id}",
            "methods": ["GET"],
            "format": "apigateway-v1",
            "stage": "prod",
        },
    ]
    fulfilment = imported.functions["FulfilmentFunction"]
    assert (fulfilment["retries"], fulfilment["maximum_event_age"]) == (1, 3600)
    assert fulfilment["triggers"] == [
        {
            "type": "sqs",
            "queue_url": FromEnvironment("FULFILMENT_QUEUE_URL"),
            "batch_size": 5,
            "report_batch_item_failures": True,
        }
    ]
    report = imported.functions["NightlyReportFunction"]
    assert report["triggers"] == [
        {"type": "schedule", "expression": "cron(0 2 * * ? *)"},
        {"type": "schedule", "expression": "rate(1 minute)", "input": {"kind": "heartbeat"}},
    ]
    assert "FULFILMENT_QUEUE_URL" in imported.variables
    assert "TABLE_NAME" in imported.variables
    assert any(
        "ThumbnailFunction: runtime nodejs20.x is not Python" in note for note in imported.notes
    )


def test_the_rendered_settings_load_as_the_registry_reads_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = render(import_template(SAM, root=REPO), source="template.yaml")
    assert "env.string('FULFILMENT_QUEUE_URL')" in text
    monkeypatch.setenv("FULFILMENT_QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/123456789012/f")
    namespace: dict[str, Any] = {}
    exec(compile(text, "lambdas_settings.py", "exec"), namespace)  # noqa: S102  (our own output)
    functions = registry.load(namespace["KEEL_LAMBDAS"])
    assert functions["FulfilmentFunction"].queue_triggers[0].queue_url.endswith("/f")
    assert functions["NightlyReportFunction"].schedule_triggers[1].cron == "0 * * * * *"


def test_plain_cloudformation_functions_mappings_and_rules(tmp_path: Path) -> None:
    template = tmp_path / "stack.json"
    template.write_text(
        json.dumps(
            {
                "Resources": {
                    "Worker": {
                        "Type": "AWS::Lambda::Function",
                        "Properties": {
                            "Runtime": "python3.13",
                            "Handler": "tests.lambdas.handlers.send_receipt",
                            "Timeout": 60,
                            "Code": {"S3Bucket": "b", "S3Key": "k"},
                        },
                    },
                    "Mapping": {
                        "Type": "AWS::Lambda::EventSourceMapping",
                        "Properties": {
                            "FunctionName": {"Ref": "Worker"},
                            "EventSourceArn": "arn:aws:sqs:eu-west-1:123456789012:receipts",
                            "BatchSize": 2,
                        },
                    },
                    "Hourly": {
                        "Type": "AWS::Events::Rule",
                        "Properties": {
                            "ScheduleExpression": "rate(1 hour)",
                            "Targets": [{"Arn": {"Fn::GetAtt": ["Worker", "Arn"]}, "Id": "w"}],
                        },
                    },
                }
            }
        )
    )
    imported = import_template(template, root=tmp_path)
    assert imported.functions["Worker"] == {
        "handler": "tests.lambdas.handlers.send_receipt",
        "timeout": 60,
        "memory": 128,
        "triggers": [
            {
                "type": "sqs",
                "queue_url": "https://sqs.eu-west-1.amazonaws.com/123456789012/receipts",
                "batch_size": 2,
                "report_batch_item_failures": False,
            },
            {"type": "schedule", "expression": "rate(1 hour)"},
        ],
    }


def test_serverless_framework_functions(tmp_path: Path) -> None:
    (tmp_path / "serverless.yml").write_text(
        """
service: shop
provider:
  name: aws
  runtime: python3.12
functions:
  orders:
    handler: src/orders.handler
    timeout: 20
    events:
      - http: {path: "orders/{id}", method: get}
      - httpApi: "POST /orders"
      - schedule: rate(10 minutes)
      - sqs: {arn: "arn:aws:sqs:us-east-1:123456789012:jobs", batchSize: 4}
      - websocket: $connect
"""
    )
    imported = import_template(tmp_path / "serverless.yml", root=tmp_path)
    entry = imported.functions["orders"]
    assert entry["handler"] == "src.orders.handler"
    assert [trigger["type"] for trigger in entry["triggers"]] == ["http", "http", "schedule", "sqs"]
    assert entry["triggers"][0]["path"] == "/orders/{id}"
    assert entry["triggers"][1] == {
        "type": "http",
        "path": "/orders",
        "methods": ["POST"],
        "format": "apigateway-v2",
    }
    assert imported.notes == ["orders.events[4]: websocket events are not translated"]


def test_a_schedule_without_an_exact_cron_is_reported_not_written(tmp_path: Path) -> None:
    (tmp_path / "template.yaml").write_text(
        """
Resources:
  F:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      Events:
        Odd: {Type: Schedule, Properties: {Schedule: rate(7 minutes)}}
        Upload: {Type: S3, Properties: {Bucket: !Ref B, Events: "s3:ObjectCreated:*"}}
"""
    )
    imported = import_template(tmp_path / "template.yaml", root=tmp_path)
    assert imported.functions["F"]["triggers"] == []
    assert any(
        "F.Events.Odd: rate(7 minutes) has no exact cron form" in note for note in imported.notes
    )
    assert any("F.Events.Upload: S3 events are not translated" in note for note in imported.notes)
