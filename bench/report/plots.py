"""docs/benchmarks/*.png: one figure per benchmark that has something to compare visually."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.report.targets import HEALTH_P99_TARGET_MS

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: Draws one benchmark's result on the axes it is given.
Draw = Callable[["Axes", dict[str, Any]], None]


def plot(results: dict[str, Any], directory: Path) -> list[str]:
    """Draw the PNG plots; return their file names."""
    # Imported here: matplotlib is in the bench dependency group only, and slow to import.
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory.mkdir(parents=True, exist_ok=True)
    drawn = []
    for name, size, draw in FIGURES:
        result = results.get(name)
        if not result:
            continue
        figure, axis = plt.subplots(figsize=size)
        draw(axis, result)
        figure.tight_layout()
        figure.savefig(directory / f"{name}.png", dpi=100)
        plt.close(figure)
        drawn.append(f"{name}.png")
    return drawn


def draw_health(axis: Axes, health: dict[str, Any]) -> None:
    servers = sorted({row["server"] for row in health["rows"]})
    for server in servers:
        rows = sorted(
            (row for row in health["rows"] if row["server"] == server),
            key=lambda row: row["streams_requested"],
        )
        axis.plot(
            [row["streams_requested"] for row in rows],
            [row["healthz"]["p99_ms"] or 0 for row in rows],
            marker="o",
            label=server,
        )
    axis.axhline(HEALTH_P99_TARGET_MS, color="grey", linestyle="--", label="target 100 ms")
    axis.set_yscale("log")
    axis.set_xlabel("open SSE streams")
    axis.set_ylabel("/healthz p99 (ms, log; 5,000 = timeout)")
    axis.legend()
    axis.set_title("/healthz p99 under open streams")


def draw_modes(axis: Axes, modes: dict[str, Any]) -> None:
    rows = modes["rows"]
    labels = [f"{row['server']}\n{row['endpoint']}" for row in rows]
    axis.barh(labels, [row["requests_per_second"] or 0 for row in rows])
    axis.invert_yaxis()
    axis.set_xlabel("requests/s (median)")
    axis.tick_params(axis="y", labelsize=7)
    axis.set_title("Server modes, 2 workers, same app")


def draw_api(axis: Axes, api: dict[str, Any]) -> None:
    labels = [f"{row['server']}\n{row['streams_requested']} streams" for row in api["rows"]]
    axis.bar(labels, [row["requests_per_second"] or 0 for row in api["rows"]])
    axis.set_ylabel("/api/ping/ requests/s (median)")
    axis.set_title("API throughput with and without open streams")
    axis.tick_params(axis="x", labelsize=8)


def draw_dispatch(axis: Axes, dispatch: dict[str, Any]) -> None:
    measured = [row for row in dispatch["rows"] if "latency" in row]
    axis.bar(
        [f"{row['system']}\n{row['database']}" for row in measured],
        [row["latency"]["p50_ms"] or 0 for row in measured],
    )
    axis.set_ylabel("enqueue → start p50 (ms)")
    axis.set_title("Dispatch latency")
    axis.tick_params(axis="x", labelsize=8)


#: (benchmark, figure size in inches, how to draw it), in the order they are drawn.
FIGURES: list[tuple[str, tuple[float, float], Draw]] = [
    ("health_under_streams", (7, 4), draw_health),
    ("server_modes", (9, 4.5), draw_modes),
    ("api_under_streams", (7, 3.5), draw_api),
    ("dispatch", (7, 3.5), draw_dispatch),
]
