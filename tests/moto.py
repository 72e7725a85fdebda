"""moto's AWS emulator in server mode, on a free loopback port, stopped by its PID.

boto3 reaches it through ``AWS_ENDPOINT_URL``, the SDK's own setting, so the code under
test builds its clients exactly as it does against AWS.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.processes import free_port

REGION = "eu-west-1"
#: moto's default account and the identity of its default credentials.
ACCOUNT = "123456789012"
DEFAULT_IDENTITY = f"arn:aws:sts::{ACCOUNT}:user/moto"


@dataclass(frozen=True)
class MotoServer:
    url: str

    def reset(self) -> None:
        """Forget every resource (each test stands up its own stack)."""
        httpx.post(f"{self.url}/moto-api/reset", timeout=10).raise_for_status()

    def enforce_iam(self, enforce: bool) -> None:
        """Check every later request's credentials and IAM policies (moto's auth mode)."""
        value = "0" if enforce else "inf"
        httpx.post(f"{self.url}/moto-api/reset-auth", content=value, timeout=10).raise_for_status()

    def environment(
        self, home: Path, *, access_key: str = "testing", secret_key: str = "testing"
    ) -> dict[str, str]:
        """Return the environment of an operator whose boto3 talks to this server."""
        return {
            "PATH": "/usr/bin:/bin",
            "HOME": str(home),
            "AWS_ENDPOINT_URL": self.url,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": access_key,
            "AWS_SECRET_ACCESS_KEY": secret_key,
            "AWS_CONFIG_FILE": str(home / "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-aws-credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
        }


@contextlib.contextmanager
def moto_server(log: Path) -> Iterator[MotoServer]:
    """Start ``python -m moto.server`` on 127.0.0.1 and stop it (by PID) afterwards."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    httpx.get(f"{url}/moto-api/", timeout=1)
                    break
                except httpx.TransportError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(
                            f"moto server did not start: {log.read_text()}"
                        ) from None
                    time.sleep(0.1)
            yield MotoServer(url)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
