"""docs/benchmarks.md is rendered from results: machine, commands, targets, sections, plots."""

from bench.report.page import render
from tests.bench.report.results import web_results


def test_report_has_machine_commands_sections_and_plots():
    markdown = render(web_results(), ["health_under_streams.png"])
    assert "| CPU model | Test CPU |" in markdown
    assert "make bench" in markdown
    assert "## 1. /healthz under open SSE streams" in markdown
    assert "| keel | postgresql | pending |" in markdown
    assert "(benchmarks/health_under_streams.png)" in markdown


def test_failed_benchmarks_are_listed_and_plots_without_a_section_still_shown():
    results = web_results()
    results["meta"]["failed"] = ["dispatch", "cold_start"]
    markdown = render(results, ["health_under_streams.png", "idle_cpu.png"])
    assert "## Failed in this run\n\ndispatch, cold_start\n" in markdown
    assert markdown.count("(benchmarks/health_under_streams.png)") == 1
    assert "![idle_cpu.png](benchmarks/idle_cpu.png)" in markdown
