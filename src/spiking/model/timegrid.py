"""Model time on a grid of steps: one tolerance for every comparison of times (pure Python).

Times are floats in ms; a run advances in steps of ``run.resolution``. Sums of
steps carry rounding error, so times are compared with the relative tolerance
:data:`EPS`, and "before the end" means more than half a step before it.
"""

from __future__ import annotations

import math

__all__ = ["EPS", "snap", "n_steps", "on_grid", "before", "floor_index", "ceil_index"]

#: Relative tolerance of time comparisons (a fraction of a step or of the time itself).
EPS = 1e-9


def n_steps(t: float, step: float) -> int:
    """The whole number of steps nearest to ``t``."""
    return round(t / step)


def snap(t: float, step: float) -> float:
    """``t`` moved to the nearest multiple of ``step``."""
    return n_steps(t, step) * step


def on_grid(t: float, step: float) -> bool:
    """Whether ``t`` is a positive multiple of ``step`` (within :data:`EPS`)."""
    n = n_steps(t, step)
    return n >= 1 and abs(n * step - t) <= EPS * max(1.0, abs(t))


def before(t: float, stop: float, step: float) -> bool:
    """Whether ``t`` lies more than half a step before ``stop``."""
    return t < stop - step / 2


def floor_index(t: float, width: float) -> int:
    """Index of the bin of ``width`` that holds ``t`` (a time on a bin edge opens the next bin)."""
    return math.floor(t / width + EPS)


def ceil_index(t: float, width: float) -> int:
    """Number of bins of ``width`` needed to cover ``[0, t]``."""
    return math.ceil(t / width - EPS)
