"""``keel manage create_api_user <username>``: a user and an API token, shown once.

The token goes to stdout unless stdout is where logs are kept. In an ECS task
(``ECS_CONTAINER_METADATA_URI_V4`` is set) whose stdout is not a terminal, stdout is the
awslogs driver's pipe to CloudWatch Logs, where anyone who may read the log group would
find the token; there the command refuses before creating anything, and says to run it
in a terminal (an ECS Exec session, which keel's cluster does not log) or to pass
``--token-file``. Everywhere else, a terminal or ``TOKEN=$(keel manage create_api_user
alice)`` on a laptop or in CI, it prints the token.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper

from keel.agents.services import api_user_create
from keel.conf import env
from keel.ecs import METADATA_VARIABLE


def stdout_is_logged(stdout: OutputWrapper) -> bool:
    """Return whether stdout goes to the log pipe of an ECS task, not to a person."""
    return bool(env.string(METADATA_VARIABLE, "")) and not stdout.isatty()


class Command(BaseCommand):
    help = (
        "Create a user (or reuse an existing one) with an API token and show the token: on "
        "stdout, or in --token-file. In an ECS task without a terminal stdout goes to "
        "CloudWatch Logs, so the token is never printed there."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--email", default="")
        parser.add_argument(
            "--token-file",
            type=Path,
            help="Write the token to this new file (mode 0600) instead of stdout.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        token_file: Path | None = options["token_file"]
        if token_file is None and stdout_is_logged(self.stdout):
            raise CommandError(
                "not printing the token: in this ECS task stdout goes to CloudWatch Logs. "
                "Run the command in a terminal (aws ecs execute-command --interactive; "
                "keel's cluster logs no session output) or pass --token-file PATH. "
                "Nothing was created."
            )
        if token_file is None:
            _, key = api_user_create(username=options["username"], email=options["email"])
            self.stdout.write(key)
            return
        try:
            # Created before the user, exclusively and private: never another file's
            # contents replaced, never a token readable by others.
            descriptor = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as error:
            raise CommandError(f"cannot create {token_file}: {error.strerror}") from None
        try:
            _, key = api_user_create(username=options["username"], email=options["email"])
            with os.fdopen(descriptor, "w") as file:
                file.write(key + "\n")
        except BaseException:
            token_file.unlink(missing_ok=True)
            raise
        self.stdout.write(f"token of {options['username']} written to {token_file}")
