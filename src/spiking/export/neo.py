"""A run as a Neo ``Block``: a SpikeTrain per recorded neuron, a Group per layer, the stimulus epochs.

Neo (https://neuralensemble.org/neo/) is the data model Elephant, the
Python spike-train analysis library, works on; a ``Block`` from here goes
straight into ``elephant.statistics``, ``elephant.spike_train_correlation``
and the rest.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np

__all__ = ["run_to_neo", "neo_epoch"]


def _import_neo():
    try:
        import neo
        import quantities as pq
    except ImportError as err:  # pragma: no cover - a dependency of the package
        raise ImportError(f"Run.to_neo needs neo and quantities: pip install neo quantities ({err})") from err
    return neo, pq


def neo_epoch(run):
    """The stimulus schedule of a run as a ``neo.Epoch`` named ``stimulus``.

    Times and durations in ms, one label per epoch (the pattern), within ``[0, t_stop]``.
    """
    neo, pq = _import_neo()
    epochs = run.epochs()
    return neo.Epoch(
        times=np.array([e.start for e in epochs], dtype=float) * pq.ms,
        durations=np.array([e.stop - e.start for e in epochs], dtype=float) * pq.ms,
        labels=np.array([e.pattern for e in epochs], dtype="U"),
        name="stimulus",
        description="pattern shown to the retina from each time on, for its duration",
    )


def _started(manifest: dict) -> datetime | None:
    try:
        return datetime.fromisoformat(str(manifest.get("started", "")))
    except ValueError:
        return None


def run_to_neo(run, layers: list[str] | None = None):
    """Convert a :class:`~spiking.api.Run` into a ``neo.Block``.

    Parameters
    ----------
    run : spiking.api.Run
    layers : list of str, optional
        Recorded layers to include (default: all).

    Returns
    -------
    neo.Block
        One ``Segment`` (named ``run``) holding a ``SpikeTrain`` per recorded
        neuron, silent ones included: times in ms, ``t_start = 0 ms``,
        ``t_stop`` the model time the run reached; each annotated with
        ``layer``, ``node_id`` (index in the layer, as in ``spikes.h5``),
        ``row``, ``col`` (grid position, row 0 at the top) and ``position``
        (x, y in model units). ``block.groups`` has a ``Group`` per layer with
        its trains (annotated ``side``, ``extent``, ``n_nodes``). The
        segment's ``epochs`` hold the stimulus schedule (:func:`neo_epoch`).
        The block is annotated with the run's engine, retina source, seed,
        threads and status.

    Notes
    -----
    Building a ``SpikeTrain`` costs about 0.1 ms, so the default run's
    54,170 V1 neurons take several seconds; pass ``layers`` to take fewer.
    """
    neo, pq = _import_neo()
    from neo.core.spiketrainlist import SpikeTrainList

    names = list(run.spikes) if layers is None else list(layers)
    missing = [name for name in names if name not in run.spikes]
    if missing:
        raise KeyError(f"{missing[0]!r} is not recorded in {run.spikes.path}; recorded: {', '.join(run.spikes)}")
    m = run.manifest
    block = neo.Block(
        name=run.run_id,
        description="spiking run: retina -> LGN -> V1 with spiking neurons",
        file_origin=str(run.folder),
        rec_datetime=_started(m),
        engine=run.engine,
        engine_version=str((m.get("engine") or {}).get("version", "")),
        retina_source=run.retina_source,
        seed=int(m.get("seed", run.config.run.seed)),
        threads=int(m.get("threads", run.config.run.threads)),
        processes=int(m.get("processes", 1)),
        status=run.status,
        spiking_version=str((m.get("versions") or {}).get("spiking", "")),
    )
    seg = neo.Segment(name="run", description=f"{run.t_stop:g} ms of model time")
    block.segments.append(seg)
    t0, t1 = 0.0 * pq.ms, float(run.t_stop) * pq.ms
    everything = []
    for name in names:
        layer = run.spikes[name]
        trains = []
        grid = layer.side > 0
        for k, times in enumerate(layer.by_node()):
            ann = {"layer": name, "node_id": k}
            if grid:
                ann.update(
                    row=int(layer.row[k]),
                    col=int(layer.col[k]),
                    position=(float(layer.positions[k, 0]), float(layer.positions[k, 1])),
                )
            trains.append(neo.SpikeTrain(times, units=pq.ms, t_start=t0, t_stop=t1, name=f"{name}[{k}]", **ann))
        group = neo.Group(name=name, side=layer.side, extent=layer.extent, n_nodes=layer.n_nodes)
        group.spiketrains = SpikeTrainList(items=trains)
        block.groups.append(group)
        everything += trains
    # Neo's append checks that a train is not there yet by scanning the list: adding n trains one by
    # one costs n^2 / 2 comparisons (70 s for the default run's 54,170). The list is built whole instead.
    seg.spiketrains = SpikeTrainList(items=everything, parent=seg)
    for st in everything:
        st.segment = seg
    seg.epochs.append(neo_epoch(run))
    block.check_relationships()
    return block
