"""Reading ``spikes.h5`` forward in time, block by block, so memory stays bounded by a block of spikes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from ..config import RECORDABLE_LAYERS
from ..errors import RunFolderError
from .frames import frame_count, frame_index

__all__ = ["LayerInfo", "open_spikes", "layer_infos", "SpikeBlocks", "FrameCounter"]

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
            end = int(np.searchsorted(t, self.t_stop * (1 + 1e-12) + 1e-12, side="right"))
            ids = self.ids[i : i + end].astype(np.int64, copy=False)
            yield ids, t[:end]
            if end < t.size:
                return
            if t.size:
                last = t[-1]


class FrameCounter:
    """Spike counts of one layer per frame, chunk after chunk of frames, read forward.

    Parameters
    ----------
    blocks : SpikeBlocks
    n_nodes : int
    frame_ms, t_stop : float
        ms; frames as in :func:`spiking.render.frames.bin_frames` from ``t_start = 0``.
    """

    def __init__(self, blocks: SpikeBlocks, n_nodes: int, frame_ms: float, t_stop: float):
        self.it = iter(blocks)
        self.n_nodes = int(n_nodes)
        self.frame_ms = float(frame_ms)
        self.t_stop = float(t_stop)
        self.n_frames = frame_count(t_stop, frame_ms)
        self.k = np.zeros(0, dtype=np.int64)
        self.ids = np.zeros(0, dtype=np.int64)
        self.done = False

    def _refill(self) -> bool:
        while not self.done:
            try:
                ids, t = next(self.it)
            except StopIteration:
                self.done = True
                return False
            k = frame_index(t, self.frame_ms, self.t_stop)
            keep = (k >= 0) & (ids >= 0) & (ids < self.n_nodes)
            if not keep.all():
                k, ids = k[keep], ids[keep]
            if k.size:
                self.k, self.ids = k, ids
                return True
        return False

    def _keys(self, f0: int, f1: int) -> list[np.ndarray]:
        """``(frame - f0) * n_nodes + node`` of every spike in frames ``f0 .. f1 - 1``, block by block."""
        nf = f1 - f0
        out = []
        while True:
            if self.k.size == 0 and not self._refill():
                break
            j = int(np.searchsorted(self.k, f1, side="left"))
            k, ids = self.k[:j], self.ids[:j]
            m = k >= f0  # frames asked for earlier are dropped
            if not m.all():
                k, ids = k[m], ids[m]
            if k.size:
                out.append((k - f0) * self.n_nodes + ids)
            self.k, self.ids = self.k[j:], self.ids[j:]
            if self.k.size:
                break
        return out if nf > 0 else []

    def counts(self, f0: int, f1: int) -> np.ndarray:
        """Counts of frames ``f0 .. f1 - 1``; chunks must be asked for in order.

        Returns
        -------
        ndarray of int32, shape (f1 - f0, n_nodes)
        """
        nf = f1 - f0
        out = np.zeros(nf * self.n_nodes, dtype=np.int32)
        for keys in self._keys(f0, f1):
            out += np.bincount(keys, minlength=nf * self.n_nodes).astype(np.int32, copy=False)
        return out.reshape(nf, self.n_nodes)

    def sparse(self, f0: int, f1: int) -> tuple[np.ndarray, np.ndarray]:
        """The non-zero counts of frames ``f0 .. f1 - 1`` (chunks in order).

        Returns
        -------
        keys : ndarray of int64, shape (m,)
            ``(frame - f0) * n_nodes + node``, sorted, unique.
        counts : ndarray of int64, shape (m,)
            Spikes of that node in that frame (>= 1).
        """
        parts = self._keys(f0, f1)
        if not parts:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        keys = parts[0] if len(parts) == 1 else np.concatenate(parts)
        u, c = np.unique(keys, return_counts=True)
        return u, c.astype(np.int64)
