"""Each benchmark's section lists its rows; a benchmark not run has no section."""

from bench.report.sections import sections
from tests.bench.report.results import run_results


def test_report_lists_keel_rows_in_dispatch_and_stream_sections():
    markdown = "\n".join(sections(run_results()))
    assert "| keel | postgresql | 8.0 | 16.0 | 250 | 150.0 |" in markdown
    assert "| keel, 2 processes | postgresql | 8.0 | 16.0 | 700 | 150.0 |" in markdown
    assert "| keel.tasks | postgresql | 9.0 | 18.0 | 240 | 150.0 |" in markdown
    assert "| postgresql | 40.0 | 60.0 | 12.0 | 250.0 |" in markdown
    assert "| keel | sqlite | 1 | 0.120 | 0.40 |" in markdown


def test_only_the_benchmarks_present_have_a_section():
    titles = [line for line in sections(run_results()) if line.startswith("## ")]
    assert titles == [
        "## 3. Agent-run dispatch",
        "## 4. Idle worker CPU",
        "## 5. Stream latency and first token",
    ]
    assert sections({}) == []
