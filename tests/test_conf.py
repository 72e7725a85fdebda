"""Environment reading fails loudly, naming the variable."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS
from django.db.utils import ConnectionHandler
from pytest_django.fixtures import Settings

from keel import credentials
from keel.conf import (
    Env,
    Setting,
    database_config,
    ensure_settings_module,
    forwarded_allow_ips,
    load_env_file,
)


def test_missing_required_variable_names_it() -> None:
    with pytest.raises(ImproperlyConfigured, match="Set the environment variable SECRET_KEY"):
        Env({}).string("SECRET_KEY")


@pytest.mark.parametrize(
    ("method", "value", "message"),
    [
        ("boolean", "maybe", "DEBUG='maybe' is not a boolean"),
        ("integer", "ten", "DEBUG='ten' is not a whole number"),
        ("number", "fast", "DEBUG='fast' is not a number"),
    ],
)
def test_malformed_values_name_the_variable(method: str, value: str, message: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=message):
        getattr(Env({"DEBUG": value}), method)("DEBUG")


def test_ranges_are_enforced() -> None:
    with pytest.raises(ImproperlyConfigured, match="WEB_CONCURRENCY=0 must be at least 1"):
        Env({"WEB_CONCURRENCY": "0"}).integer("WEB_CONCURRENCY", minimum=1)
    with pytest.raises(ImproperlyConfigured, match="must be at most 55"):
        Env({"X": "60"}).number("X", maximum=55)


def test_choice_lists_the_allowed_values() -> None:
    with pytest.raises(ImproperlyConfigured, match="must be one of asgi, wsgi"):
        Env({"KEEL_SERVER": "uwsgi"}).choice("KEEL_SERVER", ("asgi", "wsgi"))


def test_lists_drop_blanks_and_defaults_apply() -> None:
    environ = Env({"ALLOWED_HOSTS": " a.example.com, ,b.example.com ", "DEBUG": "Yes"})
    assert environ.items("ALLOWED_HOSTS") == ["a.example.com", "b.example.com"]
    assert environ.boolean("DEBUG") is True
    assert environ.boolean("MISSING", False) is False
    assert environ.integer("MISSING", 3) == 3


def test_database_defaults_to_a_sqlite_file_with_wal() -> None:
    config = database_config(Env({}), base_dir="/srv/app")
    assert config["ENGINE"] == "django.db.backends.sqlite3"
    assert config["NAME"] == "/srv/app/var/db.sqlite3"
    assert "journal_mode=WAL" in config["OPTIONS"]["init_command"]
    assert config["CONN_MAX_AGE"] == 600


def test_database_url_selects_postgresql_with_persistent_checked_connections() -> None:
    environ = Env(
        {
            "DATABASE_URL": "postgres://keel:pw@db.internal:5432/keel",
            "DATABASE_CONN_MAX_AGE": "60",
        }
    )
    config = database_config(environ)
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["HOST"], config["NAME"], config["CONN_MAX_AGE"]) == ("db.internal", "keel", 60)
    assert config["CONN_HEALTH_CHECKS"] is True
    # Every wait on a database that is down is bounded (keel.constants, docs/operations.md).
    assert config["OPTIONS"] == {
        "connect_timeout": 2,
        "tcp_user_timeout": 1000,
        "keepalives": 1,
        "keepalives_idle": 1,
        "keepalives_interval": 1,
        "keepalives_count": 1,
    }


def test_database_connect_timeout_is_configurable_down_to_libpqs_floor() -> None:
    url = "postgres://keel:pw@db.internal:5432/keel"
    config = database_config(Env({"DATABASE_URL": url, "DATABASE_CONNECT_TIMEOUT": "10"}))
    assert config["OPTIONS"]["connect_timeout"] == 10
    # libpq and psycopg would read 1 as 2: say so instead of pretending.
    with pytest.raises(ImproperlyConfigured, match="DATABASE_CONNECT_TIMEOUT=1 must be at least 2"):
        database_config(Env({"DATABASE_URL": url, "DATABASE_CONNECT_TIMEOUT": "1"}))


def test_database_parts_build_postgresql_without_a_url() -> None:
    environ = Env(
        {
            "DATABASE_HOST": "db.internal",
            "DATABASE_NAME": "keel",
            "DATABASE_USER": "keel",
            "DATABASE_PASSWORD": "from-secrets-manager",
        }
    )
    config = database_config(environ)
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert config["PASSWORD"] == "from-secrets-manager"


def test_database_parts_missing_one_names_it() -> None:
    with pytest.raises(ImproperlyConfigured, match="DATABASE_PASSWORD"):
        database_config(Env({"DATABASE_HOST": "db", "DATABASE_NAME": "k", "DATABASE_USER": "k"}))


def test_bad_database_url_does_not_echo_the_password() -> None:
    with pytest.raises(ImproperlyConfigured) as raised:
        database_config(Env({"DATABASE_URL": "nosuchdb://user:hunter2@host/db"}))
    assert "hunter2" not in str(raised.value)
    assert "DATABASE_URL" in str(raised.value)


# -- an existing database: its URL in a secret, its password rotating (keel.credentials)

URL_SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:keel-database-url"
FIRST, SECOND = "first-password", "second-password"


def database_url(password: str) -> str:
    return f"postgres://keel:{password}@db.internal:5432/keel"


@pytest.fixture
def url_secret(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Any]:
    """The URL secret's versions by stage, read as tests/test_credentials.py fakes it."""
    versions: dict[str, Any] = {"AWSCURRENT": database_url(FIRST), "AWSPENDING": None, "reads": []}

    def read_secret(arn: str, stage: str = "AWSCURRENT") -> str | None:
        assert arn == URL_SECRET_ARN
        versions["reads"].append(stage)
        return versions[stage]

    monkeypatch.setattr(credentials, "read_secret", read_secret)
    # No rotating password yet, and the one configured here is undone afterwards: its
    # password file under this test's directory, PGPASSFILE restored.
    monkeypatch.setattr(credentials, "_active", None)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setenv("PGPASSFILE", "")
    return versions


