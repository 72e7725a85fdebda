"""``keel manage create_api_user <username>``: a user and an API token, printed."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from keel.agents.services import api_user_create


class Command(BaseCommand):
    help = "Create a user (or reuse an existing one) with an API token and print the token."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--email", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        _, key = api_user_create(username=options["username"], email=options["email"])
        self.stdout.write(key)
