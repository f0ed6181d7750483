"""Spike-train statistics of a layer, computed by Elephant: ISI CV, Fano factor, pairwise correlation.

Each function takes plain spike times (numpy arrays in ms, one per neuron)
and hands the statistics themselves to Elephant (``elephant.statistics.isi``,
``cv``, ``fanofactor``; ``elephant.conversion.BinnedSpikeTrain`` and
``elephant.spike_train_correlation.correlation_coefficient``). What is ours
is which neurons, windows and bins they are given:

- **ISI CV**: each neuron's coefficient of variation of its inter-spike
  intervals over the whole run (1 for a Poisson train, 0 for a regular one);
  neurons with at least :data:`MIN_SPIKES` spikes.
- **Fano factor**: variance over mean of a neuron's spike counts in
  consecutive windows of :data:`FANO_WINDOW_MS` inside the epochs of one
  pattern (windows never straddle a pattern change; 1 for Poisson).
- **Pairwise correlation**: Pearson's correlation of two neurons' spike
  counts in :data:`CORRELATION_BIN_MS` bins over one pattern's epochs (laid
  end to end; each epoch's last partial bin dropped), for every pair of a
  sample of neurons that fired under the pattern.

Samples are drawn with a seeded generator, so a run's figures repeat.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

__all__ = [
    "MIN_SPIKES",
    "SAMPLE_NEURONS",
    "CORRELATION_NEURONS",
    "FANO_WINDOW_MS",
    "CORRELATION_BIN_MS",
    "sample_nodes",
    "isi_cv",
    "counting_windows",
    "fano_factors",
    "pattern_bins",
    "pairwise_correlations",
]

#: Fewest spikes of a neuron whose ISI CV and Fano factor are computed (two intervals).
MIN_SPIKES = 3
#: Most neurons per layer whose ISI CV and Fano factor are computed.
SAMPLE_NEURONS = 200
#: Most neurons per layer and pattern whose pairs are correlated (100 neurons: 4,950 pairs).
CORRELATION_NEURONS = 100
#: Counting window of the Fano factor, ms.
FANO_WINDOW_MS = 50.0
#: Bin of the pairwise spike-count correlation, ms.
CORRELATION_BIN_MS = 10.0


def _elephant():
    try:
        import elephant.conversion
        import elephant.spike_train_correlation
        import elephant.statistics
        import neo
        import quantities
    except ImportError as err:  # pragma: no cover - dependencies of the package
        raise ImportError(
            f"the spike statistics need elephant, neo and quantities: pip install elephant ({err})"
        ) from err
    return elephant, neo, quantities


def sample_nodes(counts: np.ndarray, k: int, seed, min_spikes: int = 1) -> np.ndarray:
    """Up to ``k`` nodes drawn without replacement among those with at least ``min_spikes`` spikes.

    Parameters
    ----------
    counts : ndarray of int, shape (n_nodes,)
        Spikes of each node.
    k : int
    seed : int or sequence of int
        Seed of ``numpy.random.default_rng``.
    min_spikes : int

    Returns
    -------
    ndarray of int64, shape (m,), m <= k
        Node indices, sorted.
    """
    eligible = np.flatnonzero(np.asarray(counts) >= min_spikes)
    if eligible.size <= k:
        return eligible.astype(np.int64)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(eligible, size=k, replace=False)).astype(np.int64)


def isi_cv(trains: list[np.ndarray]) -> np.ndarray:
    """Coefficient of variation of each train's inter-spike intervals (``elephant.statistics.isi``, ``cv``).

    The trains go to Elephant at once, as rows of one array padded with NaN
    (``isi`` along the rows, ``cv`` with ``nan_policy="omit"``): one call
    instead of one per neuron.

    Parameters
    ----------
    trains : list of ndarray
        Sorted spike times of each neuron, ms.

    Returns
    -------
    ndarray of float64, shape (len(trains),)
        Standard deviation over mean of the intervals (population standard
        deviation, as ``scipy.stats.variation``); NaN for a train with fewer
        than :data:`MIN_SPIKES` spikes.
    """
    elephant, _, _ = _elephant()
    lengths = np.array([len(t) for t in trains], dtype=np.int64)
    out = np.full(len(trains), np.nan)
    ok = np.flatnonzero(lengths >= MIN_SPIKES)
    if ok.size == 0:
        return out
    padded = np.full((ok.size, int(lengths[ok].max())), np.nan)
    for row, i in enumerate(ok):
        padded[row, : lengths[i]] = trains[i]
    intervals = elephant.statistics.isi(padded, axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy's notes on NaN handling
        out[ok] = elephant.statistics.cv(intervals, axis=1, nan_policy="omit")
    return out


def counting_windows(epochs, window_ms: float = FANO_WINDOW_MS) -> np.ndarray:
    """Consecutive windows of ``window_ms`` inside each epoch, from its start; a last partial window is dropped.

    Parameters
    ----------
    epochs : iterable of (start, stop)
        ms.
    window_ms : float

    Returns
    -------
    ndarray of float64, shape (n_windows, 2)
        ``[start, stop)`` of each window, ms.
    """
    rows = []
    for start, stop in epochs:
        n = math.floor((stop - start) / window_ms + 1e-9)
        a = start + window_ms * np.arange(n)
        rows.append(np.column_stack([a, a + window_ms]))
    return np.concatenate(rows) if rows else np.zeros((0, 2))


def fano_factors(trains: list[np.ndarray], windows: np.ndarray) -> np.ndarray:
    """Fano factor of each train's spike counts in ``windows`` (``elephant.statistics.fanofactor``).

    Parameters
    ----------
    trains : list of ndarray
        Sorted spike times of each neuron, ms.
    windows : ndarray, shape (n_windows, 2)
        ``[start, stop)`` of each counting window, ms, all of the same length
        (:func:`counting_windows`).

    Returns
    -------
    ndarray of float64, shape (len(trains),)
        Variance over mean of the window counts; NaN for a neuron silent in
        every window or with fewer than two windows.
    """
    elephant, _, _ = _elephant()
    out = np.full(len(trains), np.nan)
    if len(windows) < 2:
        return out
    for i, t in enumerate(trains):
        t = np.asarray(t, dtype=float)
        lo = np.searchsorted(t, windows[:, 0], side="left")
        hi = np.searchsorted(t, windows[:, 1], side="left")
        pieces = [t[a:b] for a, b in zip(lo, hi)]
        if any(len(p) for p in pieces):
            out[i] = float(elephant.statistics.fanofactor(pieces))
    return out


def pattern_bins(epochs, bin_ms: float = CORRELATION_BIN_MS) -> tuple[np.ndarray, np.ndarray, float]:
    """How one pattern's epochs are laid end to end in whole bins.

    Returns
    -------
    starts, stops : ndarray, shape (n_epochs,)
        The part of each epoch that is binned, ms (a whole number of bins from its start).
    length : float
        Total binned time, ms (the epochs laid end to end).
    """
    starts, stops = [], []
    for start, stop in epochs:
        n = math.floor((stop - start) / bin_ms + 1e-9)
        if n > 0:
            starts.append(start)
            stops.append(start + n * bin_ms)
    starts, stops = np.array(starts, dtype=float), np.array(stops, dtype=float)
    return starts, stops, float((stops - starts).sum())


def pairwise_correlations(trains: list[np.ndarray], epochs, bin_ms: float = CORRELATION_BIN_MS) -> np.ndarray:
    """Pearson correlation of every pair of trains' spike counts in ``bin_ms`` bins over ``epochs``.

    The epochs (one pattern's) are laid end to end (:func:`pattern_bins`); the
    binning and the correlation matrix are Elephant's
    (``BinnedSpikeTrain``, ``correlation_coefficient``).

    Parameters
    ----------
    trains : list of ndarray
        Sorted spike times of each neuron, ms.
    epochs : iterable of (start, stop)
        ms.
    bin_ms : float

    Returns
    -------
    ndarray of float64, shape (n_pairs,)
        The upper triangle of the correlation matrix, row by row; pairs with a
        neuron silent in every bin are left out.
    """
    elephant, neo, pq = _elephant()
    starts, stops, length = pattern_bins(epochs, bin_ms)
    if len(trains) < 2 or length <= 0:
        return np.zeros(0)
    offsets = np.concatenate([[0.0], np.cumsum(stops - starts)[:-1]]) - starts
    spiketrains = []
    for t in trains:
        t = np.asarray(t, dtype=float)
        k = np.searchsorted(starts, t, side="right") - 1
        inside = (k >= 0) & (t < stops[np.maximum(k, 0)])
        shifted = np.sort(t[inside] + offsets[k[inside]])
        spiketrains.append(neo.SpikeTrain(shifted, units=pq.ms, t_start=0.0 * pq.ms, t_stop=length * pq.ms))
    binned = elephant.conversion.BinnedSpikeTrain(
        spiketrains, bin_size=bin_ms * pq.ms, t_start=0.0 * pq.ms, t_stop=length * pq.ms
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # silent trains: Elephant warns and gives NaN rows, left out below
        matrix = elephant.spike_train_correlation.correlation_coefficient(binned)
    r = matrix[np.triu_indices(len(trains), k=1)]
    return r[np.isfinite(r)]
