"""How many CPUs this process may really use (containers included)."""

from __future__ import annotations

import math
import os
from pathlib import Path

from keel.ecs import task_cpu_limit


def cgroup_cpu_limit(root: Path = Path("/sys/fs/cgroup")) -> float | None:
    """Return the cgroup CPU quota in CPUs (v2 ``cpu.max`` or v1 CFS), or None if unlimited."""
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]
        if quota != "max":
            return int(quota) / int(period)
        return None
    except (OSError, ValueError):
        pass
    try:
        quota_v1 = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period_v1 = int((root / "cpu" / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return quota_v1 / period_v1 if quota_v1 > 0 and period_v1 > 0 else None


def available_cpus() -> float:
    """Return the smallest of: ECS task CPU limit, cgroup quota and the CPU affinity mask.

    ``os.cpu_count()`` reports the host's CPUs, which in a container on a large host
    means far more workers than the task may run, each competing for the same quota.
    """
    limits = [float(len(os.sched_getaffinity(0)))]
    for limit in (task_cpu_limit(), cgroup_cpu_limit()):
        if limit:
            limits.append(limit)
    return min(limits)


def default_worker_count() -> int:
    """One web worker per CPU available to the task, at least one."""
    return max(1, math.ceil(available_cpus()))
