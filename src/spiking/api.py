"""Opening a run folder from Python: its config, manifest, schedule and spikes, and a Neo view of them.

``spiking.open_run(folder)`` is the one way in for analysis code: it reads
``config.toml``, ``manifest.json``, ``schedule.csv`` and the layer list of
``spikes.h5`` at once, and each layer's spikes when first asked for. No
simulator is imported; Neo is imported only by :meth:`Run.to_neo`.

Example::

    import spiking

    run = spiking.open_run("output/<run-id>")
    run.config.network.hypercolumns, run.manifest["seed"], run.schedule[0]
    ex = run.spikes["ex_on"]            # node_ids, times (ms), positions, row, col
    block = run.to_neo(layers=["ex_on"])  # neo.Block: one Segment, a SpikeTrain per neuron
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .config import Config
from .io.runfolder import read_run
from .io.spikefile import LayerInfo, LayerSpikes, layer_infos, open_spikes, read_layer
from .model.stimulus import ScheduledEpoch
from .model.timegrid import EPS

__all__ = ["Run", "RunSpikes", "open_run"]


class RunSpikes(Mapping):
    """The spikes of a run by layer, each read from ``spikes.h5`` when first asked for.

    A read-only mapping ``layer -> LayerSpikes`` in the order of
    :data:`spiking.config.RECORDABLE_LAYERS`, with the spikes up to ``t_stop``
    (ms; as rendering reads them); ``infos`` has each layer's node and spike
    counts (in the file) without reading the spikes.
    """

    def __init__(self, path: Path, infos: list[LayerInfo], t_stop: float = np.inf):
        self.path = Path(path)
        self.infos = {i.name: i for i in infos}
        self.t_stop = float(t_stop)
        self._cache: dict[str, LayerSpikes] = {}

    def __getitem__(self, layer: str) -> LayerSpikes:
        if layer not in self.infos:
            raise KeyError(f"{layer!r} is not recorded in {self.path}; recorded: {', '.join(self.infos) or 'none'}")
        if layer not in self._cache:
            with open_spikes(self.path) as h5:
                s = read_layer(h5, self.infos[layer])
            keep = s.times <= self.t_stop + EPS * max(1.0, abs(self.t_stop))
            if not keep.all():  # an interrupted run: what the manifest says was reached
                s = dataclasses.replace(s, node_ids=s.node_ids[keep], times=s.times[keep])
            self._cache[layer] = s
        return self._cache[layer]

    def __iter__(self) -> Iterator[str]:
        return iter(self.infos)

    def __len__(self) -> int:
        return len(self.infos)

    def __repr__(self) -> str:
        inner = ", ".join(f"{n}: {i.n_nodes} nodes, {i.n_spikes} spikes" for n, i in self.infos.items())
        return f"RunSpikes({inner})"


@dataclass(frozen=True)
class Run:
    """A run folder, read.

    Attributes
    ----------
    folder : Path
    config : Config
        ``config.toml``: the fully resolved config the run used.
    manifest : dict
        ``manifest.json`` as written (versions, seed, engine, counts, timings, status).
    schedule : tuple of ScheduledEpoch
        ``schedule.csv``: ``start``, ``stop`` (ms) and ``pattern`` of each stimulus epoch.
    t_stop : float
        Model time the spikes cover, ms (``t_reached_ms``; less than
        ``run.simulation_time`` for an interrupted run).
    status : str
        ``complete``, ``interrupted``, ``failed``, ``running`` or ``died``.
    spikes : RunSpikes
        ``layer -> LayerSpikes`` (``node_ids``, ``times`` in ms, ``positions``,
        ``row``, ``col``, ``side``, ``n_nodes``) up to ``t_stop``, read on first use.
    """

    folder: Path
    config: Config
    manifest: dict
    schedule: tuple[ScheduledEpoch, ...]
    t_stop: float
    status: str
    spikes: RunSpikes

    @property
    def run_id(self) -> str:
        return str(self.manifest.get("run_id", self.folder.name))

    @property
    def layers(self) -> list[str]:
        """The recorded layers, in the package's layer order."""
        return list(self.spikes)

    @property
    def patterns(self) -> list[str]:
        """Distinct patterns of the schedule in order of first appearance."""
        return list(dict.fromkeys(e.pattern for e in self.schedule))

    @property
    def engine(self) -> str:
        """The simulator that ran it (``nest``), from the manifest."""
        return str((self.manifest.get("engine") or {}).get("engine", self.config.run.engine))

    @property
    def retina_source(self) -> str:
        """``trains`` or ``generators``: how the retina's spikes were made (:data:`spiking.config.RETINA_SOURCE_TEXT`)."""
        return str(self.manifest.get("retina_source", self.config.retina.source))

    @property
    def complete(self) -> bool:
        return self.status == "complete"

    def epochs(self) -> list[ScheduledEpoch]:
        """The stimulus epochs within ``[0, t_stop]``, the last one cut at ``t_stop``."""
        out = []
        for e in self.schedule:
            if e.start < self.t_stop:
                out.append(ScheduledEpoch(e.start, min(e.stop, self.t_stop), e.pattern))
        return out

    def to_neo(self, layers: list[str] | None = None):
        """The run as a ``neo.Block``: one Segment, a SpikeTrain per recorded neuron, the epochs.

        Parameters
        ----------
        layers : list of str, optional
            Recorded layers to include (default: all).

        Returns
        -------
        neo.Block
            See :func:`spiking.export.neo.run_to_neo` for the annotations.
        """
        from .export.neo import run_to_neo

        return run_to_neo(self, layers=layers)

    def __repr__(self) -> str:
        return (
            f"Run({str(self.folder)!r}, status={self.status!r}, t_stop={self.t_stop:g} ms, "
            f"engine={self.engine!r}, layers={self.layers})"
        )


def open_run(folder) -> Run:
    """Open a run folder for reading.

    Any run that wrote ``spikes.h5`` opens, interrupted ones too (``status``
    says so and ``t_stop`` says how far the spikes go).

    Parameters
    ----------
    folder : path-like
        A run folder (``config.toml``, ``manifest.json``, ``schedule.csv``, ``spikes.h5``).

    Returns
    -------
    Run

    Raises
    ------
    RunFolderError
        Not a run folder, or no readable ``spikes.h5`` (one line, says which).
    ConfigError
        The folder's ``config.toml`` is invalid.
    """
    rec = read_run(folder)
    with open_spikes(rec.spikes_path) as h5:
        infos = layer_infos(h5)
    return Run(
        folder=rec.folder,
        config=rec.config,
        manifest=rec.manifest,
        schedule=tuple(rec.schedule),
        t_stop=rec.t_end,
        status=rec.status,
        spikes=RunSpikes(rec.spikes_path, infos, rec.t_end),
    )
