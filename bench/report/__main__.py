"""``python -m bench.report``: rewrite docs/benchmarks.md from the stored results only."""

from bench.report.page import write

write()
