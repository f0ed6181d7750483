"""The spike file: SONATA-layout HDF5 with each layer's grid, written as a run advances.

Layout of ``spikes.h5``::

    /spikes                      attrs: magic (SONATA), version
    /spikes/<layer>/node_ids     uint64, node index in the layer (0 .. side**2 - 1)
    /spikes/<layer>/timestamps   float64, ms (attr units = "ms"), sorted by time
                                 (group attr sorting: SONATA's enum {none, by_id,
                                 by_time}, int8, = by_time)
    /nodes/<layer>/positions     float64 (n, 2): x, y of each node in model units
    /nodes/<layer>/row, col      int32 (n,): grid row (0 = top) and column of each node
                                 (group attrs: n_nodes, side, extent; populations
                                 without a grid have only n_nodes)
    /                            attrs: status ("partial" while written, then "complete",
                                 "interrupted" or "failed"), t_stop (ms)

Readable with plain ``h5py`` and with SONATA readers (``libsonata.SpikeReader``
opens every layer as a spike population); :func:`load_spikes` returns numpy
arrays, and :class:`SpikeBlocks` reads a layer forward in blocks for files of
any size.
Spikes are appended chunk by chunk (in time order), so memory stays bounded by
a chunk, and the file is written under a temporary name and renamed into place.
Before each chunk the writer reserves on disk the room the chunk can take
(:class:`~spiking.io.space.Room`): a full disk stops the run there with
:class:`~spiking.errors.DiskFullError`, and the file, closed in the room kept
for it, holds every chunk written before (``t_stop`` says up to when).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from ..config import RECORDABLE_LAYERS
from ..errors import RunFolderError
from ..model.geometry import grid_positions, grid_rows_cols
from ..model.timegrid import EPS
from .space import Room, as_disk_full

__all__ = [
    "SpikeWriter",
    "LayerSpikes",
    "LayerInfo",
    "load_spikes",
    "read_layer",
    "open_spikes",
    "layer_infos",
    "SpikeBlocks",
    "SONATA_MAGIC",
    "SORTING",
    "sorting_of",
    "BLOCK",
]

logger = logging.getLogger(__name__)

SONATA_MAGIC = 0x0A7A
#: SONATA's ``sorting`` attribute of a spike population: an HDF5 enum on int8
#: (libsonata reads it as ``enum class Sorting : char {none, by_id, by_time}``).
SORTING = h5py.enum_dtype({"none": 0, "by_id": 1, "by_time": 2}, basetype="i1")
_GROW = 1 << 16
#: Bytes of one HDF5 chunk of a spike dataset (8-byte values): what HDF5 may allocate beyond the data itself.
_CHUNK_BYTES = _GROW * 8
#: Room kept past the end of the spike file for closing it (HDF5 metadata), bytes.
CLOSE_ROOM = 1 << 20


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

    def __init__(self, path, layers: dict[str, tuple[int, float]], reserve: bool = True):
        self.path = Path(path)
        self.tmp = self.path.with_name(self.path.name + ".part")
        try:
            self.h5 = h5py.File(self.tmp, "w")
        except (OSError, RuntimeError) as err:
            raise as_disk_full(err, self.tmp) or RunFolderError(f"{self.tmp}: cannot be created ({err})") from None
        self.room = Room(self.tmp) if reserve else None
        self.broken = False
        try:
            nodes = sum(spec if isinstance(spec, (int, np.integer)) else spec[0] ** 2 for spec in layers.values())
            self._reserve(24 * int(nodes) + (1 << 14) * len(layers))  # positions, rows, columns; headers
        except BaseException:
            self._discard()
            raise
        self.h5.attrs["status"] = "partial"
        self.h5.attrs["t_stop"] = 0.0
        sp = self.h5.create_group("spikes")
        sp.attrs["magic"] = np.uint32(SONATA_MAGIC)
        sp.attrs["version"] = np.array([0, 1], dtype=np.uint32)
        self.n = {}
        for name, spec in layers.items():
            g = sp.create_group(name)
            g.attrs.create("sorting", 2, dtype=SORTING)
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
        self.h5.flush()  # a readable file from the start, even if the process is killed before the first chunk
        self._reserve(0)

    def _reserve(self, nbytes: int) -> None:
        """Room on disk for ``nbytes`` more, plus :data:`CLOSE_ROOM`, past HDF5's end of file."""
        if self.room is not None:
            self.room.ensure(int(self.h5.id.get_filesize()) + int(nbytes) + CLOSE_ROOM)

    def append(self, spikes: dict[str, tuple[np.ndarray, np.ndarray]], t_stop: float) -> None:
        """Append the spikes of one chunk (all later than any appended before).

        Raises
        ------
        DiskFullError
            No room for the chunk on disk; nothing of it was written, and the
            file closes with every earlier chunk.
        """
        if self.broken:
            raise RunFolderError(f"{self.tmp}: an earlier write failed; no more spikes are written")
        busy = [name for name, (ids, _) in spikes.items() if len(ids)]
        self._reserve(sum(16 * len(spikes[name][0]) + 2 * _CHUNK_BYTES for name in busy))
        try:
            for name in busy:
                ids, times = spikes[name]
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
        except (OSError, RuntimeError) as err:  # HDF5 failed half-way: the file cannot be trusted past here
            self.broken = True
            raise as_disk_full(err, self.tmp) or RunFolderError(f"{self.tmp}: cannot be written ({err})") from None

    def close(self, complete: bool = True, status: str | None = None) -> Path:
        """Close and rename into place.

        Parameters
        ----------
        complete : bool
            ``False`` marks the spikes as cut short (``status`` ``interrupted``).
        status : str, optional
            The file's ``status`` attribute instead: ``complete``, ``interrupted`` or ``failed``.

        Returns
        -------
        Path
            ``spikes.h5``; after a write that failed half-way the file stays
            ``spikes.h5.part`` and :class:`RunFolderError` is raised.
        """
        if self.broken:
            self._discard(keep=True)
            raise RunFolderError(f"{self.tmp}: left as it was when a write failed; it may not be readable")
        self.h5.attrs["status"] = status or ("complete" if complete else "interrupted")
        self.h5.flush()
        end = int(self.h5.id.get_filesize())  # HDF5's end of file: the room reserved past it is given back
        self.h5.close()
        if self.room is not None:
            self.room.release(end)
        os.replace(self.tmp, self.path)
        return self.path

    def _discard(self, keep: bool = False) -> None:
        """Close what can be closed after a failure; remove the file unless ``keep``."""
        try:
            self.h5.close()
        except Exception:  # noqa: BLE001 - closing a file HDF5 already gave up on
            logger.debug("closing %s after a failed write failed too:", self.tmp, exc_info=True)
        if self.room is not None:
            self.room.release()
        if not keep:
            self.tmp.unlink(missing_ok=True)


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
    n_nodes : int
        Nodes in the layer (silent ones included).
    """

    node_ids: np.ndarray
    times: np.ndarray
    side: int
    extent: float
    positions: np.ndarray
    row: np.ndarray
    col: np.ndarray

    n_nodes: int = 0

    def by_node(self) -> list[np.ndarray]:
        """The spike times of each node, in node order.

        Returns
        -------
        list of ndarray of float64
            ``n_nodes`` arrays (ms, sorted; empty for a silent node).
        """
        order = np.argsort(self.node_ids, kind="stable")  # times stay sorted within a node
        bounds = np.searchsorted(self.node_ids[order], np.arange(self.n_nodes + 1))
        times = self.times[order]
        return [times[a:b] for a, b in zip(bounds[:-1], bounds[1:])]


#: Spikes read from the file at a time (two arrays of 8 bytes each: 4 MB).
BLOCK = 1 << 18


@dataclass(frozen=True)
class LayerInfo:
    """A recorded layer as stored in ``spikes.h5``.

    Attributes
    ----------
    name : str
    n_nodes : int
    side : int
        Grid side (0 for a population without a grid).
    n_spikes : int
        Spikes stored.
    """

    name: str
    n_nodes: int
    side: int
    n_spikes: int


def sorting_of(group: h5py.Group) -> str:
    """The ``sorting`` of a spike population: ``none``, ``by_id`` or ``by_time``.

    Reads SONATA's enum and, from files written before it, a plain string.
    """
    if "sorting" not in group.attrs:
        return "none"
    value = group.attrs["sorting"]
    if isinstance(value, (bytes, str)):
        return value.decode() if isinstance(value, bytes) else value
    names = {v: k for k, v in h5py.check_enum_dtype(group.attrs.get_id("sorting").dtype).items()}
    return names.get(int(value), "none")


def open_spikes(path) -> h5py.File:
    """Open ``spikes.h5`` read-only, one-line :class:`RunFolderError` if it cannot be read."""
    p = Path(path)
    if not p.is_file():
        part = p.with_name(p.name + ".part")
        extra = " (only spikes.h5.part: the run is still going or died)" if part.exists() else ""
        raise RunFolderError(f"{p.parent}: no spikes.h5{extra}")
    try:
        h5 = h5py.File(p, "r")
    except OSError as err:
        raise RunFolderError(f"{p}: cannot be read as HDF5 ({str(err).splitlines()[0]})") from None
    if "spikes" not in h5 or "nodes" not in h5:
        h5.close()
        raise RunFolderError(f"{p}: not a spike file (no /spikes and /nodes groups)")
    return h5


def _order(name: str) -> tuple:
    return (RECORDABLE_LAYERS.index(name), "") if name in RECORDABLE_LAYERS else (len(RECORDABLE_LAYERS), name)


def layer_infos(h5: h5py.File) -> list[LayerInfo]:
    """The layers of a spike file, in the order of ``RECORDABLE_LAYERS`` (others after, by name)."""
    out = []
    for name, g in h5["spikes"].items():
        if name not in h5["nodes"] or "timestamps" not in g or "node_ids" not in g:
            raise RunFolderError(f"{h5.filename}: layer {name!r} lacks node_ids, timestamps or its /nodes entry")
        attrs = h5["nodes"][name].attrs
        n = int(attrs.get("n_nodes", 0))
        side = int(attrs.get("side", 0))
        if side and side * side != n:
            raise RunFolderError(f"{h5.filename}: layer {name!r} has side {side} but {n} nodes")
        out.append(LayerInfo(name=name, n_nodes=n, side=side, n_spikes=int(g["timestamps"].shape[0])))
    return sorted(out, key=lambda i: _order(i.name))


class SpikeBlocks:
    """The spikes of one layer, read forward in blocks of at most :data:`BLOCK` spikes.

    Parameters
    ----------
    h5 : h5py.File
    layer : str
    t_stop : float
        ms; the spikes after it are not read.
    block : int
        Spikes per read.

    Notes
    -----
    Relies on the timestamps being sorted (``sorting = "by_time"``); a block
    out of order raises :class:`RunFolderError`.
    """

    def __init__(self, h5: h5py.File, layer: str, t_stop: float, block: int = BLOCK):
        g = h5["spikes"][layer]
        self.layer = layer
        self.ids = g["node_ids"]
        self.ts = g["timestamps"]
        self.n = int(self.ts.shape[0])
        self.t_stop = float(t_stop)
        self.block = int(block)
        self.filename = h5.filename

    def __iter__(self):
        """Yield ``(node_ids int64 (m,), times float64 (m,))`` blocks in time order, up to ``t_stop``."""
        last = -np.inf
        for i in range(0, self.n, self.block):
            j = min(self.n, i + self.block)
            t = self.ts[i:j]
            if t.size and (t[0] < last or np.any(t[1:] < t[:-1])):
                raise RunFolderError(f"{self.filename}: spikes of {self.layer} are not sorted by time")
            end = int(np.searchsorted(t, self.t_stop + EPS * max(1.0, abs(self.t_stop)), side="right"))
            ids = self.ids[i : i + end].astype(np.int64, copy=False)
            yield ids, t[:end]
            if end < t.size:
                return
            if t.size:
                last = t[-1]


def read_layer(h5: h5py.File, info: LayerInfo) -> LayerSpikes:
    """Read one layer of an open spike file into numpy arrays."""
    g, ng = h5["spikes"][info.name], h5["nodes"][info.name]
    grid = info.side > 0
    empty = np.zeros(0, dtype=np.int32)
    return LayerSpikes(
        node_ids=g["node_ids"][()].astype(np.int64),
        times=g["timestamps"][()],
        side=info.side,
        extent=float(ng.attrs["extent"]) if grid else 0.0,
        positions=ng["positions"][()] if grid else np.zeros((0, 2)),
        row=ng["row"][()] if grid else empty,
        col=ng["col"][()] if grid else empty,
        n_nodes=info.n_nodes,
    )


def load_spikes(path) -> dict[str, LayerSpikes]:
    """Read a whole spike file into numpy arrays, by layer (for files that fit in memory).

    Raises :class:`~spiking.errors.RunFolderError` in one line for a missing or
    malformed file.
    """
    with open_spikes(path) as h5:
        return {info.name: read_layer(h5, info) for info in layer_infos(h5)}
