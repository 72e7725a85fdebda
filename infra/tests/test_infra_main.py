"""``infra/__main__.py`` reads the stack's Pulumi config and builds the same program."""

from __future__ import annotations

import json
import runpy

from keel_infra_mocks import CERTIFICATE_ARN, INFRA, RUNBOOK_BASE_URL, run_program


def test_main_reads_config_builds_keel_and_exports_its_outputs():
    config = {
        "keel:imageTag": "abc123",
        "keel:network": json.dumps({"cidr": "10.42.0.0/16", "nat": "per-az"}),
        "keel:web": json.dumps(
            {
                "minCount": 1,
                "deployment": {"strategy": "LINEAR"},
                "certificateArn": CERTIFICATE_ARN,
                "domainNames": ["keel-dev.example.com"],
            }
        ),
        "keel:alarms": json.dumps({"runbookBaseUrl": RUNBOOK_BASE_URL}),
    }

    deployment = run_program(
        "dev", lambda: runpy.run_path(str(INFRA / "__main__.py"))["app"], config
    )

    web = deployment.one("aws:ecs/service:Service", "web")
    assert web.inputs["deploymentConfiguration"]["strategy"] == "LINEAR"
    assert deployment.outputs["image"].endswith("/keel-dev:abc123")
    assert len(deployment.of_type("aws:ec2/natGateway:NatGateway")) == 2
    assert set(deployment.outputs) >= {"url", "cluster", "web_service", "worker_service"}
