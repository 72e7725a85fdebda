"""Database passwords that rotate: read from Secrets Manager, refreshed when refused.

RDS rotates a managed master password (every 7 days by default). A password injected
into the task's environment at start is stale after the first rotation: connections
already open keep working, every new one fails until the task is replaced. With
``DATABASE_PASSWORD_SECRET_ARN`` (or ``DATABASE_URL_SECRET_ARN``) the processes read the
password themselves, from the secret, when they first connect, and read it again when the
server refuses one for authentication, trying the version the rotation has staged
(``AWSPENDING``) when the current one (``AWSCURRENT``) is still the old password.

Every PostgreSQL client in the process is covered by one mechanism: the password is kept
in a private libpq password file (``PGPASSFILE``, mode 0600, under the temporary
directory), which libpq reads at each new connection whenever no password is given:
Django's connections, DBOS's and keel's SQLAlchemy engines, and the event listener.
Django's connections go through keel's backend (``keel.db.postgresql``) and SQLAlchemy's
through a ``do_connect`` hook, which refresh and retry once on an authentication failure.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger("keel.credentials")

PASSWORD_SECRET_VARIABLE = "DATABASE_PASSWORD_SECRET_ARN"  # noqa: S105  (a variable name)
URL_SECRET_VARIABLE = "DATABASE_URL_SECRET_ARN"  # noqa: S105  (a variable name)
#: PostgreSQL's "invalid password" and "invalid authorization specification".
AUTHENTICATION_FAILURES = frozenset({"28P01", "28000"})
#: Fewest seconds between two reads of the secret after failures: a wrong password in
#: both versions must not turn every connection attempt into a Secrets Manager call.
REFRESH_INTERVAL = 1.0


def read_secret(arn: str, stage: str = "AWSCURRENT") -> str | None:
    """Return the secret's string for ``stage``, or None when that stage has no version."""
    import boto3

    client = boto3.client("secretsmanager")
    try:
        return str(client.get_secret_value(SecretId=arn, VersionStage=stage)["SecretString"])
    except client.exceptions.ResourceNotFoundException:
        if stage == "AWSCURRENT":
            raise
        return None


def password_of(secret: str) -> str:
    """The password in an RDS-style secret (JSON with ``password``) or a plain string."""
    try:
        value = json.loads(secret)
    except ValueError:
        return secret
    if isinstance(value, dict) and isinstance(value.get("password"), str):
        return value["password"]
    raise ValueError("the secret is JSON without a string 'password'")


@dataclass
class RotatingPassword:
    """One role's password, from a secret, kept in a libpq password file."""

    secret_arn: str
    user: str
    #: Turns the secret's string into the password (an RDS secret, or a URL's password).
    extract: Callable[[str], str] = password_of
    passfile: str = field(
        default_factory=lambda: os.path.join(tempfile.gettempdir(), f"keel-pgpass-{os.getpid()}")
    )
    password: str | None = None
    refreshed_at: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ensure(self) -> None:
        """Read the secret and write the password file, the first time only."""
        with self.lock:
            if self.password is None:
                self._store(self.extract(self._read("AWSCURRENT") or ""))

    def refresh(self) -> bool:
        """After a refused connection: read the secret again; True if the password changed.

        The current version first; if it still holds the password just refused, the version
        a rotation has staged but not yet finished (AWSPENDING), which the database may
        already have.
        """
        with self.lock:
            if time.monotonic() - self.refreshed_at < REFRESH_INTERVAL:
                return False
            self.refreshed_at = time.monotonic()
            for stage in ("AWSCURRENT", "AWSPENDING"):
                secret = self._read(stage)
                if secret is None:
                    continue
                candidate = self.extract(secret)
                if candidate != self.password:
                    self._store(candidate)
                    logger.warning(
                        "database password refreshed from its secret after a refused connection",
                        extra={"secret_stage": stage},
                    )
                    return True
            return False

    def _read(self, stage: str) -> str | None:
        return read_secret(self.secret_arn, stage)

    def _store(self, password: str) -> None:
        escaped = password.replace("\\", "\\\\").replace(":", "\\:")
        user = self.user.replace("\\", "\\\\").replace(":", "\\:")
        # Written beside and renamed over: a connection never reads half a file.
        partial = f"{self.passfile}.{threading.get_ident()}"
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(f"*:*:*:{user}:{escaped}\n")
        os.replace(partial, self.passfile)
        self.password = password


_active: RotatingPassword | None = None


def configure(*, secret_arn: str, user: str, extract: Callable[[str], str] = password_of) -> None:
    """Make this process's PostgreSQL connections take their password from the secret."""
    global _active
    if _active is not None and _active.secret_arn == secret_arn and _active.user == user:
        return
    _active = RotatingPassword(secret_arn=secret_arn, user=user, extract=extract)
    os.environ["PGPASSFILE"] = _active.passfile


def active() -> RotatingPassword | None:
    return _active


#: What the server says when it refused a login's password. psycopg raises a connection
#: failure without a SQLSTATE (the error arrives before any result), so the message is
#: all there is: the server's, in its lc_messages, which is English on RDS (a server set
#: to another language would need its translation here).
_REFUSED_PASSWORD = "password authentication failed"  # noqa: S105  (a message, not a password)


def is_authentication_failure(error: BaseException) -> bool:
    """True when PostgreSQL refused the connection's credentials (any wrapper around it)."""
    seen: BaseException | None = error
    while seen is not None:
        if getattr(seen, "sqlstate", None) in AUTHENTICATION_FAILURES:
            return True
        if _REFUSED_PASSWORD in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def connect_retrying[T](connect: Callable[[], T]) -> T:
    """Connect with the password file, reading the secret again once if refused."""
    rotating = _active
    if rotating is None:
        return connect()
    rotating.ensure()
    try:
        return connect()
    except Exception as error:
        if not is_authentication_failure(error) or not rotating.refresh():
            raise
        return connect()


_hook_installed = False


def install_sqlalchemy_hook() -> None:
    """Route every SQLAlchemy PostgreSQL connection (DBOS's included) through
    ``connect_retrying``; a no-op unless a secret is configured."""
    global _hook_installed
    if _active is None or _hook_installed:
        return
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    def do_connect(dialect: Any, connection_record: Any, cargs: Any, cparams: Any) -> Any:
        if dialect.name != "postgresql":
            return None
        return connect_retrying(lambda: dialect.connect(*cargs, **cparams))

    event.listen(Engine, "do_connect", do_connect)
    _hook_installed = True
