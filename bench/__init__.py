"""Benchmarks that measure keel against the servers and job systems a team would pick.

Run with ``python -m bench [--smoke] [--only NAME]`` (or ``make bench``). Every load
targets 127.0.0.1 only, every loop is bounded in count and time, and every process the
harness starts is ended by its own PID. docs/benchmarks.md is written from the results.
"""
