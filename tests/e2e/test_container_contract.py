"""The image's runtime contract, tested by running each role as the image would.

No Docker engine runs where the suite runs, so the image itself is never built. What the
image does is replayed instead: the build stage's COPY and RUN steps (``uv sync --locked
--no-dev --no-editable`` and collectstatic) are executed with ``/app`` moved to a
temporary directory, everything the final stage does not copy is deleted, and each role
is started with the final stage's ENTRYPOINT + CMD, its ENV, its WORKDIR and its numeric
USER (through ``setpriv``), so nothing can write outside /tmp and /dev/shm. Two
deviations, both forced by the host: the interpreter is a hard-linked copy of this
venv's base Python (its own directory may not be readable by another user) and needs
LD_LIBRARY_PATH for its shared libpython; and the web role binds loopback through
``KEEL_BIND`` where a task binds ``0.0.0.0:$PORT``.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from keel import constants
from tests.capabilities import needs
from tests.e2e.test_migrate import NO_DUPLICATES
from tests.processes import REPO, KeelProcess, free_port, scratch_database
from tests.runtime.test_dockerfile import final_stage, role_command, stage

#: The image's PID 1 (tini), which the roles run under here as in a task.
INIT = final_stage().exec_form("ENTRYPOINT")[0]
SETPRIV = shutil.which("setpriv") or "/usr/bin/setpriv"

pytestmark = [
    pytest.mark.e2e,
    # Running a role as the image's numeric user takes root; on a laptop these skip.
    needs(
        sys.platform == "linux"
        and os.geteuid() == 0
        and shutil.which(INIT) is not None
        and Path(SETPRIV).exists(),
        f"Linux, root, {INIT} and setpriv, to run each role as the image would",
    ),
]

#: The PATH the python base image sets, which the final stage's ENV extends.
BASE_IMAGE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SECRET_KEY = "contract-tests-secret-key-" + "x7Kq2mZ9vB4nR8tL1wP6yH3jF5dS0aG" * 2
API_HEADERS = {"Host": "app.example.com", "X-Forwarded-Proto": "https", "Connection": "close"}


@dataclass
class ImageProcess(KeelProcess):
    """A role started with the image's argv, environment, working directory and user."""

    command: list[str] = field(default_factory=list)
    workdir: Path = REPO

    def start(self) -> ImageProcess:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.command,
                env=self.environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                start_new_session=True,
            )
        return self


