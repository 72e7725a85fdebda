"""The ``keel`` command: one entrypoint, one sub-command per container role.

Each role ends in ``os.execv`` or runs in this process, so PID 1 in the container is
the server or worker itself and receives ECS's SIGTERM directly.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from django.core.exceptions import ImproperlyConfigured

from keel.conf import ensure_settings_module, load_env_file
from keel.logs import LOG_STREAM_VARIABLE
from keel.metrics import ROLE_VARIABLE


def _setup_django() -> None:
    ensure_settings_module()
    import django

    django.setup()


def _check_rotated_secrets() -> None:
    """Stop web or worker now, naming the variable, if a declared rotated secret has no
    ARN: later it would fail only when the code first asks for it, mid-request or mid-run.
    Not migrate: the stack gives the rotated secrets to the roles that serve the app."""
    from keel import credentials

    credentials.declared_secrets()


def web(server: str, bind: str | None) -> None:
    """Replace this process with gunicorn configured by keel.runtime.web.gunicorn_conf."""
    ensure_settings_module()
    os.environ["KEEL_SERVER"] = server
    if bind:
        os.environ["KEEL_BIND"] = bind
    _check_web_configuration()
    argv = [sys.executable, "-m", "gunicorn", "--config", "python:keel.runtime.web.gunicorn_conf"]
    os.execv(sys.executable, argv)  # noqa: S606  (exec so gunicorn is PID 1 and gets SIGTERM)


def _check_web_configuration() -> None:
    """Read every variable the web role needs, here, before gunicorn starts.

    Past this point a bad value fails in the wrong place: gunicorn reads
    ``WEB_CONCURRENCY`` with ``int()`` as it imports its own config, and each worker
    loads the settings as it boots, so a missing ``SECRET_KEY`` became a traceback per
    worker and "Worker failed to boot". Raises ``ImproperlyConfigured``, which ``main``
    turns into one line.
    """
    from django.conf import settings
    from django.utils.log import configure_logging

    settings.INSTALLED_APPS  # noqa: B018  (loads the settings module: every variable it reads)
    # JSON logs from here on, as in the workers (an unreachable ECS endpoint is logged).
    configure_logging(settings.LOGGING_CONFIG, settings.LOGGING)
    from keel.ecs import hand_down_task_metadata

    # The endpoint is read once per start, here, before gunicorn_conf needs the task's
    # CPU limit; gunicorn's master and workers get the document through the environment.
    hand_down_task_metadata()
    import keel.runtime.web.gunicorn_conf  # noqa: F401  (reads the server's variables)

    _check_rotated_secrets()


def worker() -> int:
    _setup_django()
    _check_rotated_secrets()
    from keel.runtime.worker import run_worker

    return run_worker()


def migrate() -> int:
    _setup_django()
    from keel.runtime.migrate import run_migrate

    return run_migrate()


def preflight(server: str, interval: float | None) -> int:
    # Not django.setup() here: a missing variable must become a line in the report, not a
    # traceback, so preflight loads the settings itself.
    ensure_settings_module()
    from keel.runtime.preflight import run_preflight

    return run_preflight(server=server, interval=interval)


def manage(arguments: Sequence[str]) -> int:
    ensure_settings_module()
    # A command's output is stdout's (a token, an id to capture); its log lines go to stderr.
    os.environ.setdefault(LOG_STREAM_VARIABLE, "stderr")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["keel manage", *arguments])
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="keel", description=__doc__.splitlines()[0])
    roles = parser.add_subparsers(dest="role", required=True, metavar="ROLE")

    web_parser = roles.add_parser("web", help="serve HTTP with gunicorn")
    web_parser.add_argument(
        "--server",
        choices=("asgi", "wsgi"),
        default=os.environ.get("KEEL_SERVER", "asgi"),
        help="asgi: native ASGI worker, API on a WSGI thread pool, streams async (default); "
        "wsgi: gthread",
    )
    web_parser.add_argument("--bind", help="HOST:PORT (default 0.0.0.0:$PORT)")

    roles.add_parser("worker", help="run durable agent workflows")
    roles.add_parser("migrate", help="apply migrations under a PostgreSQL advisory lock")
    preflight_parser = roles.add_parser(
        "preflight", help="check this environment the way ECS and the ALB will, before a deploy"
    )
    preflight_parser.add_argument(
        "--server", choices=("asgi", "wsgi"), default=os.environ.get("KEEL_SERVER", "asgi")
    )
    preflight_parser.add_argument(
        "--interval",
        type=float,
        default=None,
        help="seconds between health checks (default: the target group's); the timeout "
        "and thresholds are always the target group's",
    )
    roles.add_parser(
        "init",
        help="write a Dockerfile, .dockerignore and an infra/ Pulumi program into this "
        "Django project (never overwriting a file)",
    )
    from keel.cutover.cli import add_parser as add_cutover_parser

    add_cutover_parser(roles)
    from keel.lambdas.cli import add_parser as add_lambdas_parser

    add_lambdas_parser(roles)
    manage_parser = roles.add_parser("manage", help="run a Django management command")
    manage_parser.add_argument("arguments", nargs=argparse.REMAINDER)
    return parser


#: Exit status for a missing or malformed variable: nothing was started.
CONFIGURATION_ERROR = 2


def main(argv: Sequence[str] | None = None) -> int:
    # The project's packages live in the directory keel runs from, as for manage.py (whose
    # own directory is first on sys.path) and gunicorn (which adds its working directory).
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    load_env_file()
    arguments = build_parser().parse_args(argv)
    try:
        return _run(arguments)
    except ImproperlyConfigured as error:
        # The message names the variable (keel.conf); a traceback would only bury it.
        print(f"keel {arguments.role}: configuration error: {error}", file=sys.stderr)
        return CONFIGURATION_ERROR


def _run(arguments: argparse.Namespace) -> int:
    # Which role this process plays, for its metrics' Service dimension (keel.metrics).
    os.environ.setdefault(ROLE_VARIABLE, arguments.role)
    if arguments.role == "web":
        web(arguments.server, arguments.bind)
        return 0  # not reached: exec replaced the process
    if arguments.role == "worker":
        return worker()
    if arguments.role == "migrate":
        return migrate()
    if arguments.role == "preflight":
        return preflight(arguments.server, arguments.interval)
    if arguments.role == "init":
        from keel.runtime.init import run_init

        return run_init()
    if arguments.role == "cutover":
        from keel.cutover.cli import run as run_cutover

        return run_cutover(arguments)
    if arguments.role == "lambdas":
        from keel.lambdas.cli import run as run_lambdas

        return run_lambdas(arguments)
    return manage(arguments.arguments)


def entrypoint() -> None:
    logging.captureWarnings(True)
    sys.exit(main())


if __name__ == "__main__":
    entrypoint()
