"""Where the spikes of a run go, chunk after chunk: gathered from every rank, written to ``spikes.h5``.

Spikes of train layers (the relay when ``retina.source = "trains"``) are not
recorded by the engine: they are the pre-drawn trains themselves, written for
the same window as the engine's spikes.

Only rank 0 writes; under MPI it tells the other ranks after each write
whether it worked (:meth:`SpikeSink.agree`), so a full disk on rank 0 stops
every rank at the same chunk instead of leaving them waiting in the next
collective.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from ..errors import DiskFullError, RunFolderError
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
        failure = None
        if parallel.is_root:
            layers = {name: (model.layers[name].side, model.layers[name].extent) for name in model.recorded}
            try:
                with signals.deferred():
                    self.writer = SpikeWriter(folder / "spikes.h5", layers)
            except RunFolderError as err:
                failure = err
        self.agree(failure)
        if parallel.is_root:
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
            failure = None
            if self.writer is not None:
                if self.trains is not None:
                    for layer in set(self.model.recorded) & set(self.model.train_layers):
                        spikes[layer] = self.trains.window(layer, self.t, t)
                try:
                    self.writer.append(spikes, t)
                except RunFolderError as err:
                    failure = err
                else:
                    for name, (ids, _) in spikes.items():
                        self.counts[name] += len(ids)
            self.agree(failure)
            self.manifest.t_reached_ms = t
        if self.bar is not None:
            self.bar.n = max(self.bar.n, t)  # an engine may have moved the bar while it ran
            self.bar.refresh()
        self.t = t
        self.seconds += time.perf_counter() - t0

    def agree(self, failure: RunFolderError | None) -> None:
        """Raise rank 0's write error (``None``: none) on every rank.

        A single process raises its own error; under MPI rank 0 broadcasts it
        (a :class:`DiskFullError` stays one on every rank).
        """
        if self.parallel.size > 1:
            word = self.parallel.bcast((type(failure).__name__, str(failure)) if failure else None)
            if word is not None and failure is None:
                kind, message = word
                failure = DiskFullError(message) if kind == DiskFullError.__name__ else RunFolderError(message)
        if failure is not None:
            raise failure

    def close(self, status: str = "complete") -> None:
        """Close the progress bar and the file (renamed into place, its ``status`` attribute set)."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        if self.writer is not None:
            writer, self.writer = self.writer, None
            writer.close(status=status)
