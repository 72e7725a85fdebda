"""Where the test agents' tool calls record themselves and wait, for a test to read and steer.

``COUNTING_AGENT_LOG`` names the log (tests/agents/cluster.py sets it for every cluster).
A tool call of step N appends ``<run id> <N> <unix time>`` to ``<log>.started`` as it
begins, and waits while ``<log>.hold`` names N (``Cluster.hold`` writes and removes it).
"""

from __future__ import annotations

import asyncio
import os
import time


def record(line: str, suffix: str = "") -> None:
    """Append ``line`` to the log (or, with ``suffix``, to the file beside it)."""
    with open(os.environ["COUNTING_AGENT_LOG"] + suffix, "a") as log:
        log.write(line)


def held(step: int) -> bool:
    try:
        with open(os.environ["COUNTING_AGENT_LOG"] + ".hold") as hold:
            return hold.read().strip() == str(step)
    except FileNotFoundError:
        return False


async def start_and_wait_while_held(run_id: str, step: int) -> None:
    """Record that ``run_id``'s call of ``step`` began, then wait while that step is held."""
    # Starts go to "<log>.started" so tests can act mid-call, not between calls.
    await asyncio.to_thread(record, f"{run_id} {step} {time.time():.3f}\n", ".started")
    # The hold is a file the test process removes: there is no event to wait on.
    while await asyncio.to_thread(held, step):  # noqa: ASYNC110
        await asyncio.sleep(0.05)
