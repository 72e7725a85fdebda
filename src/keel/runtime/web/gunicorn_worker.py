"""gunicorn's native ASGI worker, with the listen backlog gunicorn was configured with.

gunicorn opens the listening socket with ``backlog`` (keel's ``WEB_BACKLOG``), then its
ASGI worker hands that socket to ``loop.create_server(sock=...)`` without a backlog, and
both asyncio and uvloop call ``listen()`` again with their default of 100: ``ss -ltn``
showed a queue of 100 per worker whatever gunicorn was told. A burst of connections
beyond it (thousands of event streams reconnecting after a deploy) is dropped by the
kernel, and each dropped client retries its SYN 1, 3 and 7 s later; a health check
caught in that queue took 1.0-1.9 s (docs/adr/0012-ten-thousand-streams.md).
"""

from __future__ import annotations

import functools

from gunicorn.workers.gasgi import ASGIWorker as GunicornASGIWorker


class ASGIWorker(GunicornASGIWorker):
    """``gunicorn -k asgi`` whose servers listen with ``cfg.backlog``."""

    def _setup_event_loop(self) -> None:
        super()._setup_event_loop()
        loop = self.loop
        assert loop is not None  # set by the call above
        loop.create_server = functools.partial(loop.create_server, backlog=self.cfg.backlog)
