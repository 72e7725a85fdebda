"""What each figure draws: keel highlighted, targets as lines, spreads from the repeats."""

from bench.report.plots import api_panel, dispatch_panels, idle_panel, modes_panel, plot, spread
from tests.bench.report.results import run_results, web_results


def test_dispatch_draws_latency_and_throughput_with_keel_highlighted_and_targets():
    latency, rate = dispatch_panels(run_results()["dispatch"])
    assert [bar.keel for bar in latency.bars] == [False, False, *[True] * 6]
    keel_pg = latency.bars[4]
    assert keel_pg.label == "keel\npostgresql"
    assert keel_pg.spread == (8.0, 16.0)  # p50 to p95
    assert ("target postgresql", 10.0) in latency.targets
    assert ("target sqlite", 50.0) in latency.targets
    assert rate.bars[5].label == "keel, 2 processes\npostgresql"
    # keel's durable Django tasks are a keel row too.
    assert rate.bars[7].label == "keel.tasks\npostgresql"
    # Celery's figure and twice raw DBOS's are the lines keel's bar must reach.
    assert rate.targets == [("Celery", 600.0), ("2x raw DBOS", 460.0)]


def test_idle_plot_has_the_one_percent_line():
    panel = idle_panel(run_results()["idle_cpu"])
    assert panel.targets == [("target", 1.0)]
    assert [bar.keel for bar in panel.bars] == [True, True, False]


def test_api_and_modes_show_the_spread_of_repeats_and_their_anchor_lines():
    results = web_results()
    api = api_panel(results["api_under_streams"])
    assert api.targets == [("gthread, no streams", 1000.0)]
    assert [bar.keel for bar in api.bars] == [True, True, False]
    modes = modes_panel(results["server_modes"])
    assert modes.bars[0].spread == (1150.0, 1250.0)
    assert modes.targets == [("granian-wsgi /api/ping/", 1100.0)]
    assert spread([5.0]) is None


def test_every_figure_is_drawn(tmp_path):
    results = {**web_results(), **run_results()}
    drawn = plot(results, tmp_path)
    assert set(drawn) >= {
        "dispatch.png",
        "idle_cpu.png",
        "server_modes.png",
        "api_under_streams.png",
    }
    assert all((tmp_path / name).stat().st_size > 1000 for name in drawn)
