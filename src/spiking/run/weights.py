"""Where the weights of plastic projections go while a run goes on: gathered from every rank, appended to ``weights.h5``."""

from __future__ import annotations

import time

import numpy as np

from ..io.weightfile import WEIGHTS_NAME, WeightWriter
from ..model.network import Model
from .parallel import Parallel
from .signals import Signals

__all__ = ["WeightSink"]


class WeightSink:
    """The ``on_weights`` callback of :meth:`~spiking.engines.base.Engine.simulate`.

    Parameters
    ----------
    folder : Path
        The run folder (``weights.h5`` is written on rank 0 only).
    model : Model
        Its plastic projections are recorded.
    parallel : Parallel
    signals : Signals
        A signal is held while a projection's weights are written.

    Attributes
    ----------
    seconds : float
        Time spent gathering and writing, s.
    summary : dict
        ``projection -> {"synapses": n, "snapshots": k}`` (rank 0).
    """

    def __init__(self, folder, model: Model, parallel: Parallel, signals: Signals):
        self.parallel = parallel
        self.signals = signals
        self.seconds = 0.0
        self.summary: dict[str, dict] = {}
        self.writer = None
        if parallel.is_root:
            projections = {p.name: (p.index, p.source, p.target, p.plasticity) for p in model.plastic}
            with signals.deferred():
                self.writer = WeightWriter(folder / WEIGHTS_NAME, projections)

    def __call__(self, t: float, projection: str, sources, targets, weights) -> None:
        t0 = time.perf_counter()
        with self.signals.deferred():
            parts = self.parallel.gather((sources, targets, weights))
            if self.writer is not None:
                src, tgt, w = (np.concatenate([np.asarray(p[i]) for p in parts]) for i in range(3))
                self.writer.append(t, projection, src, tgt, w)
                entry = self.summary.setdefault(projection, {"synapses": int(w.size), "snapshots": 0})
                entry["snapshots"] += 1
        self.seconds += time.perf_counter() - t0

    def close(self, complete: bool) -> None:
        """Close the file (renamed into place, marked complete or not)."""
        if self.writer is not None:
            writer, self.writer = self.writer, None
            writer.close(complete=complete)
