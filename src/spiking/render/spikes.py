"""Spike counts per movie frame, read forward from ``spikes.h5`` so memory stays bounded by a chunk of frames.

The file itself is read through :mod:`spiking.io.spikefile` (its layout lives there).
"""

from __future__ import annotations

import numpy as np

from ..io.spikefile import LayerInfo, SpikeBlocks, layer_infos, open_spikes
from .frames import frame_count, frame_index

__all__ = ["LayerInfo", "open_spikes", "layer_infos", "SpikeBlocks", "FrameCounter"]


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
