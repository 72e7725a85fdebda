"""The server configurations measured, each serving the same example project.

All use 2 workers (the 2-core default) except ``gunicorn-default``, which is what
``gunicorn app`` gives a team that starts from nothing: one sync worker.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from bench.processes import BIN, Service, free_port

PYTHON = sys.executable
WORKERS = "2"

KEEL_WSGI_APP = "keel.runtime.web.wsgi:application"
DJANGO_ASGI_APP = "bench.django_asgi:application"
HELLO_WSGI_APP = "bench.apps:hello_wsgi"
HELLO_ASGI_APP = "bench.apps:hello_asgi"

# Every plain gunicorn here skips the control socket: its default path is one fixed
# file per user, and several gunicorns (ours and anyone else's) would fight over it.
GUNICORN = [PYTHON, "-m", "gunicorn", "--no-control-socket", "--log-level", "warning"]


def keel(server: str) -> Callable[[dict[str, str]], Service]:
    def build(environment: dict[str, str]) -> Service:
        port = free_port()
        return Service(
            name=f"keel-{server}-{port}",
            argv=[str(BIN / "keel"), "web", "--server", server, "--bind", f"127.0.0.1:{port}"],
            environment=environment,
            port=port,
        )

    return build


def gunicorn(
    label: str, app: str, *arguments: str, workers: str = WORKERS
) -> Callable[[dict[str, str]], Service]:
    def build(environment: dict[str, str]) -> Service:
        port = free_port()
        worker_arguments = ["-w", workers] if workers else []
        return Service(
            name=f"{label}-{port}",
            argv=[*GUNICORN, *worker_arguments, *arguments, "-b", f"127.0.0.1:{port}", app],
            environment=environment,
            port=port,
        )

    return build


def granian(label: str, interface: str, app: str) -> Callable[[dict[str, str]], Service]:
    def build(environment: dict[str, str]) -> Service:
        port = free_port()
        return Service(
            name=f"{label}-{port}",
            argv=[
                str(BIN / "granian"),
                "--interface",
                interface,
                "--workers",
                WORKERS,
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--no-ws",
                app,
            ],
            environment=environment,
            port=port,
        )

    return build


#: Servers running the example project (Django + DRF), by label.
APP_SERVERS: dict[str, Callable[[dict[str, str]], Service]] = {
    "keel-asgi": keel("asgi"),
    "keel-wsgi": keel("wsgi"),
    "gunicorn-asgi": gunicorn("gunicorn-asgi", DJANGO_ASGI_APP, "-k", "asgi"),
    "uvicorn-worker": gunicorn(
        "uvicorn-worker", DJANGO_ASGI_APP, "-k", "uvicorn_worker.UvicornWorker"
    ),
    "granian-wsgi": granian("granian-wsgi", "wsgi", KEEL_WSGI_APP),
    "granian-asgi": granian("granian-asgi", "asgi", DJANGO_ASGI_APP),
}

#: The same servers with a framework-free hello world: the ceiling on this machine.
HELLO_SERVERS: dict[str, Callable[[dict[str, str]], Service]] = {
    "gunicorn-gthread": gunicorn(
        "hello-gthread", HELLO_WSGI_APP, "-k", "gthread", "--threads", "8"
    ),
    "gunicorn-asgi": gunicorn("hello-asgi", HELLO_ASGI_APP, "-k", "asgi"),
    "uvicorn-worker": gunicorn(
        "hello-uvicorn", HELLO_ASGI_APP, "-k", "uvicorn_worker.UvicornWorker"
    ),
    "granian-wsgi": granian("hello-granian-wsgi", "wsgi", HELLO_WSGI_APP),
    "granian-asgi": granian("hello-granian-asgi", "asgi", HELLO_ASGI_APP),
}

#: What a team starts from: ``gunicorn app`` with every default (one sync worker).
GUNICORN_DEFAULT = gunicorn("gunicorn-default", KEEL_WSGI_APP, workers="")

#: The configurations compared under open streams.
STREAM_SERVERS: dict[str, Callable[[dict[str, str]], Service]] = {
    "keel-asgi": keel("asgi"),
    "keel-wsgi": keel("wsgi"),
    "gunicorn-default": GUNICORN_DEFAULT,
}
