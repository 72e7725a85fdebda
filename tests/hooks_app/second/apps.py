"""A second app with hooks, so the tests see the order in which the roles call them."""

from __future__ import annotations

from django.apps import AppConfig

from tests.hooks_app.apps import RecordingService


class SecondHooksConfig(AppConfig):
    name = "tests.hooks_app.second"
    label = "hooks_second"

    def keel_worker(self) -> RecordingService:
        return RecordingService("second")
