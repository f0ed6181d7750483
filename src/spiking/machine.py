"""Facts of the machine every stage may ask for, without importing any stage (pure Python)."""

from __future__ import annotations

import os

__all__ = ["usable_cpus", "release_free_memory"]


def usable_cpus() -> int:
    """Cores this process may run on (its CPU affinity where the system tells it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def release_free_memory() -> None:
    """Hand the heap memory this process has freed back to the system (glibc keeps it otherwise; elsewhere a no-op)."""
    import ctypes
    import ctypes.util

    try:
        ctypes.CDLL(ctypes.util.find_library("c")).malloc_trim(0)
    except (OSError, AttributeError, TypeError):
        pass
