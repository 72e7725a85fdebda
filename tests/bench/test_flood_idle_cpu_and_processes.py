"""The harness's flood memory, idle-CPU and worker-processes pieces (no timings)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from bench import dispatch, dispatch_client, health_under_streams, idle_cpu
from bench.harness import BENCHMARKS, Run
from bench.processes import cpu_seconds, stat_cpu_seconds


def test_stat_fields_are_counted_after_a_command_name_with_spaces_and_parentheses():
    # pid (comm) state ppid ... : utime and stime are fields 14 and 15 of the line.
    fields = ["S", *["0"] * 10, "250", "50", *["0"] * 30]
    stat = "4242 (keel worker (x)) " + " ".join(fields)
    assert stat_cpu_seconds(stat, 100) == 3.0


def test_cpu_seconds_grow_for_a_busy_process_and_are_none_once_it_is_gone():
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        first = cpu_seconds(busy.pid)
        assert first is not None
        deadline = time.monotonic() + 30
        while (cpu_seconds(busy.pid) or 0) <= first and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (cpu_seconds(busy.pid) or 0) > first
    finally:
        busy.kill()
        busy.wait()
    assert cpu_seconds(busy.pid) is None


def test_percent_of_a_core_is_per_process():
    assert idle_cpu.percent_of_core(0.3, 30.0, 1) == 1.0
    assert idle_cpu.percent_of_core(0.9, 30.0, 3) == 1.0
    assert idle_cpu.percent_of_core(0.0, 30.0, 0) == 0.0


def test_kb_per_stream_is_the_rss_growth_over_the_streams_established():
    assert health_under_streams.per_stream_kb([70.0, 70.0], [245.0, 245.0], 10_000) == 35.8
    assert health_under_streams.per_stream_kb([70.0, None], [245.0, 245.0], 10_000) is None
    assert health_under_streams.per_stream_kb([70.0], [80.0], 0) is None


def test_only_a_flood_waits_longer_for_its_streams():
    assert health_under_streams.quiet_window(1000) == 2.0
    assert health_under_streams.quiet_window(10_000) > 7.0  # past the 7 s SYN retry
    assert health_under_streams.settle_timeout(100) == 4.0
    assert health_under_streams.settle_timeout(10_000) == 40.0


def test_idle_cpu_runs_after_dispatch_and_measures_keel_and_the_anchors(tmp_path):
    assert BENCHMARKS.index("idle_cpu") > BENCHMARKS.index("dispatch")
    databases = [("sqlite", {"SQLITE_PATH": str(tmp_path / "x.sqlite3")}, "dbos.sqlite3")]
    full = Run(smoke=False, sqlite={}, postgres=False)
    smoke = Run(smoke=True, sqlite={}, postgres=False)
    assert [(system, label) for system, label, _ in idle_cpu.cases(full, databases)] == [
        ("keel", "sqlite"),
        ("django-tasks-db", "sqlite"),
        ("celery", "redis"),
    ]
    assert [system for system, _, _ in idle_cpu.cases(smoke, databases)] == ["keel", "celery"]


def test_keel_rows_are_labelled_by_their_worker_processes():
    assert dispatch.system_label({"system": "keel", "worker_processes": 1}) == "keel"
    assert dispatch.system_label({"system": "keel", "worker_processes": 2}) == "keel, 2 processes"
    assert dispatch.system_label({"system": "celery"}) == "celery"
    assert dispatch.system_label({"system": "keel.tasks", "worker_processes": 1}) == "keel.tasks"
    assert [dispatch.is_keel_row({"system": name}) for name in ("keel", "keel.tasks", "dbos")] == [
        True,
        True,
        False,
    ]


def test_keel_tasks_run_the_django_tasks_no_op_on_keels_backend_in_one_worker_process():
    """The same task and client as django-tasks-db, keel's backend, ``keel worker``."""
    environment = {"DJANGO_SETTINGS_MODULE": "bench.settings", "SQLITE_PATH": "x.sqlite3"}
    full = dict(dispatch.systems(Run(smoke=False, sqlite={}, postgres=False), environment))
    assert list(full) == ["django-tasks-db", "dbos", "keel.tasks", "keel"]
    keel_tasks = full["keel.tasks"]
    assert keel_tasks["DJANGO_SETTINGS_MODULE"] == "bench.keel_tasks_settings"
    assert keel_tasks["WORKER_PROCESSES"] == "1"
    assert keel_tasks["SQLITE_PATH"] == "x.sqlite3"
    assert full["django-tasks-db"] == environment
    assert dispatch.worker("keel.tasks", keel_tasks).argv[1:] == ["worker"]
    assert dispatch_client.ENQUEUERS["keel.tasks"] is dispatch_client.django_tasks_enqueuer
    # Smoke keeps keel's own paths only: keel.tasks, then keel's runs at 1 and 2 processes.
    smoke = dispatch.systems(Run(smoke=True, sqlite={}, postgres=False), environment)
    assert [(system, env["WORKER_PROCESSES"]) for system, env in smoke] == [
        ("keel.tasks", "1"),
        ("keel", "1"),
        ("keel", "2"),
    ]


def test_the_keel_worker_is_given_worker_processes(monkeypatch):
    """dispatch.measure passes WORKER_PROCESSES to `keel worker` and records it."""
    seen: dict[str, str] = {}

    class FakeService:
        process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])

        def start(self):
            return self

        def worker_pids(self):
            return []

        def stop(self):
            self.process.kill()
            self.process.wait()

    def fake_worker(system, environment):
        seen.update(environment)
        return FakeService()

    def fake_client(argv, *, environment, timeout, what):
        return '{"ready": true, "system": "keel"}\n'

    monkeypatch.setattr(dispatch, "worker", fake_worker)
    monkeypatch.setattr(dispatch, "run_command", fake_client)
    row = dispatch.measure("keel", {**os.environ, "WORKER_PROCESSES": "2"}, 1, 1)
    assert seen["WORKER_PROCESSES"] == "2"
    assert row["worker_processes"] == 2
    assert row["worker_pid_count"] == 1
