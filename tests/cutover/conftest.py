"""One moto server per test process; each test stands keel's cutover stack up in it anew."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.cutover.stack import Stood, clients, deployment, stand_up
from tests.moto import MotoServer, moto_server
from tests.processes import KEEL, REPO


def routes() -> tuple:
    """Two routes as a team would list them; ``orders`` may retire after one second."""
    from keel.infra.cutover_config import CutoverRoute

    return (
        CutoverRoute(
            name="orders",
            function_name="legacy-orders",
            qualifier="live",
            paths=("/orders", "/orders/*"),
            priority=10,
            retire_after_hours=1 / 3600,
        ),
        CutoverRoute(
            name="reports",
            function_name="legacy-reports",
            hosts=("reports.example.com",),
            priority=20,
            keel_percent=25,
        ),
    )


@pytest.fixture(scope="session")
def program() -> Any:
    """keel's Pulumi program with the two routes, run under mocks once."""
    return deployment(routes())


@pytest.fixture(scope="session")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    with moto_server(tmp_path_factory.mktemp("moto") / "moto.log") as server:
        yield server


@dataclass
class Cutover:
    """A stack stood up in moto, and a way to run `keel cutover` against it."""

    server: MotoServer
    stood: Stood
    aws: dict[str, Any]
    home: Path

    def command(self, *arguments: str, stack: str = "dev") -> list[str]:
        command, *rest = arguments
        return [KEEL, "cutover", command, "--stack", stack, *rest]

    def environment(self, **credentials: str) -> dict[str, str]:
        return self.server.environment(self.home, **credentials)

    def run(
        self, *arguments: str, stack: str = "dev", environment: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess:
        """Run `keel cutover ARGUMENTS --stack STACK` as an operator would, in a new process."""
        return subprocess.run(
            self.command(*arguments, stack=stack),
            env=self.environment() if environment is None else environment,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def weights(self, route: str) -> dict[str, int]:
        (rule,) = self.aws["elbv2"].describe_rules(RuleArns=[self.stood.rules[route]])["Rules"]
        groups = rule["Actions"][0]["ForwardConfig"]["TargetGroups"]
        names = {arn: name for name, arn in self.stood.target_groups.items()}
        sides = {"fn": "lambda", "keel": "keel"}
        return {sides[names[g["TargetGroupArn"]].rsplit("-", 1)[1]]: g["Weight"] for g in groups}

    def logged(self, route: str) -> list[dict[str, Any]]:
        events = self.aws["logs"].filter_log_events(
            logGroupName=self.stood.log_group, logStreamNames=[route]
        )["events"]
        return [json.loads(event["message"]) for event in events]


@pytest.fixture
def cutover(moto: MotoServer, program: Any, tmp_path: Path) -> Iterator[Cutover]:
    moto.reset()
    yield Cutover(server=moto, stood=stand_up(moto, program), aws=clients(moto), home=tmp_path)
    moto.enforce_iam(False)