def test_a_database_url_from_its_secret_selects_the_rotating_backend_without_a_password(
    url_secret: dict[str, Any],
) -> None:
    config = database_config(Env({credentials.URL_SECRET_VARIABLE: URL_SECRET_ARN}))

    assert config["ENGINE"] == "keel.db.postgresql"
    # Not in the settings, where a rotation would leave it stale: libpq's password file.
    assert config["PASSWORD"] == ""
    assert (config["HOST"], config["PORT"], config["NAME"], config["USER"]) == (
        "db.internal",
        5432,
        "keel",
        "keel",
    )
    rotating = credentials.active()
    assert rotating is not None
    assert (rotating.secret_arn, rotating.user) == (URL_SECRET_ARN, "keel")
    assert os.environ["PGPASSFILE"] == rotating.passfile


class PasswordServer:
    """psycopg.connect for a server whose role ``keel`` logs in with ``password``.

    Given no password, libpq takes it from the password file PGPASSFILE names (the
    ``*:*:*:<user>:<password>`` line keel.credentials writes); so does this.
    """

    def __init__(self, password: str) -> None:
        self.password = password
        self.attempts: list[str | None] = []

    def connect(self, **params: Any) -> object:
        assert "password" not in params, "the password belongs in the password file"
        given = self.password_file_entry(params["user"])
        self.attempts.append(given)
        if given != self.password:
            raise psycopg.OperationalError(
                'connection failed: connection to server at "db.internal", port 5432 failed: '
                f'FATAL:  password authentication failed for user "{params["user"]}"'
            )
        return object()

    @staticmethod
    def password_file_entry(user: str) -> str | None:
        for line in Path(os.environ["PGPASSFILE"]).read_text().splitlines():
            fields = [
                field.replace("\\:", ":").replace("\\\\", "\\")
                for field in re.split(r"(?<!\\):", line)
            ]
            if fields[3] in ("*", user):
                return fields[4]
        return None


