"""Pure summary maths: percentiles, medians and ratios (tested in tests/bench)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence


def percentile(samples: Sequence[float], fraction: float) -> float | None:
    """Return the ``fraction`` percentile (0-1) by linear interpolation, None when empty."""
    if not 0.0 <= fraction <= 1.0:
        raise ValueError("fraction must be between 0 and 1")
    if not samples:
        return None
    ordered = sorted(samples)
    position = (len(ordered) - 1) * fraction
    lower = math.floor(position)
    upper = math.ceil(position)
    if lower == upper:
        return float(ordered[lower])
    weight = position - lower
    return float(ordered[lower] * (1 - weight) + ordered[upper] * weight)


def median(samples: Iterable[float | None]) -> float | None:
    """Return the median of the samples that are not None (None when there are none)."""
    present = [sample for sample in samples if sample is not None]
    return percentile(present, 0.5)


def latency_summary(seconds: Sequence[float]) -> dict[str, float | int | None]:
    """Summarise latencies given in seconds as milliseconds: count, p50, p95, p99, max."""

    def milliseconds(value: float | None) -> float | None:
        return None if value is None else round(value * 1000, 2)

    return {
        "count": len(seconds),
        "p50_ms": milliseconds(percentile(seconds, 0.5)),
        "p95_ms": milliseconds(percentile(seconds, 0.95)),
        "p99_ms": milliseconds(percentile(seconds, 0.99)),
        "max_ms": milliseconds(max(seconds) if seconds else None),
    }


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """Return numerator / denominator rounded to 3 places, None if either is missing or 0."""
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, 3)
