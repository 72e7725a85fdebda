"""``python -m bench [--smoke] [--only NAME]``: run the benchmarks, then write the report."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import resource
import subprocess
import sys
import time
import traceback
from typing import Any

from bench import wrk
from bench.environment import postgres_available, sqlite_database
from bench.harness import BENCHMARKS, Run
from bench.processes import BIN, RESULTS


def raise_open_files_limit() -> int:
    """Let this process and its children hold a thousand streams (soft = hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def machine() -> dict[str, Any]:
    model = "unknown"
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break

    def version(*command: str) -> str:
        result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=30)
        # wrk prints its version with its usage and exits 1; take the first line either way.
        lines = (result.stdout or result.stderr).strip().splitlines()
        return lines[0] if lines else "?"

    import django
    import gunicorn

    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": model,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "gunicorn": gunicorn.__version__,
        "granian": version(str(BIN / "granian"), "--version"),
        "wrk": version("wrk", "--version") if wrk.available() else "not installed",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="smallest sizes (CI, < 2 min)")
    parser.add_argument("--only", action="append", choices=BENCHMARKS, help="run just this one")
    parser.add_argument(
        "--no-report", action="store_true", help="do not rewrite docs/benchmarks.md"
    )
    arguments = parser.parse_args(argv)

    started = time.monotonic()
    open_files = raise_open_files_limit()
    if not wrk.available():
        print(
            "wrk is not installed: `apt-get install wrk` (Debian/Ubuntu) or `brew install wrk`.",
            file=sys.stderr,
        )
        return 2
    RESULTS.mkdir(parents=True, exist_ok=True)
    run = Run(
        smoke=arguments.smoke,
        sqlite=sqlite_database("web"),
        postgres=postgres_available(),
    )
    meta = {
        "smoke": run.smoke,
        # Other work on the machine moves every figure: say how busy it was.
        "load_average_start": [round(value, 1) for value in os.getloadavg()],
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "open_files_limit": open_files,
        "postgres": run.postgres,
        "machine": machine(),
        "command": "python -m bench"
        + (" --smoke" if run.smoke else "")
        + "".join(f" --only {name}" for name in arguments.only or []),
    }
    failed = []
    for name in arguments.only or BENCHMARKS:
        print(f"== {name}", flush=True)
        module = importlib.import_module(f"bench.{name}")
        try:
            module.run(run)
        except Exception:
            traceback.print_exc()
            failed.append(name)
    meta["duration_s"] = round(time.monotonic() - started, 1)
    meta["load_average_end"] = [round(value, 1) for value in os.getloadavg()]
    meta["failed"] = failed
    (RESULTS / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(json.dumps({"benchmark": "all", **meta}, separators=(",", ":")), flush=True)
    if not arguments.no_report and not run.smoke:
        from bench.report.page import write

        write()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
