"""``keel worker``: the process that runs durable agent workflows."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

logger = logging.getLogger("keel.worker")


def run_worker() -> int:
    """Run until SIGTERM or SIGINT; return a process exit status."""
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        logger.info("received %s, stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    logger.info("worker started")
    stop.wait()
    logger.info("worker stopped")
    return 0
