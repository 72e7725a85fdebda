"""Clients of keel's runs API: time to first token, and worker event -> SSE client latency.

A few streams at a time, so httpx's cost on the client side stays far below the
latencies measured (it parses a line in microseconds; the server's steps take ms).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

#: A short demo run: one tool call with no delay, so its tokens come at once.
FIRST_TOKEN_INPUT = {"prompt": "bench", "steps": 1, "step_delay": 0}
#: A longer demo run for event latency: tokens, tool calls and results over ~1 s.
STREAMING_INPUT = {"prompt": "bench", "steps": 4, "step_delay": 0.1}


def api_client(base_url: str, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=base_url,
        headers={"Authorization": f"Token {token}"},
        timeout=httpx.Timeout(30.0),
    )


async def create_run(client: httpx.AsyncClient, run_input: dict[str, Any]) -> str:
    response = await client.post("/api/runs/", json={"agent": "demo", "input": run_input})
    if response.status_code != 201:
        raise RuntimeError(f"POST /api/runs/ answered {response.status_code}: {response.text}")
    return str(response.json()["id"])


async def events(
    response: httpx.Response,
) -> AsyncIterator[tuple[float, dict[str, Any]]]:
    """Yield (wall-clock time received, decoded data) for each SSE event of a run."""
    data = ""
    async for line in response.aiter_lines():
        if line.startswith("data: "):
            data = line.removeprefix("data: ")
        elif line == "" and data:
            received = time.time()
            yield received, json.loads(data)
            data = ""


async def warm_up(client: httpx.AsyncClient, web_workers: int) -> None:
    """Make each web worker import the agent modules, which it does on first use."""
    for _ in range(web_workers * 4):
        # A fresh connection each time lets --reuse-port spread them over the workers.
        async with httpx.AsyncClient(
            base_url=str(client.base_url), headers=client.headers, timeout=30
        ) as fresh:
            await fresh.post("/api/runs/", json={"agent": "warm-up", "input": {}})


async def first_token(client: httpx.AsyncClient, *, runs: int, jitter: float) -> list[float]:
    """POST a run, follow its events; return seconds from the POST to the first token."""
    seconds: list[float] = []
    for _ in range(runs):
        await asyncio.sleep(random.uniform(0.0, jitter))
        started = time.perf_counter()
        run_id = await create_run(client, FIRST_TOKEN_INPUT)
        async with client.stream("GET", f"/api/runs/{run_id}/events/") as response:
            async for _, event in events(response):
                if event["type"] == "token":
                    seconds.append(time.perf_counter() - started)
                    break
        # Let the run finish before the next, so runs do not queue behind each other.
        await asyncio.sleep(0.3)
    return seconds


@dataclass
class Followed:
    """What one followed run delivered: latencies of events created after the stream opened."""

    latencies: list[float] = field(default_factory=list)
    events: int = 0
    final_status: str | None = None


async def follow(client: httpx.AsyncClient, run_input: dict[str, Any]) -> Followed:
    run_id = await create_run(client, run_input)
    followed = Followed()
    async with client.stream("GET", f"/api/runs/{run_id}/events/") as response:
        opened = time.time()
        async for received, event in events(response):
            followed.events += 1
            created = datetime.fromisoformat(str(event["created_at"])).timestamp()
            # Events written before the stream opened are a replay, not a delivery.
            if created >= opened:
                followed.latencies.append(received - created)
            if event["type"] == "status":
                followed.final_status = str(event["payload"]["status"])
    return followed


async def event_latency(
    client: httpx.AsyncClient, *, concurrent: int, rounds: int, timeout: float
) -> list[Followed]:
    """Follow ``concurrent`` runs at once, ``rounds`` times; bounded by ``timeout`` each."""
    followed: list[Followed] = []
    for _ in range(rounds):
        async with asyncio.timeout(timeout):
            followed += await asyncio.gather(
                *(follow(client, STREAMING_INPUT) for _ in range(concurrent))
            )
    return followed
