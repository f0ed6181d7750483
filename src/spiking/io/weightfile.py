"""The weight file: the synapses of every plastic projection in SONATA's edge layout, with their weights over time.

Layout of ``weights.h5``::

    /edges/<projection>/source_node_id    uint64 (n,), node in the source layer (attr node_population)
    /edges/<projection>/target_node_id    uint64 (n,), node in the target layer (attr node_population)
    /edges/<projection>/edge_type_id      int64 (n,), the projection's number (1-18)
    /edges/<projection>/edge_group_id     uint32 (n,), 0
    /edges/<projection>/edge_group_index  uint64 (n,), 0 .. n - 1
    /edges/<projection>/0/syn_weight      float64 (n,), mV: the weights at the last time (written on close)
    /edges/<projection>/weights           float64 (k, n), mV: row i holds the weights at times[i]
    /edges/<projection>/times             float64 (k,), ms
                                          group attrs: source, target, rule (JSON of the STDP rule)
    /                                     attrs: status ("partial" while written), t_stop (ms)

Synapses are sorted by target, then source (the same order on every engine
and any number of processes). A row is appended each time the weights are
recorded, so memory is bounded by one projection's weights at one time, and
the file is written under a temporary name and renamed into place.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import h5py
import numpy as np

from ..errors import RunFolderError
from ..model.plasticity import STDPRule

__all__ = ["WEIGHTS_NAME", "WeightWriter", "WeightProjection", "open_weights", "read_projections"]

#: The file's name in the run folder.
WEIGHTS_NAME = "weights.h5"
_CHUNK = 1 << 16


class WeightWriter:
    """Append the weights of plastic projections to ``weights.h5``, one projection at one time per call.

    Parameters
    ----------
    path : path-like
        The final file name; data go to ``<path>.part`` until :meth:`close`.
    projections : dict
        ``name -> (index, source layer, target layer, rule)`` of each plastic projection.
    """

    def __init__(self, path, projections: dict[str, tuple[int, str, str, STDPRule]]):
        self.path = Path(path)
        self.tmp = self.path.with_name(self.path.name + ".part")
        self.projections = dict(projections)
        self.order: dict[str, np.ndarray] = {}
        self.rows: dict[str, int] = {}
        self.h5 = h5py.File(self.tmp, "w")
        self.h5.attrs["status"] = "partial"
        self.h5.attrs["t_stop"] = 0.0
        self.h5.create_group("edges")

    def _start(self, name: str, sources: np.ndarray, targets: np.ndarray) -> None:
        index, source, target, rule = self.projections[name]
        order = np.lexsort((sources, targets))
        n = int(order.size)
        g = self.h5["edges"].create_group(name)
        g.attrs["source"], g.attrs["target"] = source, target
        g.attrs["rule"] = json.dumps(asdict(rule))
        for key, data, layer in (("source_node_id", sources, source), ("target_node_id", targets, target)):
            ds = g.create_dataset(key, data=np.asarray(data)[order].astype(np.uint64))
            ds.attrs["node_population"] = layer
        g.create_dataset("edge_type_id", data=np.full(n, index, dtype=np.int64))
        g.create_dataset("edge_group_id", data=np.zeros(n, dtype=np.uint32))
        g.create_dataset("edge_group_index", data=np.arange(n, dtype=np.uint64))
        g.create_group("0")
        w = g.create_dataset(
            "weights", shape=(0, n), maxshape=(None, n), dtype=np.float64, chunks=(1, max(1, min(n, _CHUNK)))
        )
        w.attrs["units"] = "mV"
        ts = g.create_dataset("times", shape=(0,), maxshape=(None,), dtype=np.float64, chunks=(256,))
        ts.attrs["units"] = "ms"
        self.order[name] = order
        self.rows[name] = 0

    def append(self, t: float, name: str, sources: np.ndarray, targets: np.ndarray, weights: np.ndarray) -> None:
        """Append one projection's weights (mV) at model time ``t`` (ms); the synapses are the same each time."""
        if name not in self.order:
            self._start(name, np.asarray(sources), np.asarray(targets))
        order = self.order[name]
        if np.asarray(weights).size != order.size:
            raise ValueError(f"{name}: {np.asarray(weights).size} weights for {order.size} synapses")
        grp = self.h5["edges"][name]
        k = self.rows[name]
        grp["weights"].resize((k + 1, order.size))
        grp["weights"][k, :] = np.asarray(weights, dtype=np.float64)[order]
        grp["times"].resize((k + 1,))
        grp["times"][k] = float(t)
        self.rows[name] = k + 1
        self.h5.attrs["t_stop"] = max(float(self.h5.attrs["t_stop"]), float(t))
        self.h5.flush()

    def close(self, complete: bool = True) -> Path:
        """Write each projection's last weights as ``syn_weight``, close and rename into place."""
        for name, k in self.rows.items():
            g = self.h5["edges"][name]
            g["0"].create_dataset("syn_weight", data=g["weights"][k - 1, :]).attrs["units"] = "mV"
        self.h5.attrs["status"] = "complete" if complete else "interrupted"
        self.h5.close()
        os.replace(self.tmp, self.path)
        return self.path


@dataclass(frozen=True)
class WeightProjection:
    """One plastic projection as stored in ``weights.h5`` (weights are read row by row on demand).

    Attributes
    ----------
    name, source, target : str
    rule : STDPRule
    sources, targets : ndarray of int64, shape (n,)
        Node indices in the source and target layers, sorted by target then source.
    times : ndarray of float64, shape (k,)
        ms, when the weights were recorded.
    """

    name: str
    source: str
    target: str
    rule: STDPRule
    sources: np.ndarray
    targets: np.ndarray
    times: np.ndarray


def open_weights(path) -> h5py.File:
    """Open ``weights.h5`` read-only; one-line :class:`RunFolderError` if it is missing or not a weight file."""
    p = Path(path)
    if not p.is_file():
        raise RunFolderError(f"{p.parent}: no {p.name}")
    try:
        h5 = h5py.File(p, "r")
    except OSError as err:
        raise RunFolderError(f"{p}: cannot be read as HDF5 ({str(err).splitlines()[0]})") from None
    if "edges" not in h5:
        h5.close()
        raise RunFolderError(f"{p}: not a weight file (no /edges group)")
    return h5


def read_projections(h5: h5py.File) -> dict[str, WeightProjection]:
    """The projections of an open weight file, without their weights (row ``k``: ``h5["edges"][name]["weights"][k]``)."""
    out = {}
    for name, g in h5["edges"].items():
        out[name] = WeightProjection(
            name=name,
            source=str(g.attrs["source"]),
            target=str(g.attrs["target"]),
            rule=STDPRule(**json.loads(g.attrs["rule"])),
            sources=g["source_node_id"][()].astype(np.int64),
            targets=g["target_node_id"][()].astype(np.int64),
            times=g["times"][()],
        )
    return out
