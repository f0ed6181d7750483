"""Pattern selectivity of each neuron before and after learning, and whether it rose (numpy and scipy, no simulator).

A neuron's rate under a pattern is its spike count over the epochs of that
pattern inside a window of model time, divided by their duration. Its
selectivity index is::

    SI = (r_max - r_min) / (r_max + r_min)

over the patterns shown (``|r_A - r_B| / (r_A + r_B)`` for two): 0 when it
fires alike under every pattern, 1 when it fires under one only. "Before" is
the first ``window`` ms of a run, "after" the last ``window`` ms. A neuron
enters the comparison when it fired at least ``min_spikes`` spikes in each
window (an index from a handful of spikes is mostly noise, and biased towards
1). Whether selectivity rose is a paired one-sided Wilcoxon signed-rank test
over those neurons (``after > before``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

__all__ = ["MIN_SPIKES", "Windows", "window_bounds", "pattern_counts", "selectivity_index", "SelectivityChange"]

#: Spikes a neuron needs in each window to enter the comparison.
MIN_SPIKES = 10


@dataclass(frozen=True)
class Windows:
    """The "before" and "after" windows of a run, ms: ``[start, stop)`` each."""

    before: tuple[float, float]
    after: tuple[float, float]


def window_bounds(t_end: float, window: float) -> Windows:
    """The first and last ``window`` ms of a run of ``t_end`` ms."""
    w = min(window, t_end / 2)
    return Windows(before=(0.0, w), after=(t_end - w, t_end))


def pattern_counts(
    blocks: Iterable[tuple[np.ndarray, np.ndarray]],
    n_nodes: int,
    schedule,
    patterns: list[str],
    windows: Windows,
) -> tuple[np.ndarray, np.ndarray]:
    """Spike counts per window, pattern and neuron, and the time each pattern was shown in each window.

    Parameters
    ----------
    blocks : iterable of (node_ids, times)
        A layer's spikes (int64 node indices, ms), in any number of blocks.
    n_nodes : int
    schedule : sequence of ScheduledEpoch
        ``start``, ``stop`` (ms) and ``pattern`` of each epoch.
    patterns : list of str
        The patterns, in the order of the result.
    windows : Windows

    Returns
    -------
    counts : ndarray of int64, shape (2, n_patterns, n_nodes)
        Spikes before (0) and after (1).
    time_ms : ndarray of float64, shape (2, n_patterns)
        ms each pattern was shown in each window.
    """
    index = {p: k for k, p in enumerate(patterns)}
    # the pieces of epochs inside each window: (window, pattern, start, stop)
    pieces = []
    for w, (a, b) in enumerate((windows.before, windows.after)):
        for e in schedule:
            lo, hi = max(a, e.start), min(b, e.stop)
            if hi > lo and e.pattern in index:
                pieces.append((w, index[e.pattern], lo, hi))
    counts = np.zeros((2, len(patterns), n_nodes), dtype=np.int64)
    time_ms = np.zeros((2, len(patterns)))
    for w, k, lo, hi in pieces:
        time_ms[w, k] += hi - lo
    starts = np.array([p[2] for p in pieces])
    order = np.argsort(starts)
    starts = starts[order]
    stops = np.array([p[3] for p in pieces])[order]
    slot = np.array([p[0] * len(patterns) + p[1] for p in pieces], dtype=np.int64)[order]
    flat = counts.reshape(2 * len(patterns), n_nodes)
    for ids, times in blocks:
        if not len(starts) or not len(times):
            continue
        # spikes are stamped at the end of their step: (start, stop] belongs to an epoch
        j = np.searchsorted(starts, times, side="left") - 1
        ok = (j >= 0) & (times <= stops[np.clip(j, 0, None)])
        np.add.at(flat, (slot[j[ok]], ids[ok]), 1)
    return counts, time_ms


def selectivity_index(rates: np.ndarray) -> np.ndarray:
    """``(r_max - r_min) / (r_max + r_min)`` over patterns (axis 0); NaN for a neuron silent under all.

    Parameters
    ----------
    rates : ndarray, shape (n_patterns, n_nodes)
        Hz.

    Returns
    -------
    ndarray of float64, shape (n_nodes,)
    """
    hi, lo = rates.max(axis=0), rates.min(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(hi + lo > 0, (hi - lo) / (hi + lo), np.nan)


@dataclass(frozen=True)
class SelectivityChange:
    """Selectivity before and after learning in one layer, and the test that it rose.

    Attributes
    ----------
    before, after : ndarray of float64, shape (n_nodes,)
        Each neuron's index in each window (NaN for a silent one).
    rates_before, rates_after : ndarray, shape (n_patterns, n_nodes)
        Hz.
    included : ndarray of bool, shape (n_nodes,)
        Neurons with at least ``min_spikes`` in each window: the ones compared.
    mean_before, mean_after : float
        Mean index of the included neurons.
    statistic, p_value : float
        Wilcoxon signed-rank statistic and one-sided p-value (after > before); NaN with fewer than 2 neurons.
    """

    before: np.ndarray
    after: np.ndarray
    rates_before: np.ndarray
    rates_after: np.ndarray
    included: np.ndarray
    mean_before: float
    mean_after: float
    statistic: float
    p_value: float

    @property
    def n(self) -> int:
        return int(self.included.sum())

    @property
    def ratio(self) -> float:
        """``mean_after / mean_before``."""
        return self.mean_after / self.mean_before if self.mean_before > 0 else float("nan")

    @classmethod
    def from_counts(cls, counts: np.ndarray, time_ms: np.ndarray, min_spikes: int = MIN_SPIKES) -> SelectivityChange:
        """From :func:`pattern_counts`'s result."""
        from scipy.stats import wilcoxon

        with np.errstate(invalid="ignore", divide="ignore"):
            rates = counts / (time_ms[:, :, None] / 1000.0)
        rates = np.nan_to_num(rates)
        before, after = selectivity_index(rates[0]), selectivity_index(rates[1])
        included = (counts[0].sum(axis=0) >= min_spikes) & (counts[1].sum(axis=0) >= min_spikes)
        included &= np.all(time_ms > 0)
        b, a = before[included], after[included]
        stat, p = float("nan"), float("nan")
        if included.sum() >= 2 and np.any(a != b):
            res = wilcoxon(a, b, alternative="greater")
            stat, p = float(res.statistic), float(res.pvalue)
        return cls(
            before=before,
            after=after,
            rates_before=rates[0],
            rates_after=rates[1],
            included=included,
            mean_before=float(b.mean()) if b.size else float("nan"),
            mean_after=float(a.mean()) if a.size else float("nan"),
            statistic=stat,
            p_value=p,
        )
