"""How the compiled program's idle OpenMP threads wait for each other.

A simulation step of the compiled program passes through dozens of OpenMP
parallel regions, and at the end of each the threads wait for the slowest.
Threads that spin (busy-wait) pick up the next region at once, but while
another process wants the same cores a spinning thread takes the core from
the thread it waits for; threads that sleep (``OMP_WAIT_POLICY=PASSIVE``)
leave the cores to others, but waking a sleeping thread on an otherwise idle
(virtual) machine can cost far more than the work of a region.
``docs/benchmarks.md`` has both measured on the default model.

So the program spins briefly (libgomp's ``GOMP_SPINCOUNT``) when no other
process is using the cores just before it starts, and sleeps at once when
some are; ``OMP_WAIT_POLICY`` or ``GOMP_SPINCOUNT`` set by the user win.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping

#: Spins before an idle thread sleeps, on a machine with nothing else running.
SPIN_COUNT = "3000"
#: Cores' worth of work by other processes above which the threads sleep at once.
BUSY_CORES = 0.5
#: How long the machine is watched.
WATCH_S = 0.05
_USER_KEYS = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")


def _cpu_jiffies() -> tuple[int, int]:
    """(busy, all) ticks of all CPUs since boot, from ``/proc/stat``."""
    with open("/proc/stat") as fh:
        fields = [int(x) for x in fh.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields) - idle, sum(fields)


def _own_jiffies() -> int:
    """Ticks this process has used (user + system), from ``/proc/self/stat``."""
    with open("/proc/self/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def other_busy_cores(seconds: float = WATCH_S) -> float | None:
    """Cores kept busy by other processes over ``seconds`` (None where ``/proc`` cannot tell)."""
    try:
        busy0, _ = _cpu_jiffies()
        own0 = _own_jiffies()
        time.sleep(seconds)
        busy1, _ = _cpu_jiffies()
        own1 = _own_jiffies()
    except (OSError, ValueError, IndexError):
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    return max(0.0, (busy1 - busy0) - (own1 - own0)) / ticks / seconds


def wait_environment(environ: Mapping[str, str] | None = None, busy: float | None = None) -> dict[str, str]:
    """The environment that sets how the program's threads wait.

    Parameters
    ----------
    environ : mapping, optional
        The user's environment (default ``os.environ``); its ``OMP_WAIT_POLICY``
        and ``GOMP_SPINCOUNT`` are kept as they are.
    busy : float, optional
        Cores busy with other processes (default: watched now, see
        :func:`other_busy_cores`).

    Returns
    -------
    dict
        ``{"GOMP_SPINCOUNT": SPIN_COUNT}`` on an idle machine,
        ``{"OMP_WAIT_POLICY": "PASSIVE"}`` on a busy one or where it cannot be told.
    """
    environ = os.environ if environ is None else environ
    user = {k: environ[k] for k in _USER_KEYS if k in environ}
    if user:
        return user
    if busy is None:
        busy = other_busy_cores()
    if busy is not None and busy < BUSY_CORES:
        return {"GOMP_SPINCOUNT": SPIN_COUNT}
    return {"OMP_WAIT_POLICY": "PASSIVE"}
