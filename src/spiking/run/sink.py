"""Where the spikes of a run go, chunk after chunk: gathered from every rank, written to ``spikes.h5``.

Spikes of train layers (the relay when ``retina.source = "trains"``) are not
recorded by the engine: they are the pre-drawn trains themselves, written for
the same window as the engine's spikes.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from ..io.spikefile import SpikeWriter
from ..model.network import Model
from .manifest import Manifest
from .parallel import Parallel
from .signals import Signals

__all__ = ["SpikeSink", "gather_spikes"]


def gather_spikes(parallel: Parallel, local: dict) -> dict | None:
    """Every rank's spikes merged on rank 0 (None on the other ranks)."""
    parts = parallel.gather(local)
    if parts is None:
        return None
    if len(parts) == 1:
        return parts[0]
    return {
        name: (np.concatenate([p[name][0] for p in parts]), np.concatenate([p[name][1] for p in parts]))
        for name in parts[0]
    }


class SpikeSink:
    """The ``on_chunk`` callback of :meth:`~spiking.engines.base.Engine.simulate`.

    Parameters
    ----------
    folder : Path
        The run folder (``spikes.h5`` is written on rank 0 only).
    model : Model
    parallel : Parallel
    manifest : Manifest
        Its ``t_reached_ms`` follows the spikes written.
    signals : Signals
        A signal is held while a chunk is written.
    progress : bool
        A progress bar over model time on stderr (rank 0).
    """

    def __init__(self, folder, model: Model, parallel: Parallel, manifest: Manifest, signals: Signals, progress: bool):
        self.model = model
        self.parallel = parallel
        self.manifest = manifest
        self.signals = signals
        self.trains = model.trains() if set(model.recorded) & set(model.train_layers) else None
        self.counts = {name: 0 for name in model.recorded}
        self.t = 0.0
        self.seconds = 0.0
        self.writer = None
        self.bar = None
        if parallel.is_root:
            layers = {name: (model.layers[name].side, model.layers[name].extent) for name in model.recorded}
            with signals.deferred():
                self.writer = SpikeWriter(folder / "spikes.h5", layers)
            if progress:
                from tqdm import tqdm

                self.bar = tqdm(
                    total=model.simulation_time,
                    unit="ms",
                    desc="simulate",
                    file=sys.stderr,
                    bar_format="{desc} {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} ms [{elapsed}<{remaining}]",
                )

    def __call__(self, t: float, local: dict) -> None:
        t0 = time.perf_counter()
        with self.signals.deferred():
            spikes = gather_spikes(self.parallel, local)
            if self.writer is not None:
                if self.trains is not None:
                    for layer in set(self.model.recorded) & set(self.model.train_layers):
                        spikes[layer] = self.trains.window(layer, self.t, t)
                self.writer.append(spikes, t)
                for name, (ids, _) in spikes.items():
                    self.counts[name] += len(ids)
            self.manifest.t_reached_ms = t
        if self.bar is not None:
            self.bar.n = max(self.bar.n, t)  # an engine may have moved the bar while it ran
            self.bar.refresh()
        self.t = t
        self.seconds += time.perf_counter() - t0

    def close(self, complete: bool) -> None:
        """Close the progress bar and the file (renamed into place, marked complete or not)."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        if self.writer is not None:
            writer, self.writer = self.writer, None
            writer.close(complete=complete)
