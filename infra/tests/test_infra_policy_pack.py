"""``infra/policy`` starts as the Pulumi CLI starts it and judges resources over gRPC.

``pulumi preview --policy-pack policy`` runs the pack's ``__main__.py``, reads the port it
prints and talks to it over Pulumi's Analyzer protocol; this does the same.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import grpc
import pytest
from google.protobuf import empty_pb2, struct_pb2
from keel_infra_mocks import INFRA
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from keel.infra import policies
from keel.infra.policies import rules


@pytest.fixture(scope="module")
def analyzer() -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    with subprocess.Popen(
        [sys.executable, str(INFRA / "policy" / "__main__.py")],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=INFRA / "policy",
    ) as process:
        try:
            assert process.stdout is not None
            port = int(process.stdout.readline())
            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                grpc.channel_ready_future(channel).result(timeout=30)
                yield analyzer_pb2_grpc.AnalyzerStub(channel)
        finally:
            process.terminate()
            process.wait(timeout=30)


def analyze(stub: analyzer_pb2_grpc.AnalyzerStub, resource_type: str, props: dict) -> list:
    properties = struct_pb2.Struct()
    properties.update(props)
    request = analyzer_pb2.AnalyzeRequest(
        type=resource_type,
        properties=properties,
        urn=f"urn:pulumi:dev::keel::{resource_type}::example",
        name="example",
        options=analyzer_pb2.AnalyzerResourceOptions(),
    )
    return list(stub.Analyze(request).diagnostics)


def test_the_pack_serves_every_policy(analyzer: analyzer_pb2_grpc.AnalyzerStub):
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())

    assert info.name == "keel"
    assert [policy.name for policy in info.policies] == [p.name for p in policies.policies()]


def test_the_pack_reports_a_wildcard_grant_and_passes_a_narrow_one(
    analyzer: analyzer_pb2_grpc.AnalyzerStub,
):
    def document(action: str) -> dict:
        statement = {"Effect": "Allow", "Action": action, "Resource": "arn:aws:s3:::uploads/*"}
        return {"name": "keel-task", "policy": json.dumps({"Statement": [statement]})}

    wildcard = analyze(analyzer, rules.ROLE_POLICY, document("s3:*"))
    narrow = analyze(analyzer, rules.ROLE_POLICY, document("s3:GetObject"))

    assert [d.policyName for d in wildcard] == ["keel-iam-least-privilege"]
    assert "every action of a service" in wildcard[0].message
    assert narrow == []
