"""A project's rotated secret survives a rotation in a real ``keel web``: no failed request.

A view (``tests.views.partner_call``) calls a partner API on loopback with the secret
``PARTNER_API_KEY``, read from Secrets Manager on moto's server; the partner accepts one
key at a time. The rotation is done as a provider's is: the new key staged in the secret
(AWSPENDING), accepted by the partner (the old one no longer), then made current.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
import httpx
import pytest

from tests.moto import REGION, MotoServer, moto_server
from tests.processes import keel_web
from tests.views import PARTNER_SECRET

pytestmark = pytest.mark.e2e

HOST = "app.example.com"


class Partner(ThreadingHTTPServer):
    """An API that accepts one bearer key at a time and counts what it refused."""

    accepted = "key-one"
    refused = 0


class PartnerHandler(BaseHTTPRequestHandler):
    server: Partner

    def do_GET(self) -> None:
        if self.headers.get("Authorization") == f"Bearer {self.server.accepted}":
            status, body = 200, {"charged": True}
        else:
            self.server.refused += 1
            status, body = 401, {"error": "invalid api key"}
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def partner() -> Iterator[Partner]:
    server = Partner(("127.0.0.1", 0), PartnerHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def moto(tmp_path: Path) -> Iterator[MotoServer]:
    with moto_server(tmp_path / "moto.log") as server:
        yield server


def test_a_view_using_a_rotated_secret_fails_no_request_across_a_rotation(
    tmp_path: Path,
    moto: MotoServer,
    partner: Partner,
    migrated_environment: dict[str, str],
) -> None:
    aws = {k: v for k, v in moto.environment(tmp_path).items() if k not in ("PATH", "HOME")}
    secrets = boto3.client(
        "secretsmanager",
        endpoint_url=moto.url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    arn = secrets.create_secret(Name="partner-key", SecretString="key-one")["ARN"]
    environment = {
        **migrated_environment,
        **aws,
        "ROTATED_SECRETS": PARTNER_SECRET,
        f"{PARTNER_SECRET}_SECRET_ARN": arn,
        "TEST_PARTNER_URL": f"http://127.0.0.1:{partner.server_address[1]}/charge",
    }
    answers: list[tuple[int, str]] = []
    with keel_web(environment, log_dir=tmp_path) as web:
        with httpx.Client(base_url=web.url, headers={"Host": HOST}, timeout=15) as client:

            def call(times: int) -> None:
                for _ in range(times):
                    response = client.get("/test/partner/")
                    answers.append((response.status_code, response.text[:200]))

            call(3)
            # Staged, and the partner takes only the new key: the process is refused once.
            staged = secrets.put_secret_value(
                SecretId=arn, SecretString="key-two", VersionStages=["AWSPENDING"]
            )["VersionId"]
            partner.accepted = "key-two"
            call(3)
            refused_mid_rotation = partner.refused
            stages = secrets.describe_secret(SecretId=arn)["VersionIdsToStages"]
            current = next(v for v, labels in stages.items() if "AWSCURRENT" in labels)
            secrets.update_secret_version_stage(
                SecretId=arn,
                VersionStage="AWSCURRENT",
                MoveToVersionId=staged,
                RemoveFromVersionId=current,
            )
            call(3)
        log = web.log()

    assert answers == [(200, '{"charged": true}')] * 9
    # The rotation really was felt, and recovered from by reading the staged version.
    assert refused_mid_rotation == 1
    assert partner.refused == 1
    assert f"{PARTNER_SECRET} refreshed from its secret after a refused call" in log
    assert '"secret_stage": "AWSPENDING"' in log