@dataclass
class Image:
    """The final stage's filesystem, replayed under ``root``, and how to run its roles."""

    root: Path
    app: Path
    environment: dict[str, str]
    user: str

    def command(self, role: list[str] | None = None) -> list[str]:
        uid, _, gid = self.user.partition(":")
        as_user = [SETPRIV, f"--reuid={uid}", f"--regid={gid or uid}", "--clear-groups"]
        return [*as_user, *role_command(role)]

    def process(
        self, role: list[str] | None, environment: dict[str, str], log_path: Path, port: int = 0
    ) -> ImageProcess:
        return ImageProcess(
            args=role or final_stage().exec_form("CMD"),
            environment={**self.environment, **environment},
            log_path=log_path,
            port=port or None,
            command=self.command(role),
            workdir=self.app,
        )

    def run(self, role: list[str], environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(role),
            env={**self.environment, **environment},
            cwd=self.app,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


def _uv_directory() -> str:
    found = subprocess.run(
        ["python3", "-c", "import uv; print(uv.find_uv_bin())"],
        capture_output=True,
        text=True,
        check=False,
    )
    binary = found.stdout.strip() if found.returncode == 0 else shutil.which("uv")
    assert binary, "uv is needed to replay the image build (make setup installs it)"
    return str(Path(binary).parent)


def _relocate(value: str, app: Path) -> str:
    return value.replace("/app", str(app))


def _copy_python(root: Path) -> tuple[Path, Path]:
    """Hard-link this venv's base interpreter where another user can read it."""
    target = root / "python"
    linked = subprocess.run(["cp", "-al", sys.base_prefix, str(target)], check=False)
    if linked.returncode != 0:
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(sys.base_prefix, target, symlinks=True)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    return target / "bin" / version, target / "lib"


def build_image(root: Path) -> Image:
    """Replay the build stage under ``root`` and keep only what the final stage copies."""
    assert shutil.which(INIT), f"{INIT} (the image's PID 1) is needed: apt-get install {INIT}"
    assert Path(SETPRIV).exists(), "setpriv (util-linux) is needed to run roles as the image's user"
    root.chmod(0o755)
    app = root / "app"
    app.mkdir()
    python, python_lib = _copy_python(root)
    build = stage("build")
    base = {
        "PATH": f"{_uv_directory()}:{BASE_IMAGE_PATH}",
        "LANG": "C.UTF-8",
        "HOME": os.environ.get("HOME", "/root"),
        "UV_PYTHON": str(python),
        "LD_LIBRARY_PATH": str(python_lib),
    }
    # How this machine reaches the package index (a docker build gets these as build args).
    base.update(
        (name, value)
        for name, value in os.environ.items()
        if name.startswith("UV_")
        or name.lower().endswith("_proxy")
        or name in {"SSL_CERT_FILE", "SSL_CERT_DIR"}
    )
    environment = {name: _relocate(value, app) for name, value in build.environment(base).items()}
    # The image copies out of its cache mount; here the same files may be hard-linked.
    environment["UV_LINK_MODE"] = "hardlink"
    for keyword, argument in build.instructions:
        words = shlex.split(argument)
        if keyword == "COPY" and not any(word.startswith("--from") for word in words):
            *sources, destination = words
            for source in sources:
                origin = REPO / source
                target = app / destination
                if origin.is_dir():
                    shutil.copytree(origin, target, ignore=shutil.ignore_patterns("__pycache__"))
                else:
                    shutil.copy2(origin, target / origin.name)
        elif keyword == "RUN":
            script = _relocate(argument, app)
            while script.startswith("--mount="):
                script = script.split(None, 1)[1]
            result = subprocess.run(
                ["bash", "-c", script],
                env=environment,
                cwd=app,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            assert result.returncode == 0, f"RUN {script}\n{result.stdout}\n{result.stderr}"
    kept = {
        Path(argument.split()[-1]).name
        for argument in final_stage().all("COPY")
        if "--from=build" in argument
    }
    for entry in app.iterdir():
        if entry.name not in kept:
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    runtime = final_stage().environment(
        {"PATH": BASE_IMAGE_PATH, "LANG": "C.UTF-8", "HOME": "/nonexistent"}
    )
    runtime = {name: _relocate(value, app) for name, value in runtime.items()}
    runtime["LD_LIBRARY_PATH"] = str(python_lib)
    return Image(root=root, app=app, environment=runtime, user=final_stage().last("USER"))


@pytest.fixture(scope="module")
def image() -> Iterator[Image]:
    # Not pytest's tmp_path: its directories are private to root, and the roles run as
    # the image's user.
    root = Path(tempfile.mkdtemp(prefix="keel-image-"))
    try:
        yield build_image(root)
    finally:
        subprocess.run(["rm", "-rf", str(root)], check=False)


@pytest.fixture(scope="module")
def task_environment(image: Image) -> Iterator[dict[str, str]]:
    """What the task definition adds: secrets, hosts and a database (writable by the user)."""
    data = image.root / "tmp"
    data.mkdir()
    uid, _, gid = image.user.partition(":")
    os.chown(data, int(uid), int(gid or uid))
    with scratch_database(data) as database:
        if "SQLITE_PATH" in database:
            database = {"DATABASE_URL": f"sqlite:///{database['SQLITE_PATH']}"}
        yield {
            "SECRET_KEY": SECRET_KEY,
            "ALLOWED_HOSTS": "app.example.com",
            "WEB_CONCURRENCY": "2",
            **database,
        }


@pytest.fixture(scope="module")
def migrated(image: Image, task_environment: dict[str, str]) -> dict[str, str]:
    result = image.run(["migrate"], task_environment)
    assert result.returncode == 0, result.stdout + result.stderr
    return task_environment


def test_image_venv_holds_the_runtime_dependencies_only(image: Image) -> None:
    site_packages = list((image.app / ".venv" / "lib").glob("python3.*/site-packages"))
    assert len(site_packages) == 1
    installed = {entry.name.split("-")[0].lower() for entry in site_packages[0].iterdir()}
    assert {"keel", "django", "gunicorn", "whitenoise", "openai", "anthropic", "boto3"} <= installed
    assert not {"pulumi", "pulumi_aws", "pytest", "ruff", "mypy", "hypothesis"} & installed
    # The wheel is keel alone; the project it serves is source in the working directory.
    assert "example" not in installed
    assert (image.app / "example" / "settings.py").is_file()
    assert (image.app / "manage.py").is_file()
    # Installed, not linked to the source tree: the final stage has no src/.
    assert not list(site_packages[0].glob("*.pth"))


def test_roles_run_as_the_images_non_root_user(image: Image, migrated: dict[str, str]) -> None:
    probe = "import os; print(os.getuid(), os.getgid())"
    result = image.run(["manage", "shell", "--no-imports", "-c", probe], migrated)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == image.user.split(":")


def test_static_files_are_served_hashed_with_long_cache_lifetimes(
    image: Image, migrated: dict[str, str]
) -> None:
    import json

    manifest = json.loads((image.app / "staticfiles" / "staticfiles.json").read_text())
    hashed = manifest["paths"]["admin/css/base.css"]
    assert hashed != "admin/css/base.css"
    port = free_port()
    log = image.root / f"web-static-{port}.log"
    web = image.process(None, {**migrated, "KEEL_BIND": f"127.0.0.1:{port}"}, log, port)
    web.start()
    try:
        web.wait_healthy()
        response = httpx.get(f"{web.url}/static/{hashed}", headers=API_HEADERS, timeout=10)
        compressed = httpx.get(
            f"{web.url}/static/{hashed}",
            headers={**API_HEADERS, "Accept-Encoding": "gzip"},
            timeout=10,
        )
    finally:
        assert web.stop() == 0, web.log()[-3000:]
    assert response.status_code == 200
    cache_control = response.headers["Cache-Control"]
    max_age = int(cache_control.split("max-age=")[1].split(",")[0])
    assert max_age >= 365 * 24 * 3600
    assert "immutable" in cache_control
    assert compressed.headers.get("Content-Encoding") == "gzip"


def test_preflight_role_passes_in_the_image_with_a_production_environment(
    image: Image, migrated: dict[str, str]
) -> None:
    # DEBUG, HTTPS redirect and HSTS are left to the image's defaults: production.
    result = image.run(["preflight", "--interval", "0.2"], migrated)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "preflight passed" in result.stdout


@dataclass
class LoadResult:
    sent: int = 0
    failures: list[str] = field(default_factory=list)


def generate_load(
    url: str, stop: threading.Event, result: LoadResult, lock: threading.Lock
) -> None:
    """Send requests one connection each, like new ALB connections; never retry."""
    with httpx.Client(timeout=10, limits=httpx.Limits(max_keepalive_connections=0)) as client:
        while not stop.is_set():
            try:
                status = client.get(url, headers=API_HEADERS).status_code
                outcome = None if status == 200 else f"HTTP {status}"
            except httpx.HTTPError as error:
                outcome = f"{type(error).__name__}: {error}"
            with lock:
                result.sent += 1
                if outcome:
                    result.failures.append(outcome)


def test_rolling_restart_under_load_fails_no_request(
    image: Image, migrated: dict[str, str]
) -> None:
    port = free_port()
    # /api/ping/ is the anonymous load (public demo endpoints).
    environment = {**migrated, "KEEL_BIND": f"127.0.0.1:{port}", "DEMO_ENDPOINTS_PUBLIC": "true"}
    old = image.process(None, environment, image.root / f"web-old-{port}.log", port).start()
    new = image.process(None, environment, image.root / f"web-new-{port}.log", port)
    stop, lock, result = threading.Event(), threading.Lock(), LoadResult()
    load = [
        threading.Thread(
            target=generate_load, args=(f"{old.url}/api/ping/", stop, result, lock), daemon=True
        )
        for _ in range(4)
    ]
    try:
        old.wait_healthy()
        for thread in load:
            thread.start()
        time.sleep(1.0)
        # As ECS does: the new task is up and healthy before the old one gets SIGTERM.
        new.start()
        _wait_until_serving(new)
        signalled = time.monotonic()
        old.signal(signal.SIGTERM)
        old_exit = old.wait(timeout=constants.WEB_GRACEFUL_TIMEOUT + 10)
        old_exited_after = time.monotonic() - signalled
        time.sleep(1.0)
    finally:
        stop.set()
        for thread in load:
            thread.join(timeout=15)
        new_exit = new.stop()
        old.stop()
    # Shown with -rP: the numbers the issue asks to report.
    print(
        f"rolling restart: {result.sent} requests, {len(result.failures)} failed; "
        f"old web exited {old_exited_after:.2f} s after SIGTERM"
    )
    assert result.sent > 100
    assert result.failures == [], f"{len(result.failures)} of {result.sent} failed"
    assert old_exit == 0
    assert new_exit == 0
    assert old_exited_after < constants.WEB_GRACEFUL_TIMEOUT


def _wait_until_serving(web: ImageProcess, timeout: float = 30) -> None:
    """Wait until the new process itself answers (its own access log shows a request)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert web.process is not None
        assert web.process.poll() is None, web.log()[-3000:]
        with contextlib.suppress(httpx.HTTPError):
            httpx.get(f"{web.url}/healthz", headers={"Connection": "close"}, timeout=2)
        if constants.HEALTH_PATH in web.log():
            return
        time.sleep(0.05)
    raise AssertionError(f"the new web process never answered:\n{web.log()[-3000:]}")


def test_worker_exits_on_sigterm_within_its_graceful_timeout(
    image: Image, migrated: dict[str, str]
) -> None:
    worker = image.process(["worker"], migrated, image.root / "worker.log").start()
    try:
        # Up means it has logged through keel's worker logger (JSON logs name the logger);
        # the wording of the message is the worker's own business.
        worker.wait_logged('"logger": "keel.worker"')
        signalled = time.monotonic()
        worker.signal(signal.SIGTERM)
        exit_code = worker.wait(timeout=constants.WORKER_GRACEFUL_TIMEOUT + 10)
        exited_after = time.monotonic() - signalled
    finally:
        worker.stop()
    print(f"worker exited {exited_after:.2f} s after SIGTERM")
    assert exit_code == 0, worker.log()[-3000:]
    assert exited_after < constants.WORKER_GRACEFUL_TIMEOUT


def test_two_concurrent_migrations_both_succeed_with_a_correct_schema(image: Image) -> None:
    """Two migrate tasks at once: PostgreSQL's advisory lock (SQLite: a lock file) orders them."""
    data = image.root / "migrate-tmp"
    data.mkdir()
    uid, _, gid = image.user.partition(":")
    os.chown(data, int(uid), int(gid or uid))
    with scratch_database(data) as database:
        if "SQLITE_PATH" in database:
            database = {"DATABASE_URL": f"sqlite:///{database['SQLITE_PATH']}"}
        environment = {**image.environment, "SECRET_KEY": SECRET_KEY}
        environment.update(ALLOWED_HOSTS="app.example.com", **database)
        started = time.monotonic()
        runs = [
            subprocess.Popen(
                image.command(["migrate"]),
                env=environment,
                cwd=image.app,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for _ in range(2)
        ]
        outputs = [run.communicate(timeout=120)[0] for run in runs]
        print(f"two concurrent migrations took {time.monotonic() - started:.2f} s")
        assert [run.returncode for run in runs] == [0, 0], "\n".join(outputs)
        # Exactly one applied the migrations; the other waited, then found nothing to do.
        assert sum("No migrations to apply." in output for output in outputs) == 1
        check = image.run(["manage", "migrate", "--check"], environment)
        assert check.returncode == 0, check.stdout + check.stderr
        duplicates = image.run(
            ["manage", "shell", "--no-imports", "-c", NO_DUPLICATES], environment
        )
        assert "duplicates: []" in duplicates.stdout, duplicates.stdout + duplicates.stderr
