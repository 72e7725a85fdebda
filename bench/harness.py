"""What every benchmark module receives, how it saves its results, and how they are read."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.processes import RESULTS

#: Every benchmark, by module name (bench/<name>.py), in the order they run.
BENCHMARKS = [
    "health_under_streams",
    "server_modes",
    "api_under_streams",
    "dispatch",
    "idle_cpu",
    "stream_latency",
    "cold_start",
]


@dataclass(frozen=True, kw_only=True)
class Run:
    """One invocation of the harness: its size and the shared, migrated SQLite database."""

    smoke: bool
    sqlite: dict[str, str]
    postgres: bool

    def pick[T](self, *, full: T, smoke: T) -> T:
        return smoke if self.smoke else full


def emit(name: str, summary: dict[str, Any], *, started: float) -> dict[str, Any]:
    """Save ``summary`` under bench/results and print it as one JSON line."""
    record = {
        "benchmark": name,
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "duration_s": round(time.monotonic() - started, 1),
        **summary,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, separators=(",", ":")), flush=True)
    return record


def load_results(results: Path = RESULTS) -> dict[str, Any]:
    """Read every result present (a partial run keeps the others' latest results)."""
    loaded: dict[str, Any] = {}
    for name in [*BENCHMARKS, "meta"]:
        path = results / f"{name}.json"
        if path.exists():
            loaded[name] = json.loads(path.read_text())
    return loaded
