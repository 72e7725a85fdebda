"""``keel manage revoke_api_token <username>``: delete the user's API token at once."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from rest_framework.authtoken.models import Token


class Command(BaseCommand):
    help = (
        "Revoke a user's API token. TokenAuthentication reads the token table on every "
        "request, so the next request with the old key is refused (401) by every process."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, **options: Any) -> None:
        user_model = get_user_model()
        username = options["username"]
        if not user_model.objects.filter(**{user_model.USERNAME_FIELD: username}).exists():
            raise CommandError(f"No user {username!r}.")
        deleted, _ = Token.objects.filter(
            **{f"user__{user_model.USERNAME_FIELD}": username}
        ).delete()
        self.stdout.write(f"revoked {deleted} token(s) of {username}")
