"""docs/benchmarks/*.png: one figure per benchmark, made to be read at a glance.

Every figure follows the same rules: keel's bars in one strong colour and every anchor
in grey, the value printed on each bar, each target drawn as a dashed line with its
number, and the spread of repeats (or of the samples behind a median) as a whisker.
The data each figure draws is chosen by a pure function (``*_bars``), tested without
matplotlib; the drawing itself only lays those bars out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.dispatch import is_keel_row, system_label
from bench.report import run_targets
from bench.report.targets import HEALTH_P99_TARGET_MS

if TYPE_CHECKING:
    from matplotlib.axes import Axes

KEEL_COLOUR = "#d62728"
ANCHOR_COLOUR = "#9e9e9e"
TARGET_COLOUR = "#1f77b4"


@dataclass(frozen=True)
class Bar:
    """One bar: its label, value, the spread (low, high) around it, and whether it is keel's."""

    label: str
    value: float
    keel: bool
    spread: tuple[float, float] | None = None


@dataclass(frozen=True)
class Panel:
    """One chart of bars, with its axis label, title and target lines (label, value)."""

    title: str
    axis: str
    bars: list[Bar]
    targets: list[tuple[str, float]] = field(default_factory=list)
    log: bool = False


#: Draws one benchmark's result on the axes it is given.
Draw = Callable[["Axes", dict[str, Any]], None]


def spread(values: list[float]) -> tuple[float, float] | None:
    """(min, max) of repeats, None for fewer than two."""
    present = [value for value in values if value is not None]
    return (min(present), max(present)) if len(present) > 1 else None


def is_keel(label: str) -> bool:
    return label.startswith("keel")


def dispatch_panels(dispatch: dict[str, Any]) -> list[Panel]:
    """Latency (p50, whisker to p95) and throughput per system and database."""
    measured = [row for row in dispatch["rows"] if "latency" in row]
    latency = [
        Bar(
            f"{system_label(row)}\n{row['database']}",
            row["latency"]["p50_ms"] or 0,
            is_keel_row(row),
            (row["latency"]["p50_ms"] or 0, row["latency"]["p95_ms"] or 0),
        )
        for row in measured
    ]
    rate = [
        Bar(
            f"{system_label(row)}\n{row['database']}",
            row["runs_per_second"] or 0,
            is_keel_row(row),
        )
        for row in measured
    ]
    rate_targets = []
    celery = run_targets.dispatch_row({"dispatch": dispatch}, "celery", "redis")
    dbos = run_targets.dispatch_row({"dispatch": dispatch}, "dbos", "postgresql")
    if celery and celery["runs_per_second"]:
        rate_targets.append(("Celery", float(celery["runs_per_second"])))
    if dbos and dbos["runs_per_second"]:
        rate_targets.append(
            ("2x raw DBOS", run_targets.THROUGHPUT_TIMES_DBOS * dbos["runs_per_second"])
        )
    return [
        Panel(
            "Dispatch: enqueue → start p50 (whisker to p95)",
            "ms (log)",
            latency,
            [
                (f"target {database}", value)
                for database, value in run_targets.DISPATCH_P50_MS.items()
            ],
            log=True,
        ),
        Panel("No-op throughput (target: ≥ both lines, PostgreSQL)", "runs/s", rate, rate_targets),
    ]


def idle_panel(idle: dict[str, Any]) -> Panel:
    return Panel(
        f"Idle CPU per worker process over {idle['window_s']:g} s",
        "% of a core",
        [
            Bar(
                f"{row['system']}\n{row['database']}",
                row["percent_of_core_per_process"],
                row["system"] == "keel",
            )
            for row in idle["rows"]
        ],
        [("target", run_targets.IDLE_PERCENT_OF_CORE)],
    )


def api_panel(api: dict[str, Any]) -> Panel:
    gthread = next(
        (
            row["requests_per_second"]
            for row in api["rows"]
            if row["server"] == "keel-wsgi" and row["streams_requested"] == 0
        ),
        None,
    )
    return Panel(
        "API req/s with and without open streams (whisker: repeats)",
        "/api/ping/ req/s",
        [
            Bar(
                f"{row['server']}\n{row['streams_requested']:,} streams",
                row["requests_per_second"] or 0,
                row["server"] == "keel-asgi",
                spread(row.get("repeats", [])),
            )
            for row in api["rows"]
        ],
        [("gthread, no streams", gthread)] if gthread else [],
    )


def modes_panel(modes: dict[str, Any]) -> Panel:
    rows = modes["rows"]
    granian = next(
        (
            row["requests_per_second"]
            for row in rows
            if row["server"] == "granian-wsgi" and row["endpoint"] == "drf_ping"
        ),
        None,
    )
    return Panel(
        "Server modes, 2 workers, same app (whisker: repeats)",
        "requests/s (median)",
        [
            Bar(
                f"{row['server']} {row['endpoint']}",
                row["requests_per_second"] or 0,
                is_keel(row["server"]),
                spread(row.get("repeats", [])),
            )
            for row in rows
        ],
        [("granian-wsgi /api/ping/", granian)] if granian else [],
    )


