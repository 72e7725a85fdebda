"""Read the process environment, in one place, and fail loudly.

A missing or malformed variable must stop every process at start-up with a message
that names the variable: a web task that boots with a typo in ``DATABASE_CONN_MAX_AGE``
and falls back to a default would pass its health checks and misbehave for days. So
every reader here either returns a well-typed value or raises ``ImproperlyConfigured``
naming the variable and what it expected.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from keel import constants

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_UNSET: Any = object()


class Env:
    """Typed accessors over an environment mapping (``os.environ`` by default)."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self.environ = os.environ if environ is None else environ

    def _raw(self, name: str, default: Any) -> str | None:
        value = self.environ.get(name)
        if value is None:
            if default is _UNSET:
                raise ImproperlyConfigured(f"Set the environment variable {name}.")
            return None
        return value

    def string(self, name: str, default: Any = _UNSET) -> Any:
        value = self._raw(name, default)
        return default if value is None else value

    def boolean(self, name: str, default: Any = _UNSET) -> Any:
        value = self._raw(name, default)
        if value is None:
            return default
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ImproperlyConfigured(
            f"{name}={value!r} is not a boolean; use one of true/false, 1/0, yes/no, on/off."
        )

    def integer(
        self,
        name: str,
        default: Any = _UNSET,
        *,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> Any:
        value = self._raw(name, default)
        if value is None:
            return default
        try:
            number = int(value.strip())
        except ValueError:
            raise ImproperlyConfigured(f"{name}={value!r} is not a whole number.") from None
        _check_range(name, number, minimum, maximum)
        return number

    def number(
        self,
        name: str,
        default: Any = _UNSET,
        *,
        minimum: float | None = None,
        maximum: float | None = None,
    ) -> Any:
        value = self._raw(name, default)
        if value is None:
            return default
        try:
            number = float(value.strip())
        except ValueError:
            raise ImproperlyConfigured(f"{name}={value!r} is not a number.") from None
        _check_range(name, number, minimum, maximum)
        return number

    def items(self, name: str, default: Any = _UNSET) -> Any:
        """Read a comma-separated list; blanks around items and empty items are dropped."""
        value = self._raw(name, default)
        if value is None:
            return default
        return [item.strip() for item in value.split(",") if item.strip()]

    def choice(self, name: str, choices: tuple[str, ...], default: Any = _UNSET) -> Any:
        value = self._raw(name, default)
        if value is None:
            return default
        if value not in choices:
            raise ImproperlyConfigured(f"{name}={value!r} must be one of {', '.join(choices)}.")
        return value


def _check_range(name: str, number: float, minimum: float | None, maximum: float | None) -> None:
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}={number:g} must be at least {minimum:g}.")
    if maximum is not None and number > maximum:
        raise ImproperlyConfigured(f"{name}={number:g} must be at most {maximum:g}.")


env = Env()


#: Where keel's commands look for a local environment file; empty turns it off.
ENV_FILE_VARIABLE = "KEEL_ENV_FILE"


def load_env_file(environ: MutableMapping[str, str] | None = None) -> str | None:
    """Add the variables of ``.env`` (or ``$KEEL_ENV_FILE``) that are not set already.

    For a developer's machine: ``make run`` writes ``.env`` with ``DEBUG=true``, so every
    later ``keel`` command in any shell sees the same local configuration. A variable
    already in the environment always wins, and images never contain the file (the
    image's .dockerignore keeps it out), so on ECS nothing changes. Return the file read.
    """
    from dotenv import dotenv_values

    environ = os.environ if environ is None else environ
    path = environ.get(ENV_FILE_VARIABLE, ".env")
    if not path or not os.path.isfile(path):
        return None
    for name, value in dotenv_values(path).items():
        if value is not None:
            environ.setdefault(name, value)
    return path


#: ``os.environ.setdefault("DJANGO_SETTINGS_MODULE", "<module>")``, as in every manage.py.
_MANAGE_PY_SETTINGS = re.compile(
    r"""setdefault\(\s*["']DJANGO_SETTINGS_MODULE["']\s*,\s*["']([\w.]+)["']\s*\)"""
)


def project_settings_module(directory: str = ".") -> str | None:
    """Return the settings module the project's ``manage.py`` names, if there is one."""
    manage = os.path.join(directory, "manage.py")
    try:
        with open(manage, encoding="utf-8") as file:
            found = _MANAGE_PY_SETTINGS.search(file.read())
    except OSError:
        return None
    return found.group(1) if found else None


def ensure_settings_module() -> str:
    """Make sure ``DJANGO_SETTINGS_MODULE`` is set; return it.

    Set in the environment, it wins (the image and the task definition set it).
    Otherwise keel reads it where every Django project already says it, ``manage.py`` in
    the current directory, so ``keel`` works in a project as ``python manage.py`` does.
    """
    configured = os.environ.get("DJANGO_SETTINGS_MODULE")
    if configured:
        return configured
    found = project_settings_module()
    if found is None:
        raise ImproperlyConfigured(
            "Set the environment variable DJANGO_SETTINGS_MODULE (there is no manage.py "
            f"in {os.getcwd()} that names the settings module)."
        )
    os.environ["DJANGO_SETTINGS_MODULE"] = found
    return found


