"""What this machine offers a run: usable cores, memory, disk, and this process's memory use."""

from __future__ import annotations

import os
import resource
import shutil
from pathlib import Path

from ..machine import usable_cpus

__all__ = [
    "usable_cpus",
    "resolve_threads",
    "available_memory_bytes",
    "free_disk_bytes",
    "peak_rss_mb",
    "current_rss_mb",
]


def resolve_threads(threads: int) -> int:
    """``0`` means every core this process may use."""
    return threads if threads > 0 else usable_cpus()


def available_memory_bytes() -> float:
    """Memory this process may still use: MemAvailable, capped by a cgroup limit."""
    avail = float("inf")
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024.0
                    break
    except OSError:
        pass
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(path).read_text().strip()
        except OSError:
            continue
        if text.isdigit():
            limit = float(text)
            used = 0.0
            for cur in ("/sys/fs/cgroup/memory.current", "/sys/fs/cgroup/memory/memory.usage_in_bytes"):
                try:
                    used = float(Path(cur).read_text().strip())
                    break
                except (OSError, ValueError):
                    continue
            if limit < 1e18:
                avail = min(avail, limit - used)
    return avail


def free_disk_bytes(path) -> float:
    """Free space on the file system that holds ``path`` (or its nearest existing parent)."""
    p = Path(path).absolute()
    while not p.exists() and p != p.parent:
        p = p.parent
    try:
        return float(shutil.disk_usage(p).free)
    except OSError:
        return float("inf")


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def current_rss_mb() -> float:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:  # pragma: no cover - not Linux
        return float("nan")
