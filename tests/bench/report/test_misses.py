"""A missed target is explained under the targets table; a met one is not."""

from bench.report.misses import misses
from bench.report.run_targets import targets
from tests.bench.report.results import run_results


def test_missed_run_targets_are_explained_under_the_table_and_met_ones_are_not():
    explained = misses(targets(run_results(keel_task_rate=72.0)))
    assert "### Why throughput is not met" in explained
    assert "### Why dispatch is not met" not in explained