def test_connections_log_in_with_the_secrets_password_and_its_next_one_after_rotation(
    url_secret: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = database_config(Env({credentials.URL_SECRET_VARIABLE: URL_SECRET_ARN}))
    backend = ConnectionHandler({DEFAULT_DB_ALIAS: config})[DEFAULT_DB_ALIAS]
    server = PasswordServer(FIRST)
    monkeypatch.setattr(psycopg, "connect", server.connect)  # what the backend calls

    backend.get_new_connection(backend.get_connection_params())
    assert server.attempts == [FIRST]

    # The secret's URL now holds a new password, and the server accepts only that one.
    url_secret["AWSCURRENT"] = database_url(SECOND)
    server.password = SECOND
    backend.get_new_connection(backend.get_connection_params())
    # Refused once with the old password, then the secret read again and the new one used.
    assert server.attempts == [FIRST, FIRST, SECOND]


def test_a_database_url_and_its_secret_together_are_refused(url_secret: dict[str, Any]) -> None:
    environ = {"DATABASE_URL": database_url(FIRST), credentials.URL_SECRET_VARIABLE: URL_SECRET_ARN}
    with pytest.raises(
        ImproperlyConfigured, match="Set DATABASE_URL or DATABASE_URL_SECRET_ARN, not both"
    ):
        database_config(Env(environ))
    assert url_secret["reads"] == []


# -- keel's own settings: the variable, else the project's KEEL_ setting, else keel's default

RATE = Setting("EXAMPLE_RATE", "number", 2.5, minimum=1, maximum=10)


def test_a_setting_defaults_to_keels_value(settings: Settings) -> None:
    assert RATE.read(Env({})) == 2.5


def test_the_projects_setting_replaces_the_default(settings: Settings) -> None:
    settings.KEEL_EXAMPLE_RATE = 4
    assert RATE.read(Env({})) == 4


def test_the_environment_wins_over_the_projects_setting(settings: Settings) -> None:
    settings.KEEL_EXAMPLE_RATE = 4
    assert RATE.read(Env({"EXAMPLE_RATE": "7.5"})) == 7.5


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("fast", "settings.KEEL_EXAMPLE_RATE='fast' must be a number"),
        (True, "settings.KEEL_EXAMPLE_RATE=True must be a number"),
        (11, "settings.KEEL_EXAMPLE_RATE=11 must be at most 10"),
    ],
)
def test_a_bad_project_setting_is_named(settings: Settings, value: object, message: str) -> None:
    settings.KEEL_EXAMPLE_RATE = value
    with pytest.raises(ImproperlyConfigured, match=message):
        RATE.read(Env({}))


def test_a_bad_variable_is_named_with_the_same_bounds() -> None:
    with pytest.raises(ImproperlyConfigured, match=r"EXAMPLE_RATE=0\.5 must be at least 1"):
        RATE.read(Env({"EXAMPLE_RATE": "0.5"}))


def test_list_settings_refuse_a_bare_string(settings: Settings) -> None:
    settings.KEEL_EXAMPLE_MODULES = "one.module"
    with pytest.raises(ImproperlyConfigured, match="must be a list of strings"):
        Setting("EXAMPLE_MODULES", "items", []).read(Env({}))


def test_the_env_file_adds_only_what_the_environment_lacks(tmp_path: Path) -> None:
    env_file = tmp_path / "local.env"
    env_file.write_text("# local\nDEBUG=true\nSECRET_KEY='from the file'\nexport PORT=9000\n")
    environ = {"KEEL_ENV_FILE": str(env_file), "SECRET_KEY": "from the shell"}
    assert load_env_file(environ) == str(env_file)
    assert environ["DEBUG"] == "true"
    assert environ["PORT"] == "9000"
    assert environ["SECRET_KEY"] == "from the shell"


def test_no_env_file_or_an_empty_name_reads_nothing(tmp_path: Path) -> None:
    missing = {"KEEL_ENV_FILE": str(tmp_path / "absent.env")}
    assert load_env_file(missing) is None
    (tmp_path / "present.env").write_text("DEBUG=true\n")
    off = {"KEEL_ENV_FILE": ""}
    assert load_env_file(off) is None
    assert "DEBUG" not in off


def test_the_settings_module_is_read_from_manage_py(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "manage.py").write_text(
        'import os\n\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.config.settings")\n'
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DJANGO_SETTINGS_MODULE")
    assert ensure_settings_module() == "shop.config.settings"
    assert os.environ["DJANGO_SETTINGS_MODULE"] == "shop.config.settings"


def test_a_set_settings_module_wins_over_manage_py(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "manage.py").write_text('os.environ.setdefault("DJANGO_SETTINGS_MODULE", "a.b")')
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "from.the.task")
    assert ensure_settings_module() == "from.the.task"


def test_without_either_keel_says_what_to_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DJANGO_SETTINGS_MODULE")
    with pytest.raises(ImproperlyConfigured, match="Set the environment variable DJANGO_SETTINGS"):
        ensure_settings_module()


def test_trusted_proxies_default_to_loopback_and_take_networks_or_a_star() -> None:
    assert forwarded_allow_ips(Env({})) == ["127.0.0.1", "::1"]
    assert forwarded_allow_ips(Env({"FORWARDED_ALLOW_IPS": "10.0.0.0/16, fd00::/8"})) == [
        "10.0.0.0/16",
        "fd00::/8",
    ]
    assert forwarded_allow_ips(Env({"FORWARDED_ALLOW_IPS": "*"})) == ["*"]
    with pytest.raises(ImproperlyConfigured, match="FORWARDED_ALLOW_IPS has 'the-alb'"):
        forwarded_allow_ips(Env({"FORWARDED_ALLOW_IPS": "10.0.0.0/16,the-alb"}))
