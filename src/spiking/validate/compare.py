"""Do two sets of runs agree? Spike for spike where nothing is left to chance; else per-layer mean rates over
seeds, synapse counts, connection distances (pure numpy/scipy).

Spike for spike: two runs of one layer agree when every neuron fires at the
very same steps in both (:func:`compare_spikes`); otherwise the fraction of
coincident spikes (same neuron, same step) and the first difference (its time
and neuron) say how far apart they are.

The rule for rates: the means over seeds of the two sides agree when their
difference is within 10% of the larger mean or within 3 standard errors of
the difference, whichever is larger. The standard error of the difference is
``sqrt(s_a^2 / n_a + s_b^2 / n_b)`` with the sample standard deviations over
seeds. Three standard errors keep a false alarm below 0.3% per layer for
normal means; the 10% floor keeps a real but irrelevant difference from
failing when the spread over seeds is tiny.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = [
    "SpikeComparison",
    "compare_spikes",
    "RELATIVE_TOLERANCE",
    "STANDARD_ERRORS",
    "RateComparison",
    "compare_rates",
    "CountComparison",
    "compare_counts",
    "DistanceComparison",
    "compare_distances",
]


@dataclass(frozen=True)
class SpikeComparison:
    """One layer's spikes on two sides, for one seed, spike by spike.

    Attributes
    ----------
    layer : str
    seed : int
    spikes_a, spikes_b : int
    coincident : int
        Spikes of the same neuron in the same time step on both sides (with multiplicity).
    first_time : float or None
        ms: the earliest spike that one side has and the other has not (None when identical).
    first_neuron : int or None
        Its neuron (node index in the layer).
    """

    layer: str
    seed: int
    spikes_a: int
    spikes_b: int
    coincident: int
    first_time: float | None = None
    first_neuron: int | None = None

    @property
    def identical(self) -> bool:
        return self.spikes_a == self.spikes_b == self.coincident

    @property
    def coincident_fraction(self) -> float:
        """Coincident spikes over the larger count (1 when both are empty)."""
        return self.coincident / max(self.spikes_a, self.spikes_b) if max(self.spikes_a, self.spikes_b) else 1.0


def compare_spikes(
    layer: str, seed: int, a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray], resolution: float
) -> SpikeComparison:
    """Compare the spikes ``(node ids, times in ms)`` of one layer on two sides, on the time grid of ``resolution``."""

    def keys(ids, times):
        ids = np.asarray(ids, dtype=np.int64)
        steps = np.rint(np.asarray(times, dtype=float) / resolution).astype(np.int64)
        return np.unique((steps << 32) + ids, return_counts=True)  # by step, then neuron

    ka, ca = keys(*a)
    kb, cb = keys(*b)
    common, ia, ib = np.intersect1d(ka, kb, assume_unique=True, return_indices=True)
    coincident = int(np.minimum(ca[ia], cb[ib]).sum())
    first_time = first_neuron = None
    if not (ca.sum() == cb.sum() == coincident):
        differ = np.concatenate([np.setdiff1d(ka, kb), np.setdiff1d(kb, ka), common[ca[ia] != cb[ib]]])
        k = int(differ.min())
        first_time, first_neuron = round((k >> 32) * resolution, 9), int(k & 0xFFFFFFFF)
    return SpikeComparison(layer, seed, int(ca.sum()), int(cb.sum()), coincident, first_time, first_neuron)


#: Relative tolerance of mean rates (of the larger mean).
RELATIVE_TOLERANCE = 0.10
#: Standard errors of the difference allowed.
STANDARD_ERRORS = 3.0


@dataclass(frozen=True)
class RateComparison:
    """One layer's mean rate on two sides, over seeds.

    Attributes
    ----------
    layer : str
    mean_a, mean_b : float
        Mean over seeds of the layer's mean rate, Hz.
    sd_a, sd_b : float
        Standard deviation over seeds, Hz.
    n_a, n_b : int
        Seeds.
    difference : float
        ``mean_b - mean_a``, Hz.
    tolerance : float
        ``max(10% of the larger mean, 3 standard errors of the difference)``, Hz.
    """

    layer: str
    mean_a: float
    mean_b: float
    sd_a: float
    sd_b: float
    n_a: int
    n_b: int
    difference: float
    tolerance: float

    @property
    def agree(self) -> bool:
        return abs(self.difference) <= self.tolerance


def compare_rates(a: dict[str, list[float]], b: dict[str, list[float]]) -> list[RateComparison]:
    """Compare per-layer mean rates (Hz, one value per seed) of two sides, layer by layer (layers of ``a``)."""
    out = []
    for layer, ra in a.items():
        ra, rb = np.asarray(ra, float), np.asarray(b[layer], float)
        sd_a = float(ra.std(ddof=1)) if ra.size > 1 else 0.0
        sd_b = float(rb.std(ddof=1)) if rb.size > 1 else 0.0
        se = math.sqrt(sd_a**2 / ra.size + sd_b**2 / rb.size)
        ma, mb = float(ra.mean()), float(rb.mean())
        tol = max(RELATIVE_TOLERANCE * max(abs(ma), abs(mb)), STANDARD_ERRORS * se)
        out.append(RateComparison(layer, ma, mb, sd_a, sd_b, ra.size, rb.size, mb - ma, tol))
    return out


@dataclass(frozen=True)
class CountComparison:
    """Realised synapses of one projection on two sides (summed over seeds).

    They agree when they differ by at most ``tolerance`` (1%) of the first, or
    by 3 standard deviations of the difference of two independent sums of
    Bernoulli trials (at most ``sqrt(count_a + count_b)``), whichever is
    larger: the 1% rule decides for big projections, chance for small ones.
    """

    projection: str
    count_a: int
    count_b: int
    tolerance: float = 0.01

    @property
    def relative_difference(self) -> float:
        return (self.count_b - self.count_a) / max(1, self.count_a)

    @property
    def allowed(self) -> float:
        """Largest difference that still agrees, synapses."""
        return max(self.tolerance * self.count_a, STANDARD_ERRORS * math.sqrt(self.count_a + self.count_b))

    @property
    def agree(self) -> bool:
        return abs(self.count_b - self.count_a) <= self.allowed


def compare_counts(a: dict[str, int], b: dict[str, int], tolerance: float = 0.01) -> list[CountComparison]:
    """Compare synapse counts per projection (1%, or chance for small counts)."""
    return [CountComparison(name, int(a[name]), int(b.get(name, 0)), tolerance) for name in a]


@dataclass(frozen=True)
class DistanceComparison:
    """The distances of realised connections of one projection on two sides: a two-sample KS test.

    ``agree`` when the p-value is above ``alpha`` (0.001: with 18 projections
    a false alarm somewhere has probability below 2%).
    """

    projection: str
    n_a: int
    n_b: int
    statistic: float
    pvalue: float
    alpha: float = 0.001

    @property
    def agree(self) -> bool:
        return self.pvalue > self.alpha


def compare_distances(projection: str, da: np.ndarray, db: np.ndarray, alpha: float = 0.001) -> DistanceComparison:
    """Two-sample Kolmogorov-Smirnov test of connection distances (model units)."""
    if len(da) == 0 or len(db) == 0:
        same = len(da) == len(db)
        return DistanceComparison(projection, len(da), len(db), 0.0 if same else 1.0, 1.0 if same else 0.0, alpha)
    res = stats.ks_2samp(da, db)
    return DistanceComparison(projection, len(da), len(db), float(res.statistic), float(res.pvalue), alpha)
