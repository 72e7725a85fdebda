"""Hold SSE streams open from a process of their own, as real clients would be.

``python -m bench.stream_holder PORT PATH COUNT SETTLE [QUIET]`` opens ``COUNT`` streams, prints
one JSON line of counts once they have settled, then answers each line on stdin:
``stats`` prints the counts again, ``close`` (or end of input) closes every stream,
prints the final counts and exits.

Why a process: with the streams read on the benchmark's own event loop, a /healthz
probe sent from that loop waited behind a thousand stream reads a second, and its
"server latency" included the client's own queueing. The ALB's health checker is not
the clients' machine. Here the probes go out from a loop that does nothing else; the
streams still cost this machine's CPU, as they must (the server has to write them).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from dataclasses import asdict
from typing import Any

from bench.client import StreamHolder, StreamStats
from bench.processes import BIN


def _counts(stats: StreamStats) -> dict[str, int]:
    data = asdict(stats)
    data.pop("latencies")
    return data


async def _serve(port: int, path: str, count: int, settle: float, quiet: float) -> None:
    holder = StreamHolder(port, path, count)
    loop = asyncio.get_running_loop()
    try:
        await holder.open(settle_timeout=settle, quiet=quiet)
        print(json.dumps(_counts(holder.stats)), flush=True)
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            command = line.strip()
            if command == "stats":
                print(json.dumps(_counts(holder.stats)), flush=True)
            elif command in ("close", ""):
                break
    finally:
        await holder.close()
    print(json.dumps(_counts(holder.stats)), flush=True)


def main(argv: list[str]) -> None:
    port, path, count, settle = int(argv[0]), argv[1], int(argv[2]), float(argv[3])
    quiet = float(argv[4]) if len(argv) > 4 else 2.0
    try:
        import uvloop  # the same loop keel's web worker runs; cheaper per stream read
    except ImportError:  # pragma: no cover - uvloop is a dependency off Windows
        asyncio.run(_serve(port, path, count, settle, quiet))
    else:
        uvloop.run(_serve(port, path, count, settle, quiet))


class RemoteStreamHolder:
    """``StreamHolder``'s interface (``open``, ``counts``, ``close``) over a child process."""

    def __init__(self, port: int, path: str, count: int) -> None:
        self.port = port
        self.path = path
        self.count = count
        self.process: asyncio.subprocess.Process | None = None

    async def open(self, *, settle_timeout: float, quiet: float = 2.0) -> StreamStats:
        self.process = await asyncio.create_subprocess_exec(
            str(BIN / "python"),
            "-m",
            "bench.stream_holder",
            str(self.port),
            self.path,
            str(self.count),
            str(settle_timeout),
            str(quiet),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        return await self._read()

    async def counts(self) -> StreamStats:
        return await self._ask("stats")

    async def close(self) -> StreamStats:
        if self.process is None:
            return StreamStats()
        try:
            stats = await self._ask("close")
            async with asyncio.timeout(30):
                await self.process.wait()
            return stats
        finally:
            if self.process.returncode is None:
                self.process.kill()
                await self.process.wait()

    async def _ask(self, command: str) -> StreamStats:
        process = self._running()
        assert process.stdin is not None
        process.stdin.write(command.encode() + b"\n")
        await process.stdin.drain()
        return await self._read()

    async def _read(self) -> StreamStats:
        process = self._running()
        assert process.stdout is not None
        line = await process.stdout.readline()
        if not line:
            raise RuntimeError(f"stream holder exited with {await process.wait()}")
        data: dict[str, Any] = json.loads(line)
        return StreamStats(**data)

    def _running(self) -> asyncio.subprocess.Process:
        if self.process is None:
            raise RuntimeError("stream holder not opened")
        return self.process


if __name__ == "__main__":
    main(sys.argv[1:])
