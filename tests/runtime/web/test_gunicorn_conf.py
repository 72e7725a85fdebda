"""Gunicorn settings come from keel's constants and the environment, never from guesses."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

import pytest
from django.core.exceptions import ImproperlyConfigured

from keel import constants, ecs
from keel.runtime import cpus
from tests.fake_ecs import fake_metadata_server, task_document


def load_config(monkeypatch: pytest.MonkeyPatch, **environ: str) -> ModuleType:
    for name in (
        "WEB_CONCURRENCY",
        "KEEL_SERVER",
        "KEEL_BIND",
        "PORT",
        "WEB_BACKLOG",
        ecs.METADATA_VARIABLE,
        ecs.HANDED_DOWN_VARIABLE,
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    ecs.task_metadata.cache_clear()
    import keel.runtime.web.gunicorn_conf as module

    return importlib.reload(module)


def test_timeouts_come_from_the_runtime_constants(monkeypatch: pytest.MonkeyPatch) -> None:
    config = load_config(monkeypatch, WEB_CONCURRENCY="2")
    assert config.keepalive == constants.KEEPALIVE == 65
    assert config.graceful_timeout == constants.WEB_GRACEFUL_TIMEOUT
    assert config.graceful_timeout < constants.STOP_TIMEOUT
    assert config.reuse_port is True
    assert config.control_socket_disable is True
    assert config.max_requests == constants.MAX_REQUESTS
    assert config.max_requests_jitter > 0
    assert config.bind == [f"0.0.0.0:{constants.PORT}"]


def test_default_server_is_the_asgi_router(monkeypatch: pytest.MonkeyPatch) -> None:
    config = load_config(monkeypatch, WEB_CONCURRENCY="2")
    # gunicorn's native ASGI worker, in keel's subclass that keeps the listen backlog.
    assert config.worker_class == "keel.runtime.web.gunicorn_worker.ASGIWorker"
    from gunicorn.workers.gasgi import ASGIWorker

    from keel.runtime.web.gunicorn_worker import ASGIWorker as KeelASGIWorker

    assert issubclass(KeelASGIWorker, ASGIWorker)
    assert config.wsgi_app == "keel.runtime.web.asgi:application"
    assert config.asgi_loop == "uvloop"
    import uvloop  # noqa: F401  (a dependency: gunicorn would fall back to asyncio)


def test_listen_backlog_defaults_to_the_constant_and_is_overridable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert load_config(monkeypatch, WEB_CONCURRENCY="2").backlog == constants.WEB_BACKLOG
    assert load_config(monkeypatch, WEB_CONCURRENCY="2", WEB_BACKLOG="777").backlog == 777
    with pytest.raises(ImproperlyConfigured, match="WEB_BACKLOG"):
        load_config(monkeypatch, WEB_CONCURRENCY="2", WEB_BACKLOG="10")


def test_wsgi_server_is_gthread(monkeypatch: pytest.MonkeyPatch) -> None:
    config = load_config(monkeypatch, WEB_CONCURRENCY="2", KEEL_SERVER="wsgi")
    assert config.worker_class == "gthread"
    assert config.threads == 8


def test_web_concurrency_sets_the_worker_count(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_config(monkeypatch, WEB_CONCURRENCY="5").workers == 5


def test_worker_count_follows_the_ecs_task_cpu_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cpus.os, "sched_getaffinity", lambda pid: set(range(64)))
    monkeypatch.setattr(cpus, "cgroup_cpu_limit", lambda: None)
    with fake_metadata_server(document=task_document("10.0.0.1", cpu=0.25)) as uri:
        assert load_config(monkeypatch, ECS_CONTAINER_METADATA_URI_V4=uri).workers == 1
    with fake_metadata_server(document=task_document("10.0.0.1", cpu=4)) as uri:
        assert load_config(monkeypatch, ECS_CONTAINER_METADATA_URI_V4=uri).workers == 4


def test_worker_count_respects_the_cgroup_quota_not_the_host(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cpus.os, "sched_getaffinity", lambda pid: set(range(64)))
    monkeypatch.setattr(cpus, "cgroup_cpu_limit", lambda: 1.5)
    assert load_config(monkeypatch).workers == 2


def test_cgroup_v2_and_v1_quotas_are_read(tmp_path: Path) -> None:
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    assert cpus.cgroup_cpu_limit(tmp_path) == 1.5
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert cpus.cgroup_cpu_limit(tmp_path) is None
    (tmp_path / "cpu.max").unlink()
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("200000")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000")
    assert cpus.cgroup_cpu_limit(tmp_path) == 2.0


def test_bad_environment_stops_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ImproperlyConfigured, match="WEB_CONCURRENCY"):
        load_config(monkeypatch, WEB_CONCURRENCY="lots")
    with pytest.raises(ImproperlyConfigured, match="KEEL_SERVER"):
        load_config(monkeypatch, KEEL_SERVER="uwsgi")


def test_the_master_names_the_address_it_serves_on(monkeypatch: pytest.MonkeyPatch) -> None:
    # gunicorn's "Listening at:" is empty with reuse_port (the workers bind), so keel says it.
    config = load_config(monkeypatch, WEB_CONCURRENCY="3", KEEL_BIND="127.0.0.1:9123")
    lines: list[str] = []

    class Log:
        def info(self, message: str, *args: object) -> None:
            lines.append(message % args)

    class Arbiter:
        log = Log()

    config.when_ready(Arbiter())
    assert lines == ["keel web (asgi) serving on 127.0.0.1:9123 with 3 worker(s)"]
