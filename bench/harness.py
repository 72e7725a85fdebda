"""What every benchmark module receives, and how it reports."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from bench.processes import RESULTS


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
