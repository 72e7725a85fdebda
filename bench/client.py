"""A minimal asyncio HTTP/1.1 client: cheap enough to hold a thousand SSE streams open.

httpx would spend the client's CPU on a 2-core box where the server needs it; these
few raw-socket helpers only write a request and count what comes back.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from dataclasses import dataclass, field

SENT_AT = re.compile(rb'"sent_at": ([0-9]+\.[0-9]+)')


def request_bytes(path: str, *, keep_alive: bool = False) -> bytes:
    connection = "keep-alive" if keep_alive else "close"
    return (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: */*\r\nConnection: {connection}\r\n\r\n"
    ).encode()


async def fetch_status(port: int, path: str, timeout: float) -> tuple[int | None, float]:
    """GET ``path`` on a new connection (as the ALB does); return (status or None, seconds)."""
    started = time.perf_counter()
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(request_bytes(path))
            await writer.drain()
            status_line = await reader.readline()
            while await reader.read(65536):
                pass
        status = int(status_line.split()[1]) if status_line.startswith(b"HTTP/") else None
        return status, time.perf_counter() - started
    except (TimeoutError, OSError, ValueError, IndexError):
        return None, time.perf_counter() - started
    finally:
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


@dataclass
class Probe:
    """Results of health probes: one status (None = failure) and latency each."""

    statuses: list[int | None] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    @property
    def failures(self) -> int:
        return sum(1 for status in self.statuses if status != 200)


async def probe(
    port: int, *, path: str = "/healthz", count: int, interval: float, timeout: float
) -> Probe:
    """Send ``count`` probes ``interval`` s apart, each with ``timeout``, like the ALB."""
    result = Probe()

    async def one() -> None:
        status, seconds = await fetch_status(port, path, timeout)
        result.statuses.append(status)
        result.seconds.append(seconds)

    async with asyncio.TaskGroup() as group:
        for index in range(count):
            group.create_task(one())
            if index < count - 1:
                await asyncio.sleep(interval)
    return result


@dataclass
class StreamStats:
    """What the open streams saw: how many got a 200, events and delivery latencies."""

    opened: int = 0
    established: int = 0
    events: int = 0
    failed: int = 0
    #: Seconds from the first connect to the last stream's 200 (0 when none).
    established_s: float = 0.0
    latencies: list[float] = field(default_factory=list)


class StreamHolder:
    """Open ``count`` SSE streams to ``path`` and read them until ``close``."""

    def __init__(self, port: int, path: str, count: int, *, record_latency: bool = False) -> None:
        self.port = port
        self.path = path
        self.count = count
        self.record_latency = record_latency
        self.stats = StreamStats()
        self.tasks: list[asyncio.Task[None]] = []
        self.started = time.monotonic()

    async def open(self, *, settle_timeout: float, quiet: float = 2.0) -> StreamStats:
        """Start every stream; wait until all are established or ``settle_timeout`` passes.

        Waiting also stops once nothing has changed for ``quiet`` seconds: a server whose
        threads are all taken by streams will never answer the rest. A flood of thousands
        needs a longer ``quiet``: connects the kernel's full listen queue dropped are
        retried 1, 3 and 7 s later, and nothing may settle in between.
        """
        self.started = time.monotonic()
        for _ in range(self.count):
            self.tasks.append(asyncio.create_task(self._read_one()))
            # Yield so connects spread out instead of one burst of SYNs.
            await asyncio.sleep(0)
        deadline = time.monotonic() + settle_timeout
        last_change, last_seen = time.monotonic(), -1
        while time.monotonic() < deadline:
            settled = self.stats.established + self.stats.failed
            if settled >= self.count:
                break
            if settled != last_seen:
                last_change, last_seen = time.monotonic(), settled
            elif time.monotonic() - last_change > quiet:
                break
            await asyncio.sleep(0.05)
        return self.stats

    async def _read_one(self) -> None:
        writer: asyncio.StreamWriter | None = None
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
            self.stats.opened += 1
            writer.write(request_bytes(self.path, keep_alive=True))
            await writer.drain()
            status_line = await reader.readline()
            if b" 200 " not in status_line:
                self.stats.failed += 1
                return
            self.stats.established += 1
            self.stats.established_s = round(time.monotonic() - self.started, 3)
            buffer = b""
            while chunk := await reader.read(65536):
                self.stats.events += chunk.count(b"event: tick")
                if self.record_latency:
                    received = time.time()
                    buffer += chunk
                    matches = list(SENT_AT.finditer(buffer))
                    for match in matches:
                        self.stats.latencies.append(received - float(match.group(1)))
                    if matches:
                        buffer = buffer[matches[-1].end() :]
                    buffer = buffer[-4096:]
        except OSError:
            self.stats.failed += 1
        finally:
            if writer is not None:
                writer.close()

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
