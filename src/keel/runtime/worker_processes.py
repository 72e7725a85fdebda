"""``keel worker`` with several processes: one per CPU the task may use, drained together.

Python runs one thread at a time per process, so a worker task with two vCPUs ran its
bookkeeping (database writes, serialisation, DBOS's queue threads) on one of them. With
``WORKER_PROCESSES`` above one, or unset on a task with more than one CPU (the ECS task
limit, the cgroup quota and the affinity mask: never ``os.cpu_count()`` alone, which
counts the host's), this process supervises that many children. Each child is a whole
``keel worker``: its own DBOS with its own executor id and heartbeat, its own queue
threads and wake listener. Queue limits are DBOS's, held in the database, so they hold
across the children exactly as across tasks.

On SIGTERM (or SIGINT) the supervisor passes SIGTERM to every child at once; they drain
side by side within the one graceful timeout and the supervisor exits when all have.
A child that dies on its own is started again: its workflows are recovered by the
heartbeat sweep like those of any dead executor.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import signal
import subprocess
import sys
import time

from keel.conf import WORKER_PROCESSES_SETTING
from keel.runtime import stop_signals
from keel.runtime.cpus import available_cpus
from keel.runtime.stop_signals import StopSignals

logger = logging.getLogger("keel.worker")

#: Set in each child's environment (its index): a child runs the services itself.
CHILD_VARIABLE = "KEEL_WORKER_PROCESS"
#: Seconds between restarts of a child that exited on its own.
RESTART_DELAY = 1.0
#: Seconds past the graceful timeout before a child still draining is killed.
KILL_MARGIN = 5.0


def worker_process_count() -> int:
    """``WORKER_PROCESSES``, else one per CPU the task may use (rounded up), at least one."""
    configured = WORKER_PROCESSES_SETTING.read()
    if configured:
        return int(configured)
    return max(1, math.ceil(available_cpus()))


def is_child() -> bool:
    return CHILD_VARIABLE in os.environ


def _drain_when_orphaned() -> None:
    """In the child before exec (Linux): SIGTERM it if the supervisor dies without passing it on."""
    import ctypes
    import ctypes.util

    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


#: prctl(2): the signal a child gets when its parent dies.
PR_SET_PDEATHSIG = 1
#: The signals that ask a worker to drain (keel.runtime.stop_signals). A child starts
#: with them blocked and unblocks them once its handler is in place
#: (keel.runtime.worker.run_worker): a SIGTERM passed on while it is still importing
#: Django waits for the handler instead of killing it by the default action (status -15,
#: and the supervisor's exit 1) — ECS may stop a task at any moment of its start.
STOP_SIGNALS = frozenset(stop_signals.STOP_SIGNALS)


def _spawn(index: int) -> subprocess.Popen[bytes]:
    environment = {**os.environ, CHILD_VARIABLE: str(index)}
    # The child inherits the signal mask across fork and exec; the supervisor's own is
    # restored at once (a stop signal sent meanwhile is delivered then, not lost).
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "keel.runtime.cli", "worker"],
            env=environment,
            preexec_fn=_drain_when_orphaned if sys.platform == "linux" else None,
        )
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def supervise(count: int, *, graceful_timeout: float) -> int:
    """Run ``count`` worker processes until SIGTERM or SIGINT, then drain them together."""
    from keel.ecs import hand_down_task_metadata

    # Read the ECS metadata once for every child (their executor ids name the task).
    hand_down_task_metadata()
    stop = StopSignals()
    stop.install()
    children = [_spawn(index) for index in range(count)]
    logger.info(
        "worker processes started",
        extra={"processes": count, "pids": [child.pid for child in children]},
    )
    while not stop.wait(0.5):
        for index, child in enumerate(children):
            status = child.poll()
            if status is not None and not stop.is_set():
                logger.error(
                    "worker process %d exited with status %s; starting another",
                    child.pid,
                    status,
                    extra={"process": index, "status": status},
                )
                time.sleep(RESTART_DELAY)
                children[index] = _spawn(index)
    logger.info("received %s, draining %d worker processes", stop.name, count)
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + graceful_timeout + KILL_MARGIN
    statuses = []
    for child in children:
        try:
            statuses.append(child.wait(timeout=max(0.1, deadline - time.monotonic())))
        except subprocess.TimeoutExpired:
            logger.error("worker process %d did not drain in time; killing it", child.pid)
            child.kill()
            statuses.append(child.wait())
    logger.info("worker processes stopped", extra={"statuses": statuses})
    return 0 if all(status == 0 for status in statuses) else 1