@dataclass(frozen=True, slots=True)
class Setting:
    """One of keel's settings: its environment variable, else a Django setting, else a default.

    The environment wins, as in any 12-factor deployment: the task definition can change a
    value without a new image. A project that sets ``setting`` in its settings module
    chooses its own default in code; one that sets neither gets keel's. Either way a value
    outside the bounds stops the process with the name of the variable or setting that
    carried it, so the default, the bounds and the names are declared once, here and in
    the app that owns the setting, not again in every project's settings.
    """

    #: The environment variable; the Django setting is the same name prefixed ``KEEL_``.
    variable: str
    #: Which ``Env`` reader parses the variable: integer, number, boolean, string, items.
    kind: str
    default: Any
    minimum: float | None = None
    maximum: float | None = None
    #: Earlier names of the variable, still read (after the current one) so a deployment
    #: that set them keeps its value.
    aliases: tuple[str, ...] = ()

    @property
    def setting(self) -> str:
        return f"KEEL_{self.variable}"

    def read(self, environ: Env | None = None) -> Any:
        from django.conf import settings

        environ = environ or env
        names = (self.variable, *self.aliases)
        variable = next((name for name in names if name in environ.environ), None)
        if variable is None:
            for name in names:
                if hasattr(settings, f"KEEL_{name}"):
                    return self._checked(getattr(settings, f"KEEL_{name}"), f"KEEL_{name}")
            variable = self.variable
        reader: Callable[..., Any] = getattr(environ, self.kind)
        if self.kind in ("integer", "number"):
            return reader(variable, self.default, minimum=self.minimum, maximum=self.maximum)
        return reader(variable, self.default)

    def _checked(self, value: Any, setting: str | None = None) -> Any:
        name = setting or self.setting
        if self.kind in ("integer", "number"):
            whole = self.kind == "integer"
            if isinstance(value, bool) or not isinstance(value, int if whole else int | float):
                raise ImproperlyConfigured(
                    f"settings.{name}={value!r} must be a {'whole number' if whole else 'number'}."
                )
            _check_range(f"settings.{name}", value, self.minimum, self.maximum)
        elif self.kind == "items":
            if isinstance(value, str) or not isinstance(value, list | tuple):
                raise ImproperlyConfigured(
                    f"settings.{name} must be a list of strings, not {value!r}."
                )
            return list(value)
        elif self.kind == "boolean" and not isinstance(value, bool):
            raise ImproperlyConfigured(f"settings.{name}={value!r} must be True or False.")
        elif self.kind == "string" and not (value is None or isinstance(value, str)):
            raise ImproperlyConfigured(f"settings.{name}={value!r} must be a string.")
        return value


#: Threads per web worker when ``WEB_THREADS`` is not set.
DEFAULT_WEB_THREADS = 8


def web_threads(environ: Env = env) -> int:
    """``WEB_THREADS``: the WSGI pool of an ``asgi`` web worker, or gthread's threads."""
    return int(environ.integer("WEB_THREADS", DEFAULT_WEB_THREADS, minimum=1, maximum=256))


#: The proxies gunicorn believes X-Forwarded-* from when ``FORWARDED_ALLOW_IPS`` is unset.
DEFAULT_FORWARDED_ALLOW_IPS = ["127.0.0.1", "::1"]


def forwarded_allow_ips(environ: Env = env) -> list[str]:
    """``FORWARDED_ALLOW_IPS``: addresses or CIDR networks (or ``*``) of trusted proxies.

    Gunicorn believes ``X-Forwarded-Proto`` only from these peers, and keel believes
    ``X-Forwarded-For`` (the client's address) only from them too: one list for both.
    """
    entries = environ.items("FORWARDED_ALLOW_IPS", DEFAULT_FORWARDED_ALLOW_IPS)
    for entry in entries:
        if entry == "*":
            continue
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ImproperlyConfigured(
                f"FORWARDED_ALLOW_IPS has {entry!r}, which is neither an IP address, "
                "a CIDR network nor *."
            ) from None
    return list(entries)


#: Django's PostgreSQL backend, and keel's for passwords that rotate (keel.credentials).
POSTGRESQL = "django.db.backends.postgresql"
ROTATING_POSTGRESQL = "keel.db.postgresql"
POSTGRESQL_ENGINES = frozenset({POSTGRESQL, ROTATING_POSTGRESQL})


