"""Run wrk (a C load generator) against loopback and parse its summary.

A Python load generator on a 2-core machine measures mostly itself; wrk's one thread
leaves the cores to the server under test.
"""

from __future__ import annotations

import asyncio
import re
import shutil
from dataclasses import asdict, dataclass

from bench.processes import LOGS

UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}
PERCENTILE = re.compile(r"^\s*(50|75|90|99)%\s+([0-9.]+)(us|ms|s|m)\s*$", re.MULTILINE)
REQUESTS_PER_SECOND = re.compile(r"^Requests/sec:\s+([0-9.]+)", re.MULTILINE)
TOTAL = re.compile(r"^\s*([0-9]+) requests in", re.MULTILINE)
SOCKET_ERRORS = re.compile(
    r"Socket errors: connect ([0-9]+), read ([0-9]+), write ([0-9]+), timeout ([0-9]+)"
)
NON_2XX = re.compile(r"Non-2xx or 3xx responses: ([0-9]+)")


@dataclass(frozen=True, kw_only=True)
class WrkResult:
    requests_per_second: float
    requests: int
    p50_ms: float | None
    p99_ms: float | None
    errors: int
    non_2xx: int

    def as_dict(self) -> dict[str, float | int | None]:
        return asdict(self)


def available() -> bool:
    return shutil.which("wrk") is not None


def parse(output: str) -> WrkResult:
    """Parse ``wrk --latency`` output."""
    percentiles = {
        int(match.group(1)): round(float(match.group(2)) * UNITS[match.group(3)], 3)
        for match in PERCENTILE.finditer(output)
    }
    rate = REQUESTS_PER_SECOND.search(output)
    total = TOTAL.search(output)
    socket_errors = SOCKET_ERRORS.search(output)
    non_2xx = NON_2XX.search(output)
    return WrkResult(
        requests_per_second=float(rate.group(1)) if rate else 0.0,
        requests=int(total.group(1)) if total else 0,
        p50_ms=percentiles.get(50),
        p99_ms=percentiles.get(99),
        errors=sum(int(value) for value in socket_errors.groups()) if socket_errors else 0,
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
    )


async def run(url: str, *, seconds: float, connections: int = 32, threads: int = 1) -> WrkResult:
    """Load ``url`` (loopback only) for ``seconds`` and return wrk's summary."""
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError("benchmarks only load 127.0.0.1")
    process = await asyncio.create_subprocess_exec(
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "5s",
        "--latency",
        url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), timeout=seconds + 30)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    text = output.decode(errors="replace")
    LOGS.mkdir(parents=True, exist_ok=True)
    with (LOGS / "wrk.log").open("a") as log:
        log.write(f"== {url} {seconds}s c={connections}\n{text}\n")
    return parse(text)


async def warm(url: str, *, connections: int = 32, attempts: int = 4, initial: float = 2.0) -> None:
    """Load ``url`` until a one-second run completes requests with p99 under a second.

    A cold worker's first requests import DRF and open a database connection per
    thread; those seconds belong to cold start (measured separately), not throughput.
    """
    await run(url, seconds=initial, connections=connections)
    for _ in range(attempts):
        result = await run(url, seconds=1.0, connections=connections)
        if result.requests and (result.p99_ms or 0) < 1000:
            return
