"""Mozafari et al. (2018): first-spike categorisation learnt with reward-modulated STDP (pure numpy and scipy).

The network, as the authors' program (ModelDB 240369, ``RLSNN``) builds it:

* **S1**: Gabor filters (5 x 5, four orientations 22.5 to 157.5 degrees,
  wavelength 2.5, sigma 2, aspect 0.3, zero outside a disc of radius 2.5,
  mean removed, unit norm); a unit's value is the absolute correlation with
  the image divided by the norm of the image patch; its latency ``1 / value``.
* **C1**: the earliest spike of each orientation in windows of 7 x 7, stride 6;
  *lateral intensity inhibition*: a spike's latency grows by its own times
  0.15, 0.12, 0.10, 0.07, 0.05 for each neighbour of its orientation at
  distance 1 to 5 (Chebyshev) that fired earlier; then at each position only
  the earliest orientation keeps its spike.
* **Intensity to latency over time steps**: the spikes in order of latency,
  in ``time_steps`` bins of equal count (SpykeTorch's scheme; ``0``: one step
  per spike, the authors' event order).
* **S2**: feature maps of integrate-and-fire neurons, each seeing a window
  (17 x 17 x 4) of C1 through weights shared across its map; potentials only
  accumulate; a neuron fires when it reaches the threshold, and the first
  neuron to fire (the earliest step; within one, the largest potential) is
  the only one: its map's class is the decision, silence an error.
* **Learning** from the winner only: each weight of its window is
  *pre-before-post* when its input fired no later than the winner. Rewarded
  (the winner's class is right): STDP, ``w += a+ w (1 - w)`` for those, ``w
  -= a- w (1 - w)`` for the others; punished: anti-STDP, ``w -= a+anti w (1 -
  w)`` and ``w += a-anti w (1 - w)``. Rates adapt after each epoch to the
  share of training images then misclassified (STDP) and classified
  (anti-STDP): ``rate = base (share 0.8 + 0.2)``. Each epoch a map is left out
  with probability 0.3 (drop-out).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage, sparse

__all__ = ["RSTDPParams", "Features", "gabor_bank", "features", "S2Layer"]


@dataclass(frozen=True)
class RSTDPParams:
    """Every constant of the network and its learning (defaults: the authors' Caltech face/motorbike settings)."""

    scale: float = 0.5
    gabor_size: int = 5
    orientations: tuple = (22.5, 67.5, 112.5, 157.5)
    wavelength: float = 2.5
    sigma: float = 2.0
    aspect: float = 0.3
    pool: int = 7
    stride: int = 6
    inhibition: tuple = (0.15, 0.12, 0.10, 0.07, 0.05)
    time_steps: int = 15
    window: int = 17
    maps_per_class: int = 5
    threshold: float = 42.0
    weight_mean: float = 0.8
    weight_sd: float = 0.05
    a_plus: float = 0.05
    a_minus: float = 0.025
    anti_a_plus: float = 0.05
    anti_a_minus: float = 0.005
    adaptive_interval: float = 0.8
    adaptive_minimum: float = 0.2
    dropout: float = 0.3
    epochs: int = 200

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.__dict__.items()}


def gabor_bank(p: RSTDPParams) -> np.ndarray:
    """The S1 filters ``(orientations, size, size)``: disc-masked, mean removed, divided by the disc's norm."""
    half = p.gabor_size // 2
    y, x = np.mgrid[-half : half + 1, -half : half + 1].astype(float)
    disc = x**2 + y**2 <= (p.gabor_size / 2.0) ** 2
    out = []
    for theta in p.orientations:
        t = math.radians(theta)
        xr = x * math.cos(t) + y * math.sin(t)
        yr = -x * math.sin(t) + y * math.cos(t)
        g = np.exp(-(xr**2 + (p.aspect * yr) ** 2) / (2 * p.sigma**2)) * np.cos(2 * math.pi * xr / p.wavelength)
        g = np.where(disc, g, 0.0)
        norm = math.sqrt(float((g[disc] ** 2).sum()))
        g = (g - g.mean()) / norm
        out.append(g)
    return np.array(out)


@dataclass
class Features:
    """One image's C1 spikes: the time step of each (row, col, orientation), -1 where none."""

    step: np.ndarray  # int64 (rows, cols, orientations)
    n_steps: int

    @property
    def shape(self) -> tuple[int, int]:
        return self.step.shape[:2]


