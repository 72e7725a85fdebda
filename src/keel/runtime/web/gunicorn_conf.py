"""Gunicorn configuration owned by keel (``gunicorn -c python:keel.runtime.web.gunicorn_conf``).

Everything is derived from the environment (read through ``keel.conf``) and from
``keel.constants``, the numbers the ALB and the ECS task definition also use.
"""

from __future__ import annotations

import os
import signal
import threading
from typing import Any

from keel import constants
from keel.conf import env, web_threads
from keel.conf import forwarded_allow_ips as conf_forwarded_allow_ips
from keel.runtime.cpus import default_worker_count

server = env.choice("KEEL_SERVER", ("asgi", "wsgi"), "asgi")

bind = [env.string("KEEL_BIND", f"0.0.0.0:{env.integer('PORT', constants.PORT, minimum=1)}")]
workers = env.integer("WEB_CONCURRENCY", None, minimum=1, maximum=64) or default_worker_count()
# Read here in both modes, so `keel web` checks it before gunicorn starts; under asgi the
# pool (keel.runtime.web.asgi) reads it again in each worker, and gunicorn's own `threads`
# stays unset (its ASGI worker warns about it).
_web_threads = web_threads()

if server == "asgi":
    # keel.runtime.web.asgi routes the API to a WSGI thread pool and streams to Django's ASGI
    # handler; gunicorn's native ASGI worker runs the event loop (docs/adr/0001), keel's
    # subclass keeps the listen backlog below (its servers would re-listen with 100).
    worker_class = "keel.runtime.web.gunicorn_worker.ASGIWorker"
    wsgi_app = "keel.runtime.web.asgi:application"
    # uvloop, not asyncio's loop: the loop carries every stream and every hand-off to the
    # API's thread pool; with 1,000 streams open the API served ~20 % more (ADR 0001).
    asgi_loop = "uvloop"
    # Streams are coroutines: allow many open connections per worker.
    worker_connections = env.integer("WEB_WORKER_CONNECTIONS", 2000, minimum=10)
else:
    worker_class = "gthread"
    wsgi_app = "keel.runtime.web.wsgi:application"
    threads = _web_threads

# Connections the kernel queues per listening socket (one per worker, with reuse_port)
# before the worker accepts them; it caps this at net.core.somaxconn (4096 on current
# kernels). Thousands of streams reconnecting at once overflowed gunicorn's 2048 less
# than asyncio's 100 (keel.runtime.web.gunicorn_worker), but a dropped connect waits 1 s.
backlog = env.integer("WEB_BACKLOG", constants.WEB_BACKLOG, minimum=64, maximum=65535)

# Without SO_REUSEPORT one worker often accepted every connection; with it the kernel
# spreads connections across workers (2-3x throughput measured, docs/benchmarks.md).
reuse_port = True

# Overridable so a task definition can be tuned, and so ``keel preflight`` can be shown a
# wrong value; preflight fails a deploy whose values break constants.check_timeouts.
keepalive = env.integer("WEB_KEEPALIVE", constants.KEEPALIVE, minimum=1)
graceful_timeout = env.integer("WEB_GRACEFUL_TIMEOUT", constants.WEB_GRACEFUL_TIMEOUT, minimum=1)
timeout = constants.WORKER_TIMEOUT

# Trust X-Forwarded-* (and so HTTPS) only from the load balancer's network.
# keel.streaming reads the same list to believe X-Forwarded-For (the client's address).
forwarded_allow_ips = ",".join(conf_forwarded_allow_ips())

max_requests = env.integer("WEB_MAX_REQUESTS", constants.MAX_REQUESTS, minimum=0)
max_requests_jitter = env.integer(
    "WEB_MAX_REQUESTS_JITTER", constants.MAX_REQUESTS_JITTER, minimum=0
)

# The worker heartbeat file on tmpfs: on a disk-backed /tmp an fsync stall can get a
# healthy worker killed. /dev/shm is also writable with a read-only root filesystem.
_SHARED_MEMORY = "/dev/shm"  # noqa: S108  (a tmpfs mount, not a shared temp file)
worker_tmp_dir = _SHARED_MEMORY if os.access(_SHARED_MEMORY, os.W_OK) else None

# keel does not use gunicornc; the control socket would need a writable home directory,
# which a read-only root filesystem does not have.
control_socket_disable = True

accesslog = "-" if env.boolean("WEB_ACCESS_LOG", True) else None
errorlog = "-"
loglevel = env.string("LOG_LEVEL", "info").lower()
logger_class = "keel.runtime.web.gunicorn_logging.JsonAccessLogger"
proc_name = f"keel-web-{server}"


#: Signals that stop a worker. uvloop forwards a signal to the worker's handlers only
#: while its loop runs, so one that arrives while the worker is still importing Django
#: would be lost, and the master would wait graceful_timeout (30 s) to kill the worker.
_STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT, signal.SIGQUIT}


def when_ready(arbiter: Any) -> None:
    """Say where the server listens: with ``reuse_port`` each worker binds its own socket,
    so gunicorn's own "Listening at:" line in the master names no address."""
    arbiter.log.info(
        "keel web (%s) serving on %s with %d worker(s)", server, ", ".join(bind), workers
    )


def post_fork(arbiter: object, worker: object) -> None:
    """In a new ASGI worker, hold stop signals until its event loop is running."""
    if server == "asgi":
        signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)


def post_worker_init(worker: Any) -> None:
    """Release held stop signals, and move start-up objects out of the collector's reach.

    A stop signal held since ``post_fork`` is delivered as soon as the loop runs its
    first callback, where uvloop hands it to the worker's graceful-shutdown handler.

    Django, DRF and the project are imported by now; their objects live as long as the
    worker. Freezing them keeps every full collection from walking them again, so the
    collector's pauses stay short while a thousand streams churn objects.
    """
    import gc

    if server == "asgi":
        worker.loop.call_soon(signal.pthread_sigmask, signal.SIG_UNBLOCK, _STOP_SIGNALS)
    threading.Thread(target=_publish_open_streams, name="keel-metrics", daemon=True).start()
    gc.freeze()


def _publish_open_streams() -> None:
    """Publish this worker's open event streams at every metrics interval (keel.metrics)."""
    import time

    from keel import metrics
    from keel.streaming.limits import streams

    interval = metrics.INTERVAL_SETTING.read()
    while True:
        time.sleep(interval)
        metrics.emit({constants.OPEN_STREAMS: streams.total()})
