"""Spikes to movie frames: binning per frame, grid images, the colour scale (pure numpy)."""

from __future__ import annotations

import functools
import math

import numpy as np

__all__ = [
    "frame_count",
    "frame_index",
    "bin_frames",
    "frame_images",
    "scale_counts",
    "colorize",
    "viridis_lut",
]

#: Tolerance, in frames (relative to the frame number), under which a time counts as on a frame edge.
_EDGE_TOL = 1e-9


def frame_count(t_stop: float, frame_ms: float, t_start: float = 0.0) -> int:
    """Number of frames of ``frame_ms`` covering ``[t_start, t_stop]``.

    ``ceil((t_stop - t_start) / frame_ms)``, robust to floating-point error
    (``0.3 / 0.1`` gives 3 frames, not 4); 0 when ``t_stop <= t_start``.

    Parameters
    ----------
    t_stop, t_start : float
        ms.
    frame_ms : float
        Frame length, ms (> 0).

    Returns
    -------
    int
    """
    if not frame_ms > 0:
        raise ValueError(f"frame_ms must be > 0, got {frame_ms}")
    r = (float(t_stop) - float(t_start)) / float(frame_ms)
    if r <= 0:
        return 0
    return max(0, math.ceil(r - _EDGE_TOL * (1.0 + r)))


def frame_index(times, frame_ms: float, t_stop: float, t_start: float = 0.0) -> np.ndarray:
    """The frame of each spike time, or -1 for a time outside ``[t_start, t_stop]``.

    Frame ``k`` holds ``[t_start + k*frame_ms, t_start + (k+1)*frame_ms)``; a
    time on an edge goes to the frame that starts there (within a relative
    tolerance of 1e-9 frames, so ``0.3`` is on the edge of 0.1 ms frames). A
    time exactly at ``t_stop`` belongs to the last frame (as in
    ``np.histogram``). Monotone in ``times`` between the -1 of times before
    and after the frames, so sorted times give sorted frame indices.

    Parameters
    ----------
    times : array_like of float, shape (n,)
        ms.
    frame_ms : float
        Frame length, ms.
    t_stop, t_start : float
        ms; there are :func:`frame_count` ``(t_stop, frame_ms, t_start)`` frames.

    Returns
    -------
    ndarray of int64, shape (n,)
    """
    n_frames = frame_count(t_stop, frame_ms, t_start)
    t = np.asarray(times, dtype=np.float64)
    r = (t - float(t_start)) / float(frame_ms)
    tol = _EDGE_TOL * (1.0 + np.abs(r))
    r_stop = (float(t_stop) - float(t_start)) / float(frame_ms)
    with np.errstate(invalid="ignore"):
        k = np.floor(r + tol)
        valid = (r + tol >= 0) & (r <= r_stop + _EDGE_TOL * (1.0 + abs(r_stop)))
    out = np.clip(np.nan_to_num(k, nan=-1.0, posinf=-1.0, neginf=-1.0), 0, max(n_frames - 1, 0)).astype(np.int64)
    out[~valid] = -1
    if n_frames == 0:
        out[:] = -1
    return out


def bin_frames(node_ids, times, n_nodes: int, frame_ms: float, t_stop: float, t_start: float = 0.0) -> np.ndarray:
    """Spike counts per frame and node.

    Parameters
    ----------
    node_ids : array_like of int, shape (n_spikes,)
        Node index in the layer, ``0 .. n_nodes - 1`` (others are ignored).
    times : array_like of float, shape (n_spikes,)
        Spike times, ms (any order).
    n_nodes : int
    frame_ms : float
        Frame length, ms.
    t_stop : float
        End of the frames, ms; a spike exactly at ``t_stop`` counts in the last frame,
        later spikes are ignored.
    t_start : float
        Start of frame 0, ms; earlier spikes are ignored.

    Returns
    -------
    ndarray of int32, shape (n_frames, n_nodes)
        Frame ``k`` holds the spikes in ``[t_start + k*frame_ms, t_start + (k+1)*frame_ms)``;
        ``n_frames = ceil((t_stop - t_start) / frame_ms)`` (see :func:`frame_count`).
    """
    n_frames = frame_count(t_stop, frame_ms, t_start)
    ids = np.asarray(node_ids, dtype=np.int64).ravel()
    k = frame_index(times, frame_ms, t_stop, t_start).ravel()
    if ids.shape != k.shape:
        raise ValueError(f"node_ids and times differ in length: {ids.shape[0]} and {k.shape[0]}")
    keep = (k >= 0) & (ids >= 0) & (ids < n_nodes)
    flat = k[keep] * n_nodes + ids[keep]
    counts = np.bincount(flat, minlength=n_frames * n_nodes)
    return counts.astype(np.int32, copy=False).reshape(n_frames, n_nodes)


def frame_images(counts: np.ndarray, side: int) -> np.ndarray:
    """Frames of node values as grid images ``[frame, row, col]``.

    Node ``k`` sits in column ``k // side`` and row ``k % side`` (row 0 at the
    top), as in :func:`spiking.geometry.nodes_to_image`.

    Parameters
    ----------
    counts : ndarray, shape (n_frames, side**2)
    side : int

    Returns
    -------
    ndarray, shape (n_frames, side, side)
        A view of ``counts`` where possible.
    """
    a = np.asarray(counts)
    if a.ndim != 2 or a.shape[1] != side * side:
        raise ValueError(f"counts must have shape (n_frames, {side * side}), got {a.shape}")
    return a.reshape(a.shape[0], side, side).transpose(0, 2, 1)


def scale_counts(counts: np.ndarray, frame_ms: float, max_rate: float) -> np.ndarray:
    """The original's colour scale: ``255 * 1000 / (frame_ms * max_rate)`` per spike, capped at 255.

    A node firing at ``max_rate`` (Hz) on average over a frame is white (255).

    Parameters
    ----------
    counts : ndarray of int, any shape
        Spikes per node per frame.
    frame_ms : float
        Frame length, ms.
    max_rate : float
        Rate shown as full scale, Hz (the retina's ``max_rate``).

    Returns
    -------
    ndarray of uint8, same shape
    """
    per_spike = 255.0 * 1000.0 / (float(frame_ms) * float(max_rate)) if max_rate > 0 else 255.0
    c = np.asarray(counts)
    if per_spike >= 255.0:
        return np.where(c > 0, np.uint8(255), np.uint8(0)).astype(np.uint8)
    v = np.minimum(c * per_spike, 255.0)
    return np.floor(v + 1e-9).astype(np.uint8)


@functools.cache
def viridis_lut() -> np.ndarray:
    """Matplotlib's viridis as a lookup table.

    Returns
    -------
    ndarray of uint8, shape (256, 3)
        RGB of each level 0..255.
    """
    from matplotlib import colormaps

    rgba = colormaps["viridis"](np.arange(256))
    lut = np.round(rgba[:, :3] * 255).astype(np.uint8)
    lut.setflags(write=False)
    return lut


def colorize(frames: np.ndarray) -> np.ndarray:
    """Colour uint8 levels with viridis.

    Parameters
    ----------
    frames : ndarray of uint8, any shape ``S``

    Returns
    -------
    ndarray of uint8, shape ``S + (3,)``
        RGB.
    """
    a = np.asarray(frames)
    if a.dtype != np.uint8:
        raise TypeError(f"colorize needs uint8 levels, got {a.dtype}")
    return viridis_lut()[a]
