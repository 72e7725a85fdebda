"""``python -m bench.lambda_timeout``: what keel's handler timeout costs, and how fast it stops.

Not part of ``make bench``: the numbers behind the choice in keel.lambdas.invocation
(docs/lambdas.md, "Timeouts"). A handler runs on a thread of its own and, at its timeout,
gets ``HandlerTimedOut`` raised inside it. Measured here, in one process:

- the cost of an invocation: a direct call, keel's thread, and the alternative of a
  process per invocation (fork, and spawn as a process pool's cold start would);
- how long after the timeout a handler really stops: in Python code, in a loop of short
  sleeps, and blocked in one long C call (``time.sleep(3)``).
"""

from __future__ import annotations

import multiprocessing
import statistics
import time
from typing import Any

import django
from django.conf import settings

settings.configure(INSTALLED_APPS=[], DATABASES={}, USE_TZ=True)
django.setup()

from keel.lambdas.invocation import invoke  # noqa: E402
from keel.lambdas.registry import Function  # noqa: E402

ENDED: dict[str, float] = {}


def noop(event: Any, context: Any) -> int:
    return 1


def busy(event: Any, context: Any) -> None:
    try:
        while True:
            sum(range(100))
    finally:
        ENDED["busy"] = time.monotonic()


def short_sleeps(event: Any, context: Any) -> None:
    try:
        while True:
            time.sleep(0.05)
    finally:
        ENDED["short_sleeps"] = time.monotonic()


def swallowing(event: Any, context: Any) -> None:
    try:
        while True:
            try:
                time.sleep(0.01)
            except Exception:  # noqa: S112  (what careless handlers do)
                continue
    finally:
        ENDED["swallowing"] = time.monotonic()


def one_long_sleep(event: Any, context: Any) -> None:
    try:
        time.sleep(3)
    finally:
        ENDED["one_long_sleep"] = time.monotonic()


def function(handler: Any, timeout: float = 3.0) -> Function:
    return Function(
        name=handler.__name__,
        handler_path=f"bench.lambda_timeout.{handler.__name__}",
        handler=handler,
        timeout=timeout,
        memory=128,
        retries=0,
        maximum_event_age=60,
        triggers=(),
    )


def per_call(label: str, call: Any, count: int) -> str:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1e6)
    return f"| {label} | {count} | {statistics.median(samples):,.0f} | {sorted(samples)[int(count * 0.99) - 1]:,.0f} |"


def in_process(context: Any) -> None:
    process = context.Process(target=noop, args=({}, None))
    process.start()
    process.join()


def main() -> None:
    quick = function(noop)
    print("| invocation of a no-op handler | n | median µs | p99 µs |")
    print("| --- | --- | --- | --- |")
    print(per_call("direct call", lambda: noop({}, None), 2000))
    print(per_call("keel: a thread per invocation", lambda: invoke(quick, {}), 2000))
    fork = multiprocessing.get_context("fork")
    print(per_call("a forked process per invocation", lambda: in_process(fork), 200))
    spawn = multiprocessing.get_context("spawn")
    print(per_call("a spawned process per invocation", lambda: in_process(spawn), 10))
    print()
    print("| handler past a 0.5 s timeout | answered after (s) | stopped after the timeout (s) |")
    print("| --- | --- | --- |")
    for handler in (busy, short_sleeps, swallowing, one_long_sleep):
        started = time.monotonic()
        outcome = invoke(function(handler, timeout=0.5), {})
        answered = time.monotonic() - started
        deadline = time.monotonic() + 10
        while handler.__name__ not in ENDED and time.monotonic() < deadline:
            time.sleep(0.001)
        stopped = ENDED.get(handler.__name__)
        late = f"{stopped - started - 0.5:.3f}" if stopped else "still running after 10 s"
        assert outcome.timed_out
        print(f"| {handler.__name__} | {answered:.3f} | {late} |")


if __name__ == "__main__":
    main()
