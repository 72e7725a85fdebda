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

The same mechanism serves the project's other rotated secrets (a payment provider's API
key, a partner's token): ``ROTATED_SECRETS`` names them, each one's ARN is in
``<NAME>_SECRET_ARN``, and ``secret(name)`` reads it on first use and again when the
caller says a call was refused::

    from keel import credentials

    stripe_key = credentials.secret("STRIPE_API_KEY")
    charge = stripe_key.call(
        lambda key: stripe.Charge.create(api_key=key, ...),
        refused=lambda error: isinstance(error, stripe.error.AuthenticationError),
    )
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from django.core.exceptions import ImproperlyConfigured

from keel import constants
from keel.conf import Setting

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


def whole_secret(secret: str) -> str:
    """The value of a secret that is one string (an API key as it was pasted)."""
    return secret


@dataclass(kw_only=True)
class RotatingSecret:
    """One secret's value, read on first use and again when a caller says it was refused."""

    secret_arn: str
    #: Turns the secret's string into the value (a JSON key's value, or the whole string).
    extract: Callable[[str], str] = whole_secret
    #: What the log line calls it when refreshed.
    label: str = "secret"
    current: str | None = None
    #: When the secret was last read after a refusal (monotonic), None before the first.
    refreshed_at: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: What was refused, for the log line: a call, or (a password's) a connection.
    refused_what: ClassVar[str] = "call"

    def value(self) -> str:
        """Return the value, reading the secret's current version the first time only."""
        with self.lock:
            if self.current is None:
                self._store(self.extract(self._read("AWSCURRENT") or ""))
            assert self.current is not None
            return self.current

    def ensure(self) -> None:
        """Read the secret the first time only (for a password: write the file libpq reads)."""
        self.value()

    def refresh(self, refused: str | None = None) -> bool:
        """After ``refused`` (the value a call used) was refused: True if there is another.

        When another thread has already replaced it, that value is the answer, with no
        read. Otherwise, at most once per ``REFRESH_INTERVAL``, the current version; if it
        still holds the refused value, the version a rotation has staged but not yet
        finished (AWSPENDING), which the other side may already accept.
        """
        with self.lock:
            if refused is not None and self.current is not None and self.current != refused:
                return True
            if not self.secret_arn:
                return False  # a plain value, from the environment: nothing to read
            if (
                self.refreshed_at is not None
                and time.monotonic() - self.refreshed_at < REFRESH_INTERVAL
            ):
                return False
            self.refreshed_at = time.monotonic()
            for stage in ("AWSCURRENT", "AWSPENDING"):
                secret = self._read(stage)
                if secret is None:
                    continue
                candidate = self.extract(secret)
                if candidate != self.current:
                    self._store(candidate)
                    logger.warning(
                        f"{self.label} refreshed from its secret after a refused "
                        f"{self.refused_what}",
                        extra={"secret_stage": stage, "secret": self.label},
                    )
                    return True
            return False

    def call[T](
        self,
        function: Callable[[str], T],
        *,
        refused: Callable[[Exception], bool] | None = None,
        refused_result: Callable[[T], bool] | None = None,
    ) -> T:
        """Call ``function`` with the value; once more with a newer one if it was refused.

        ``refused`` says whether an exception the function raised means the value was
        refused (a 401, an authentication error); ``refused_result`` says it of a result
        (a response with status 401). A second refusal is the caller's: the exception
        propagates, or the result is returned; there is never a third call.
        """
        if refused is None and refused_result is None:
            raise TypeError("say what a refusal looks like: refused= or refused_result=")
        used = self.value()
        try:
            result = function(used)
        except Exception as error:
            if refused is None or not refused(error) or not self.refresh(used):
                raise
            return function(self.value())
        if refused_result is not None and refused_result(result) and self.refresh(used):
            return function(self.value())
        return result

    def _read(self, stage: str) -> str | None:
        return read_secret(self.secret_arn, stage)

    def _store(self, value: str) -> None:
        self.current = value


@dataclass(kw_only=True)
class RotatingPassword(RotatingSecret):
    """One role's password, from a secret, kept in a libpq password file."""

    user: str
    extract: Callable[[str], str] = password_of
    label: str = "database password"
    passfile: str = field(
        default_factory=lambda: os.path.join(tempfile.gettempdir(), f"keel-pgpass-{os.getpid()}")
    )

    refused_what: ClassVar[str] = "connection"

    @property
    def password(self) -> str | None:
        return self.current

    def _store(self, value: str) -> None:
        escaped = value.replace("\\", "\\\\").replace(":", "\\:")
        user = self.user.replace("\\", "\\\\").replace(":", "\\:")
        # Written beside and renamed over: a connection never reads half a file.
        partial = f"{self.passfile}.{threading.get_ident()}"
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(f"*:*:*:{user}:{escaped}\n")
        os.replace(partial, self.passfile)
        self.current = value


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
    # libpq reads the password from the file the rotating password keeps.
    return rotating.call(lambda password: connect(), refused=is_authentication_failure)


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


#: The project's rotated secrets, by name: each one's ARN is in ``<NAME>_SECRET_ARN``.
ROTATED_SECRETS_SETTING = Setting("ROTATED_SECRETS", "items", [])
ROTATED_SECRET_SUFFIX = "_SECRET_ARN"  # noqa: S105  (a variable name suffix)
_SECRET_NAME = re.compile(constants.ROTATED_NAME_PATTERN)
_SECRET_REFERENCE = re.compile(constants.ROTATED_ARN_PATTERN)


@dataclass(frozen=True)
class SecretReference:
    """Where one rotated secret is: its ARN, and the JSON key holding the value, if any."""

    variable: str
    #: None when the variable holds the value itself (a developer's machine).
    arn: str | None
    key: str | None

    def extract(self, secret: str) -> str:
        if self.key is None:
            return secret
        try:
            value = json.loads(secret)
        except ValueError:
            value = None
        if not isinstance(value, dict) or not isinstance(value.get(self.key), str):
            # Never the secret's value in the message.
            raise ImproperlyConfigured(
                f"{self.variable} names the JSON key {self.key!r}, but the secret is not a "
                f"JSON object with a string {self.key!r}."
            )
        return str(value[self.key])


def secret_reference(variable: str, value: str) -> SecretReference:
    """Parse ``<NAME>_SECRET_ARN``: a secret's ARN, or ECS's ``<arn>:<json-key>::``."""
    found = _SECRET_REFERENCE.match(value.strip())
    if found is None:
        raise ImproperlyConfigured(
            f"{variable}={value!r} is not a Secrets Manager secret ARN "
            "(arn:aws:secretsmanager:<region>:<account>:secret:<name>, optionally "
            "followed by :<json-key>::)."
        )
    if found["stage"] or found["version"]:
        raise ImproperlyConfigured(
            f"{variable} names a version stage or id; a rotated secret is read by stage "
            "itself (AWSCURRENT, then AWSPENDING): end it at the JSON key (<arn>:<key>::)."
        )
    return SecretReference(variable=variable, arn=found["arn"], key=found["key"] or None)


def declared_secrets() -> dict[str, SecretReference]:
    """Return every secret ``ROTATED_SECRETS`` names, with where it is; raise
    ``ImproperlyConfigured`` naming the setting or variable that is wrong."""
    from keel.conf import env

    found: dict[str, SecretReference] = {}
    for name in ROTATED_SECRETS_SETTING.read():
        if not isinstance(name, str) or _SECRET_NAME.fullmatch(name) is None:
            raise ImproperlyConfigured(
                f"ROTATED_SECRETS (or settings.KEEL_ROTATED_SECRETS) has {name!r}; a rotated "
                "secret's name is an upper-case variable name (STRIPE_API_KEY)."
            )
        variable = f"{name}{ROTATED_SECRET_SUFFIX}"
        value = env.string(variable, None)
        plain = env.string(name, None)
        if value and plain is not None:
            raise ImproperlyConfigured(f"Set {name} or {variable}, not both.")
        if plain is not None:
            # A developer's machine: the value itself (.env), which never rotates.
            found[name] = SecretReference(variable=name, arn=None, key=None)
            continue
        if not value:
            raise ImproperlyConfigured(
                f"ROTATED_SECRETS names {name}: set the environment variable {variable} to "
                f"its secret's ARN (or, on a developer's machine, {name} to its value)."
            )
        found[name] = secret_reference(variable, value)
    return found


_secrets: dict[SecretReference, RotatingSecret] = {}
_secrets_lock = threading.Lock()


def secret(name: str) -> RotatingSecret:
    """Return the rotated secret ``name`` (one of ``ROTATED_SECRETS``), read on first use."""
    references = declared_secrets()
    reference = references.get(name)
    if reference is None:
        raise ImproperlyConfigured(
            f"{name!r} is not a rotated secret: add it to ROTATED_SECRETS (or "
            f"settings.KEEL_ROTATED_SECRETS), which names {', '.join(references) or 'none'}."
        )
    if reference.arn is None:
        return RotatingSecret(secret_arn="", current=os.environ[name], label=name)
    with _secrets_lock:
        rotating = _secrets.get(reference)
        if rotating is None:
            rotating = _secrets[reference] = RotatingSecret(
                secret_arn=reference.arn, extract=reference.extract, label=name
            )
        return rotating
