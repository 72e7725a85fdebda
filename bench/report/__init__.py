"""docs/benchmarks.md and its plots, written from bench/results/*.json.

``page`` assembles the document; ``targets`` and ``run_targets`` judge the design's
targets, ``misses`` explains the ones missed, ``sections`` describes each benchmark and
its rows, ``plots`` draws the figures and ``cells`` formats what goes in a table.
"""