def _s1(img: np.ndarray, bank: np.ndarray) -> np.ndarray:
    """``|correlation| / norm of the image patch`` per orientation, valid positions: ``(H - s + 1, W - s + 1, n)``."""
    s = bank.shape[1]
    a = np.asarray(img, dtype=float)
    h, w = a.shape[0] - s + 1, a.shape[1] - s + 1
    half = s // 2
    energy = ndimage.uniform_filter(a * a, size=s, mode="constant") * (s * s)
    norm = np.sqrt(np.maximum(energy[half : half + h, half : half + w], 0.0))
    norm[norm == 0] = 1.0
    out = np.empty((h, w, bank.shape[0]))
    for k, g in enumerate(bank):
        c = ndimage.correlate(a, g, mode="constant")
        out[:, :, k] = np.abs(c[half : half + h, half : half + w]) / norm
    return out


def _pool_latency(lat: np.ndarray, size: int, stride: int) -> np.ndarray:
    """The earliest latency in windows of ``size`` at ``stride`` (windows cut at the edge), per orientation."""
    h, w, n = lat.shape
    rows, cols = -(-h // stride), -(-w // stride)
    out = np.full((rows, cols, n), np.inf)
    for i in range(rows):
        for j in range(cols):
            block = lat[i * stride : i * stride + size, j * stride : j * stride + size]
            out[i, j] = block.reshape(-1, n).min(axis=0)
    return out


def _lateral_inhibition(lat: np.ndarray, percents: tuple) -> np.ndarray:
    """Each spike's latency grows by ``own * percent[d - 1]`` for each earlier neighbour of its orientation at distance d."""
    h, w, n = lat.shape
    extra = np.zeros_like(lat)
    pad = len(percents)
    padded = np.full((h + 2 * pad, w + 2 * pad, n), np.inf)
    padded[pad : pad + h, pad : pad + w] = lat
    for dr in range(-pad, pad + 1):
        for dc in range(-pad, pad + 1):
            d = max(abs(dr), abs(dc))
            if d == 0:
                continue
            neighbour = padded[pad + dr : pad + dr + h, pad + dc : pad + dc + w]
            extra += np.where(neighbour < lat, percents[d - 1], 0.0)
    return np.where(np.isfinite(lat), lat * (1.0 + extra), np.inf)


def features(img: np.ndarray, p: RSTDPParams, bank: np.ndarray | None = None) -> Features:
    """S1, C1 with lateral inhibition and orientation competition, and the spikes' time steps (module docstring)."""
    bank = gabor_bank(p) if bank is None else bank
    values = _s1(img, bank)
    lat = np.where(values > 0, 1.0 / np.where(values > 0, values, 1.0), np.inf)
    lat = _pool_latency(lat, p.pool, p.stride)
    lat = _lateral_inhibition(lat, p.inhibition)
    best = np.argmin(lat, axis=2)  # at each position the earliest orientation (the lower on a tie)
    keep = np.zeros_like(lat, dtype=bool)
    np.put_along_axis(keep, best[:, :, None], True, axis=2)
    lat = np.where(keep, lat, np.inf)
    flat = lat.ravel()
    fires = np.flatnonzero(np.isfinite(flat))
    order = fires[np.argsort(flat[fires], kind="stable")]  # by latency, ties in raster order
    step = np.full(flat.size, -1, dtype=np.int64)
    n = order.size
    if p.time_steps and n:
        t = min(p.time_steps, n)
        step[order] = np.minimum(np.arange(n) * t // n, t - 1)
        n_steps = t
    else:
        step[order] = np.arange(n)
        n_steps = n
    return Features(step.reshape(lat.shape), max(n_steps, 1))


@dataclass
class _Inputs:
    """An image's spikes as S2 sees them: a sparse (steps x positions, window) matrix and the positions."""

    matrix: sparse.csr_matrix
    rows: np.ndarray
    cols: np.ndarray
    n_steps: int
    grid: np.ndarray = field(repr=False)  # the Features.step array


class S2Layer:
    """Feature maps of integrate-and-fire neurons over C1, assigned to classes, learnt with (R-)STDP.

    Parameters
    ----------
    n_classes : int
    p : RSTDPParams
    rng : numpy Generator
        Draws the initial weights (and nothing else).
    """

    def __init__(self, n_classes: int, n_orientations: int, p: RSTDPParams, rng: np.random.Generator):
        self.p = p
        self.n_maps = n_classes * p.maps_per_class
        self.classes = np.repeat(np.arange(n_classes), p.maps_per_class)
        shape = (self.n_maps, p.window, p.window, n_orientations)
        self.weights = np.clip(rng.normal(p.weight_mean, p.weight_sd, shape), 1e-5, 1 - 1e-5)

    def inputs(self, f: Features) -> _Inputs:
        """The sparse input matrix of an image's C1 spikes (every S2 position where the window fits)."""
        win, half = self.p.window, self.p.window // 2
        rows_n, cols_n, n_or = f.step.shape
        pos_r, pos_c = np.mgrid[half : rows_n - half, half : cols_n - half]
        pos_r, pos_c = pos_r.ravel(), pos_c.ravel()
        n_pos = pos_r.size
        r, c, o = np.nonzero(f.step >= 0)
        s = f.step[r, c, o]
        dr, dc = np.mgrid[-half : half + 1, -half : half + 1]
        dr, dc = dr.ravel(), dc.ravel()
        # the positions whose window holds each spike: centre = spike - offset
        cr = r[:, None] - dr[None, :]
        cc = c[:, None] - dc[None, :]
        ok = (cr >= half) & (cr < rows_n - half) & (cc >= half) & (cc < cols_n - half)
        pos = (cr - half) * (cols_n - 2 * half) + (cc - half)
        col = ((dr[None, :] + half) * win + (dc[None, :] + half)) * n_or + o[:, None]
        row = s[:, None] * n_pos + pos
        m = sparse.csr_matrix(
            (np.ones(int(ok.sum())), (row[ok], np.broadcast_to(col, ok.shape)[ok])),
            shape=(f.n_steps * n_pos, win * win * n_or),
        )
        return _Inputs(m, pos_r, pos_c, f.n_steps, f.step)

    def potentials(self, x: _Inputs) -> np.ndarray:
        """``(steps, positions, maps)``: every neuron's potential after each step."""
        w = self.weights.reshape(self.n_maps, -1).T
        per_step = np.asarray(x.matrix @ w).reshape(x.n_steps, x.rows.size, self.n_maps)
        return np.cumsum(per_step, axis=0)

    def winner(self, x: _Inputs, active: np.ndarray | None = None) -> tuple[int, int, int]:
        """The first neuron to fire: ``(map, position, step)``, or ``(-1, -1, -1)`` when none does.

        Within its step, the neuron furthest over the threshold; dropped maps (``active`` False) take no part.
        """
        if x.rows.size == 0:
            return -1, -1, -1
        pot = self.potentials(x)
        if active is not None:
            pot = np.where(active[None, None, :], pot, -np.inf)
        over = pot >= self.p.threshold
        fired_at = over.reshape(x.n_steps, -1).any(axis=1)
        if not fired_at.any():
            return -1, -1, -1
        t = int(np.argmax(fired_at))
        flat = int(np.argmax(np.where(over[t], pot[t], -np.inf)))
        pos, m = divmod(flat, self.n_maps)
        return m, pos, t

    def most_active(self, x: _Inputs) -> int:
        """The map with the largest potential at the end (the read-out of plain STDP), -1 without input."""
        if x.rows.size == 0:
            return -1
        return int(np.argmax(self.potentials(x)[-1].max(axis=0)))

    def update(self, x: _Inputs, m: int, pos: int, t: int, rewarded: bool, rates: tuple[float, float, float, float]):
        """(Anti-)STDP of map ``m`` from the winner at ``pos`` firing at step ``t`` (module docstring)."""
        half = self.p.window // 2
        r0, c0 = x.rows[pos] - half, x.cols[pos] - half
        win = x.grid[r0 : r0 + self.p.window, c0 : c0 + self.p.window]
        before = (win >= 0) & (win <= t)
        w = self.weights[m]
        ww = w * (1.0 - w)
        a_plus, a_minus, anti_plus, anti_minus = rates
        if rewarded:
            w += np.where(before, a_plus * ww, -a_minus * ww)
        else:
            w += np.where(before, -anti_plus * ww, anti_minus * ww)
        np.clip(w, 1e-5, 1 - 1e-5, out=w)
