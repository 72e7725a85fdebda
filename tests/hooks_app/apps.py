"""``keel worker`` and ``keel migrate`` call these hooks; each call is a line in a log file."""

from __future__ import annotations

import os
import time

from django.apps import AppConfig


def record(line: str) -> None:
    with open(os.environ["KEEL_TEST_HOOKS_LOG"], "a") as log:
        log.write(line + "\n")


class RecordingService:
    """A worker service whose drain takes ``KEEL_TEST_DRAIN_SECONDS`` (0 by default)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def start(self) -> None:
        record(f"{self.name} start")
        if self.name == "first":
            # Tell the test the role is up (the agents app says "worker started").
            record("ready")

    def stop_intake(self) -> None:
        record(f"{self.name} stop_intake")

    def drain(self, timeout: float) -> bool:
        record(f"{self.name} drain {timeout:.1f}")
        wanted = float(os.environ.get("KEEL_TEST_DRAIN_SECONDS", "0"))
        time.sleep(min(wanted, timeout))
        return wanted <= timeout

    def close(self) -> None:
        record(f"{self.name} close")


class FirstHooksConfig(AppConfig):
    name = "tests.hooks_app"
    label = "hooks_first"

    def keel_worker(self) -> RecordingService:
        return RecordingService("first")

    def keel_migrate(self) -> str:
        record("first migrate")
        return "first app migrated"
