"""The statistics of each recorded layer of a run: which neurons are sampled, and their ISI CV, Fano factor and correlations.

:func:`plan_layer` picks the neurons from spike counts alone (so a renderer
can read just their spikes from a file of any size); :func:`layer_statistics`
computes the statistics with :mod:`spiking.analysis.spiketrains` (Elephant);
:func:`run_statistics` does both for a run opened with :func:`spiking.open_run`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..model.timegrid import EPS
from .spiketrains import (
    CORRELATION_NEURONS,
    MIN_SPIKES,
    SAMPLE_NEURONS,
    counting_windows,
    fano_factors,
    isi_cv,
    pairwise_correlations,
    sample_nodes,
)

__all__ = [
    "LayerPlan",
    "LayerStatistics",
    "plan_layer",
    "layer_statistics",
    "run_statistics",
    "pattern_epochs",
    "epoch_pattern_index",
]


def epoch_pattern_index(times: np.ndarray, starts: np.ndarray, t_end: float) -> np.ndarray:
    """Index of the epoch each spike time falls in (``[start, next start)``), -1 before the first.

    A spike exactly at ``t_end`` belongs to the epoch that ends there, not to one starting there.
    """
    e = np.searchsorted(starts, times, side="right") - 1
    at_end = (e >= 1) & (starts[np.maximum(e, 0)] >= t_end - 1e-9 * max(1.0, abs(t_end)))
    e[at_end] -= 1
    return e


@dataclass(frozen=True)
class LayerPlan:
    """Which neurons of a layer the statistics use.

    Attributes
    ----------
    layer : str
    n_nodes : int
    eligible : int
        Neurons with at least :data:`~spiking.analysis.spiketrains.MIN_SPIKES` spikes.
    sample : ndarray of int64
        Those whose ISI CV and Fano factor are computed (at most ``SAMPLE_NEURONS``).
    correlated : dict
        ``pattern -> node indices`` whose pairs are correlated (at most
        ``CORRELATION_NEURONS`` of those that fired under the pattern).
    """

    layer: str
    n_nodes: int
    eligible: int
    sample: np.ndarray
    correlated: dict

    def nodes(self) -> np.ndarray:
        """Every node whose spikes are needed, sorted."""
        parts = [self.sample, *self.correlated.values()]
        return np.unique(np.concatenate(parts)) if parts else np.zeros(0, np.int64)


@dataclass
class LayerStatistics:
    """What :func:`layer_statistics` found for one layer.

    Attributes
    ----------
    plan : LayerPlan
    cv : ndarray, shape (len(plan.sample),)
        ISI CV of each sampled neuron.
    fano : dict
        ``pattern -> ndarray`` of the sampled neurons' Fano factors under the
        pattern (NaN where a neuron was silent in every window).
    correlations : dict
        ``pattern -> ndarray`` of pairwise correlations.
    """

    plan: LayerPlan
    cv: np.ndarray
    fano: dict = field(default_factory=dict)
    correlations: dict = field(default_factory=dict)

    @property
    def layer(self) -> str:
        return self.plan.layer


def pattern_epochs(schedule, t_end: float) -> dict[str, list[tuple[float, float]]]:
    """``pattern -> [(start, stop), ...]`` of its epochs within ``[0, t_end]``, ms."""
    out: dict[str, list[tuple[float, float]]] = {}
    for e in schedule:
        stop = min(e.stop, t_end)
        if stop > e.start:
            out.setdefault(e.pattern, []).append((float(e.start), float(stop)))
    return out


def plan_layer(layer: str, counts: np.ndarray, patterns: list[str], seed: int, index: int = 0) -> LayerPlan:
    """Pick the neurons of a layer for the statistics, from its spike counts.

    Parameters
    ----------
    layer : str
    counts : ndarray of int, shape (len(patterns), n_nodes)
        Spikes of each node under each pattern.
    patterns : list of str
    seed : int
        The run's seed; each layer and pattern draws from its own stream.
    index : int
        The layer's place among the recorded layers (part of the stream's seed).
    """
    counts = np.asarray(counts)
    total = counts.sum(axis=0)
    return LayerPlan(
        layer=layer,
        n_nodes=int(counts.shape[1]),
        eligible=int(np.count_nonzero(total >= MIN_SPIKES)),
        sample=sample_nodes(total, SAMPLE_NEURONS, (seed, index, 0), MIN_SPIKES),
        correlated={
            p: sample_nodes(counts[i], CORRELATION_NEURONS, (seed, index, 1 + i), 1) for i, p in enumerate(patterns)
        },
    )


def layer_statistics(
    plan: LayerPlan, trains_of: Callable[[np.ndarray], list[np.ndarray]], epochs: dict[str, list]
) -> LayerStatistics:
    """ISI CV, Fano factor per pattern and pairwise correlations per pattern of a layer's sampled neurons.

    Parameters
    ----------
    plan : LayerPlan
    trains_of : callable
        ``nodes -> list of sorted spike-time arrays (ms)``, one per node.
    epochs : dict
        ``pattern -> [(start, stop), ...]`` (:func:`pattern_epochs`).
    """
    sample = trains_of(plan.sample)
    stats = LayerStatistics(plan=plan, cv=isi_cv(sample))
    for p, eps in epochs.items():
        stats.fano[p] = fano_factors(sample, counting_windows(eps))
        nodes = plan.correlated.get(p, np.zeros(0, np.int64))
        stats.correlations[p] = pairwise_correlations(trains_of(nodes), eps)
    return stats


def run_statistics(run, layers: list[str] | None = None) -> dict[str, LayerStatistics]:
    """The statistics of each recorded layer of a :class:`~spiking.api.Run` (all spikes in memory).

    Returns
    -------
    dict
        ``layer -> LayerStatistics``, the same numbers the report shows.
    """
    patterns = run.patterns
    epochs = pattern_epochs(run.schedule, run.t_stop)
    starts = np.array([e.start for e in run.schedule], dtype=float)
    pattern_of = np.array([patterns.index(e.pattern) for e in run.schedule], dtype=np.int64)
    seed = int(run.manifest.get("seed", run.config.run.seed))
    out = {}
    t_max = run.t_stop + EPS * max(1.0, run.t_stop)  # as the renderer reads spikes.h5
    for index, name in enumerate(run.spikes):
        if layers is not None and name not in layers:
            continue
        s = run.spikes[name]
        keep = (s.times >= 0) & (s.times <= t_max) & (s.node_ids >= 0) & (s.node_ids < s.n_nodes)
        s = dataclasses.replace(s, node_ids=s.node_ids[keep], times=s.times[keep])
        e = epoch_pattern_index(s.times, starts, run.t_stop)
        ok = e >= 0
        counts = np.zeros((len(patterns), s.n_nodes), dtype=np.int64)
        np.add.at(counts, (pattern_of[e[ok]], s.node_ids[ok]), 1)
        by_node = s.by_node()
        plan = plan_layer(name, counts, patterns, seed, index)
        out[name] = layer_statistics(plan, lambda nodes, b=by_node: [b[int(k)] for k in nodes], epochs)
    return out
