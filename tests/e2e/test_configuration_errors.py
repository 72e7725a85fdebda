"""A missing or malformed variable stops every role at once, in one line that names it."""

from __future__ import annotations

from pathlib import Path

import pytest

from keel.runtime.cli import CONFIGURATION_ERROR
from tests.processes import base_environment, free_port, run_keel

pytestmark = pytest.mark.e2e


def environment(tmp_path: Path, **overrides: str) -> dict[str, str]:
    """Production-like, on the example project's settings (the tests' own fill in defaults).

    Should a check ever let a role through, it must not touch a shared database or port:
    a scratch SQLite file, and the web role binds a free loopback port.
    """
    values = base_environment(
        DJANGO_SETTINGS_MODULE="example.settings",
        SQLITE_PATH=str(tmp_path / "db.sqlite3"),
        **overrides,
    )
    values.pop("DATABASE_URL", None)
    return values


def arguments(role: str) -> list[str]:
    if role == "web":
        return [role, "--bind", f"127.0.0.1:{free_port()}"]
    return [role, "check"] if role == "manage" else [role]


def assert_one_line(result_stderr: str, expected: str) -> None:
    assert "Traceback" not in result_stderr
    lines = result_stderr.strip().splitlines()
    assert len(lines) == 1, result_stderr
    assert lines[0] == expected


@pytest.mark.parametrize("role", ["web", "worker", "migrate", "manage"])
def test_a_missing_secret_key_stops_the_role_before_it_starts(role: str, tmp_path: Path) -> None:
    values = environment(tmp_path)
    del values["SECRET_KEY"]
    result = run_keel(arguments(role), values, timeout=30)

    assert result.returncode == CONFIGURATION_ERROR
    assert_one_line(
        result.stderr, f"keel {role}: configuration error: Set the environment variable SECRET_KEY."
    )
    # The web role never reached gunicorn: no master started, no worker booted.
    assert "Booting worker" not in result.stdout + result.stderr


def test_a_malformed_server_variable_is_named_not_left_to_gunicorn(tmp_path: Path) -> None:
    # gunicorn itself reads WEB_CONCURRENCY with int() as it imports its config.
    result = run_keel(arguments("web"), environment(tmp_path, WEB_CONCURRENCY="lots"), timeout=30)

    assert result.returncode == CONFIGURATION_ERROR
    assert_one_line(
        result.stderr,
        "keel web: configuration error: WEB_CONCURRENCY='lots' is not a whole number.",
    )


def test_a_malformed_keepalive_is_named_before_gunicorn_reads_its_config(tmp_path: Path) -> None:
    result = run_keel(arguments("web"), environment(tmp_path, WEB_KEEPALIVE="0"), timeout=30)

    assert result.returncode == CONFIGURATION_ERROR
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("keel web: configuration error: WEB_KEEPALIVE=0")


def test_the_api_pool_size_is_checked_before_gunicorn_starts_too(tmp_path: Path) -> None:
    # Under asgi (the default) the pool reads WEB_THREADS in each worker, as it boots.
    result = run_keel(arguments("web"), environment(tmp_path, WEB_THREADS="lots"), timeout=30)

    assert result.returncode == CONFIGURATION_ERROR
    assert_one_line(
        result.stderr, "keel web: configuration error: WEB_THREADS='lots' is not a whole number."
    )


def test_a_worker_refuses_an_agent_whose_tool_is_not_a_durable_step(tmp_path: Path) -> None:
    # The test settings: the module that forgot tool_step is one of the suite's.
    values = {
        **environment(tmp_path, AGENT_MODULES="keel.agents.demo,tests.agents.unwrapped_agent"),
        "DJANGO_SETTINGS_MODULE": "tests.settings",
    }
    assert run_keel(["migrate"], values).returncode == 0
    result = run_keel(["worker"], values, timeout=60)

    assert result.returncode == CONFIGURATION_ERROR
    assert_one_line(
        result.stderr,
        "keel worker: configuration error: The agent 'unwrapped' has tools that are not "
        "durable steps: lookup. A worker killed after such a tool ran would run it again. "
        "Decorate each tool function with keel.agents.durable.tool_step (under "
        "@agent.tool), or declare the agent in KEEL_AGENTS, which wraps its tools.",
    )


def test_a_worker_refuses_a_declared_agent_whose_model_lacks_its_key(tmp_path: Path) -> None:
    values = environment(tmp_path, AGENT_SUPPORT_MODEL="openai:gpt-4o-mini")
    values.pop("OPENAI_API_KEY", None)
    assert run_keel(["migrate"], values).returncode == 0
    result = run_keel(["worker"], values, timeout=60)

    assert result.returncode == CONFIGURATION_ERROR
    assert_one_line(
        result.stderr,
        "keel worker: configuration error: KEEL_AGENTS['support']: the model from "
        "AGENT_SUPPORT_MODEL: Set the environment variable OPENAI_API_KEY.",
    )
