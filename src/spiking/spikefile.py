"""The spike file: SONATA-layout HDF5 with each layer's grid, written as a run advances.

Layout of ``spikes.h5``::

    /spikes                      attrs: magic (SONATA), version
    /spikes/<layer>/node_ids     uint64, node index in the layer (0 .. side**2 - 1)
    /spikes/<layer>/timestamps   float64, ms (attr units = "ms"), sorted by time
                                 (group attr sorting = "by_time")
    /nodes/<layer>/positions     float64 (n, 2): x, y of each node in model units
    /nodes/<layer>/row, col      int32 (n,): grid row (0 = top) and column of each node
                                 (group attrs: n_nodes, side, extent; populations
                                 without a grid have only n_nodes)
    /                            attrs: status ("partial" while written), t_stop (ms)

Readable with plain ``h5py``; :func:`load_spikes` returns numpy arrays.
Spikes are appended chunk by chunk (in time order), so memory stays bounded by
a chunk, and the file is written under a temporary name and renamed into place.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from .geometry import grid_positions, grid_rows_cols

__all__ = ["SpikeWriter", "LayerSpikes", "load_spikes", "SONATA_MAGIC"]

SONATA_MAGIC = 0x0A7A
_GROW = 1 << 16


class SpikeWriter:
    """Append spikes of several layers to a SONATA spike file.

    Parameters
    ----------
    path : path-like
        The final file name; data go to ``<path>.part`` until :meth:`close`.
    layers : dict
        ``name -> (side, extent)`` of each recorded grid layer, or ``name -> n``
        for a population of ``n`` nodes without a grid.
    """

    def __init__(self, path, layers: dict[str, tuple[int, float]]):
        self.path = Path(path)
        self.tmp = self.path.with_name(self.path.name + ".part")
        self.h5 = h5py.File(self.tmp, "w")
        self.h5.attrs["status"] = "partial"
        self.h5.attrs["t_stop"] = 0.0
        sp = self.h5.create_group("spikes")
        sp.attrs["magic"] = np.uint32(SONATA_MAGIC)
        sp.attrs["version"] = np.array([0, 1], dtype=np.uint32)
        self.n = {}
        for name, spec in layers.items():
            g = sp.create_group(name)
            g.attrs["sorting"] = "by_time"
            g.create_dataset("node_ids", shape=(0,), maxshape=(None,), dtype=np.uint64, chunks=(_GROW,))
            ts = g.create_dataset("timestamps", shape=(0,), maxshape=(None,), dtype=np.float64, chunks=(_GROW,))
            ts.attrs["units"] = "ms"
            ng = self.h5.create_group(f"nodes/{name}")
            if isinstance(spec, (int, np.integer)):
                ng.attrs["n_nodes"] = int(spec)
                self.n[name] = 0
                continue
            side, extent = spec
            ng.attrs["n_nodes"] = side * side
            ng.attrs["side"] = side
            ng.attrs["extent"] = extent
            ng.create_dataset("positions", data=grid_positions(side, extent))
            rows, cols = grid_rows_cols(side)
            ng.create_dataset("row", data=rows.astype(np.int32))
            ng.create_dataset("col", data=cols.astype(np.int32))
            self.n[name] = 0

    def append(self, spikes: dict[str, tuple[np.ndarray, np.ndarray]], t_stop: float) -> None:
        """Append the spikes of one chunk (all later than any appended before)."""
        for name, (ids, times) in spikes.items():
            if len(ids) == 0:
                continue
            order = np.lexsort((ids, times))
            g = self.h5["spikes"][name]
            n0, n1 = self.n[name], self.n[name] + len(ids)
            for key, data in (("node_ids", ids[order].astype(np.uint64)), ("timestamps", times[order])):
                ds = g[key]
                ds.resize((n1,))
                ds[n0:n1] = data
            self.n[name] = n1
        self.h5.attrs["t_stop"] = float(t_stop)
        self.h5.flush()

    def close(self, complete: bool = True) -> Path:
        """Close and rename into place; ``complete=False`` marks the spikes as cut short."""
        self.h5.attrs["status"] = "complete" if complete else "interrupted"
        self.h5.close()
        os.replace(self.tmp, self.path)
        return self.path


@dataclass(frozen=True)
class LayerSpikes:
    """The spikes of one layer with its grid.

    Attributes
    ----------
    node_ids : ndarray of int64, shape (n_spikes,)
    times : ndarray of float64, shape (n_spikes,), ms, sorted
    side : int
        Grid side (0 for a population without a grid).
    extent : float
    positions : ndarray, shape (side**2, 2)
    row, col : ndarray of int, shape (side**2,)
    """

    node_ids: np.ndarray
    times: np.ndarray
    side: int
    extent: float
    positions: np.ndarray
    row: np.ndarray
    col: np.ndarray

    n_nodes: int = 0


def load_spikes(path) -> dict[str, LayerSpikes]:
    """Read a spike file written by :class:`SpikeWriter` into numpy arrays, by layer."""
    out = {}
    with h5py.File(path, "r") as h5:
        for name, g in h5["spikes"].items():
            ng = h5["nodes"][name]
            grid = "side" in ng.attrs
            empty = np.zeros(0, dtype=np.int32)
            out[name] = LayerSpikes(
                node_ids=g["node_ids"][()].astype(np.int64),
                times=g["timestamps"][()],
                side=int(ng.attrs["side"]) if grid else 0,
                extent=float(ng.attrs["extent"]) if grid else 0.0,
                positions=ng["positions"][()] if grid else np.zeros((0, 2)),
                row=ng["row"][()] if grid else empty,
                col=ng["col"][()] if grid else empty,
                n_nodes=int(ng.attrs["n_nodes"]),
            )
    return out