def draw_bars(axis: Axes, panel: Panel, *, horizontal: bool = False) -> None:
    labels = [bar.label for bar in panel.bars]
    values = [bar.value for bar in panel.bars]
    colours = [KEEL_COLOUR if bar.keel else ANCHOR_COLOUR for bar in panel.bars]
    low = [bar.value - bar.spread[0] if bar.spread else 0 for bar in panel.bars]
    high = [bar.spread[1] - bar.value if bar.spread else 0 for bar in panel.bars]
    errors = [[max(0, v) for v in low], [max(0, v) for v in high]]
    if horizontal:
        drawn = axis.barh(labels, values, color=colours, xerr=errors, capsize=2)
        axis.invert_yaxis()
        axis.set_xlabel(panel.axis)
        axis.tick_params(axis="y", labelsize=7)
        line: Callable[..., Any] = axis.axvline
    else:
        drawn = axis.bar(labels, values, color=colours, yerr=errors, capsize=3)
        axis.set_ylabel(panel.axis)
        # Slanted: ten labels such as "keel, 2 processes" do not fit side by side.
        axis.tick_params(axis="x", labelsize=7, labelrotation=30)
        for tick in axis.get_xticklabels():
            tick.set_horizontalalignment("right")
        line = axis.axhline
    if panel.log:
        (axis.set_xscale if horizontal else axis.set_yscale)("log")
    axis.bar_label(drawn, labels=[value_text(value) for value in values], fontsize=7, padding=2)
    for index, (label, value) in enumerate(panel.targets):
        line(value, color=TARGET_COLOUR, linestyle=("--", ":", "-.")[index % 3], linewidth=1)
        position = {"x": value, "y": 0.98} if horizontal else {"x": 0.99, "y": value}
        axis.annotate(
            f"{label} {value_text(value)}",
            xy=(position["x"], position["y"]),
            xycoords=("data", "axes fraction") if horizontal else ("axes fraction", "data"),
            ha="right",
            va="bottom",
            fontsize=7,
            color=TARGET_COLOUR,
        )
    axis.set_title(panel.title, fontsize=9)


def value_text(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}" if value >= 1 else f"{value:.2f}"


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
        figure = plt.figure(figsize=size)
        draw(figure, result)
        figure.tight_layout()
        figure.savefig(directory / f"{name}.png", dpi=100)
        plt.close(figure)
        drawn.append(f"{name}.png")
    return drawn


def draw_health(figure: Any, health: dict[str, Any]) -> None:
    axis = figure.add_subplot(1, 1, 1)
    servers = sorted({row["server"] for row in health["rows"]})
    for server in servers:
        rows = sorted(
            (row for row in health["rows"] if row["server"] == server),
            key=lambda row: row["streams_requested"],
        )
        keel = server == "keel-asgi"
        x = [row["streams_requested"] for row in rows]
        y = [row["healthz"]["p99_ms"] or 0 for row in rows]
        axis.plot(
            x,
            y,
            marker="o",
            label=server,
            color=KEEL_COLOUR if keel else None,
            linewidth=2.5 if keel else 1,
            alpha=1 if keel else 0.6,
        )
        # The spread of the probes: p50 to max.
        axis.vlines(
            x,
            [row["healthz"]["p50_ms"] or 0 for row in rows],
            [row["healthz"].get("max_ms") or row["healthz"]["p99_ms"] or 0 for row in rows],
            color=KEEL_COLOUR if keel else ANCHOR_COLOUR,
            alpha=0.5,
        )
        if keel:
            for xi, yi in zip(x, y, strict=True):
                axis.annotate(
                    f"{yi:,.1f} ms", (xi, yi), textcoords="offset points", xytext=(4, 6), fontsize=7
                )
    axis.axhline(HEALTH_P99_TARGET_MS, color=TARGET_COLOUR, linestyle="--", label="target 100 ms")
    axis.set_xscale("log")
    axis.set_yscale("log")
    axis.set_xlabel("open SSE streams (log)")
    axis.set_ylabel("/healthz p99 ms (log; line p50 → max; 5,000 = timeout)")
    axis.legend(fontsize=8)
    axis.set_title("/healthz p99 under open streams", fontsize=9)


def draw_modes(figure: Any, modes: dict[str, Any]) -> None:
    draw_bars(figure.add_subplot(1, 1, 1), modes_panel(modes), horizontal=True)


def draw_api(figure: Any, api: dict[str, Any]) -> None:
    draw_bars(figure.add_subplot(1, 1, 1), api_panel(api))


def draw_dispatch(figure: Any, dispatch: dict[str, Any]) -> None:
    latency, rate = dispatch_panels(dispatch)
    draw_bars(figure.add_subplot(1, 2, 1), latency)
    draw_bars(figure.add_subplot(1, 2, 2), rate)


def draw_idle(figure: Any, idle: dict[str, Any]) -> None:
    draw_bars(figure.add_subplot(1, 1, 1), idle_panel(idle))


#: (benchmark, figure size in inches, how to draw it), in the order they are drawn.
FIGURES: list[tuple[str, tuple[float, float], Callable[[Any, dict[str, Any]], None]]] = [
    ("health_under_streams", (7, 4), draw_health),
    ("server_modes", (9, 6), draw_modes),
    ("api_under_streams", (7, 3.8), draw_api),
    ("dispatch", (13, 4.5), draw_dispatch),
    ("idle_cpu", (6, 3.5), draw_idle),
]