def database_config(
    environ: Env = env, *, base_dir: os.PathLike[str] | str = "."
) -> dict[str, Any]:
    """Build ``DATABASES['default']`` from ``DATABASE_URL`` (SQLite file by default).

    ``DATABASE_URL`` wins when set. On ECS the password arrives as its own secret, so
    ``DATABASE_HOST`` (with ``DATABASE_NAME``, ``DATABASE_USER``, ``DATABASE_PASSWORD``,
    ``DATABASE_PORT``) builds a PostgreSQL configuration without a URL that would put the
    password in the task definition's plain environment.
    """
    import dj_database_url

    from keel import credentials

    conn_max_age = environ.integer("DATABASE_CONN_MAX_AGE", 600, minimum=0)
    health_checks = environ.boolean("DATABASE_CONN_HEALTH_CHECKS", True)
    url = environ.string("DATABASE_URL", None)
    host = environ.string("DATABASE_HOST", None)
    url_secret = environ.string(credentials.URL_SECRET_VARIABLE, None)
    password_secret = environ.string(credentials.PASSWORD_SECRET_VARIABLE, None)
    if url_secret:
        if url:
            raise ImproperlyConfigured(
                f"Set DATABASE_URL or {credentials.URL_SECRET_VARIABLE}, not both."
            )
        url = credentials.read_secret(url_secret)
    if url:
        try:
            config: dict[str, Any] = dict(
                dj_database_url.parse(
                    url, conn_max_age=conn_max_age, conn_health_checks=health_checks
                )
            )
        except ValueError as error:
            # Never echo the URL: it carries the password.
            raise ImproperlyConfigured(
                f"DATABASE_URL is not a valid database URL: {error}"
            ) from None
        if not config.get("ENGINE"):
            raise ImproperlyConfigured("DATABASE_URL has an unknown scheme.")
        if url_secret and config["ENGINE"] == POSTGRESQL:
            # The secret's URL may rotate its password: read it again when refused.
            credentials.configure(
                secret_arn=url_secret,
                user=config["USER"],
                extract=lambda secret: str(dj_database_url.parse(secret)["PASSWORD"]),
            )
            config.update(ENGINE=ROTATING_POSTGRESQL, PASSWORD="")
    elif host:
        if password_secret and environ.string("DATABASE_PASSWORD", None) is not None:
            raise ImproperlyConfigured(
                f"Set DATABASE_PASSWORD or {credentials.PASSWORD_SECRET_VARIABLE}, not both."
            )
        user = environ.string("DATABASE_USER")
        config = {
            "ENGINE": ROTATING_POSTGRESQL if password_secret else POSTGRESQL,
            "HOST": host,
            "PORT": environ.string("DATABASE_PORT", "5432"),
            "NAME": environ.string("DATABASE_NAME"),
            "USER": user,
            # From the secret, through libpq's password file (keel.credentials).
            "PASSWORD": "" if password_secret else environ.string("DATABASE_PASSWORD"),
            "CONN_MAX_AGE": conn_max_age,
            "CONN_HEALTH_CHECKS": health_checks,
        }
        if password_secret:
            credentials.configure(secret_arn=password_secret, user=user)
    else:
        path = environ.string("SQLITE_PATH", os.path.join(os.fspath(base_dir), "var", "db.sqlite3"))
        config = {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": path,
            "CONN_MAX_AGE": conn_max_age,
            "CONN_HEALTH_CHECKS": health_checks,
        }
    options = config.setdefault("OPTIONS", {})
    if config["ENGINE"] in POSTGRESQL_ENGINES:
        # Bounded waits keep /readyz and requests from hanging on an outage.
        connect_timeout = environ.integer(
            "DATABASE_CONNECT_TIMEOUT",
            constants.DATABASE_CONNECT_TIMEOUT,
            minimum=constants.DATABASE_CONNECT_TIMEOUT,
        )
        for name, value in postgres_wait_options(connect_timeout=connect_timeout).items():
            options.setdefault(name, value)
    elif config["ENGINE"] == "django.db.backends.sqlite3":
        # WAL lets the web role read while the worker writes; IMMEDIATE avoids the
        # deadlock-prone upgrade from a read to a write lock.
        options.setdefault("transaction_mode", "IMMEDIATE")
        options.setdefault("timeout", 20)
        options.setdefault(
            "init_command",
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;",
        )
    return config


def postgres_wait_options(
    *, connect_timeout: int = constants.DATABASE_CONNECT_TIMEOUT
) -> dict[str, int]:
    """Return the libpq parameters that bound each wait on a PostgreSQL host that is gone.

    ``connect_timeout`` bounds a connection attempt; ``tcp_user_timeout`` and the
    keep-alives end an open connection whose host stopped answering
    (``constants.DATABASE_DEAD_CONNECTION_TIMEOUT`` says how). Without them a statement
    sent to a vanished host waits for the kernel's retransmissions, about 15 minutes.
    """
    dead_after = constants.DATABASE_DEAD_CONNECTION_TIMEOUT
    return {
        "connect_timeout": connect_timeout,
        "tcp_user_timeout": dead_after * 1000,
        "keepalives": 1,
        "keepalives_idle": dead_after,
        "keepalives_interval": dead_after,
        # Only where TCP_USER_TIMEOUT is missing (not Linux) does the count end it.
        "keepalives_count": 1,
    }


#: ``keel worker``'s processes per task; unset, one per CPU the task may use
#: (keel.runtime.worker_processes). Each is its own DBOS executor.
WORKER_PROCESSES_SETTING = Setting("WORKER_PROCESSES", "integer", None, minimum=1, maximum=64)
