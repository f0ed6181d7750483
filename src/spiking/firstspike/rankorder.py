"""Delorme & Thorpe's (2001) rank-order network, as SpikeNET simulates it: one spike per neuron, the order is the code.

Three layers of maps on one grid, the image's size divided by four (``Zoom 2``):

* **Retina** (layer 0): the image summed over 4 x 4 pixel blocks, correlated
  with a 3 x 3 ON-centre kernel (OFF: its negation), the borders repeated.
  Each position fires once, the strongest response first: one ON and one OFF
  spike per time step, in order of response (ties in raster order).
* **Orientation maps** (layer 1): each correlates the ON spikes with one fixed
  7 x 7 kernel and the OFF spikes with its counterpart. A neuron adds, for
  each input spike, ``round(256 mod^r) w``, ``r`` the number of spikes it has
  already received from that input map (only inputs with a non-zero weight
  count), and fires when the sum exceeds ``threshold * 256 * (sum of its
  positive weights)``, once. ``mod = exp(-ln 2 / (N MOD))``: the modulation
  halves after ``MOD`` of its ``N`` inputs.
* **Face maps** (layer 2): each neuron sees a 21 x 25 patch of every
  orientation map through weights shared across its map, with one rank over
  all of them. Learning, the neuron at the face's centre in the map of the
  person shown adds ``round(256 mod^r)`` to the weight of each input spike,
  ``r`` its arrival rank (SpikeNET's supervised rank-order rule). Running,
  the first face map to fire names the person.

A spike of one layer reaches the next one step later; neurons within five
cells of a map's edge do not fire. Every rule and constant is SpikeNET's
(``spiking.firstspike.spikenet`` reads its files); :func:`present` simulates an
image event by event as arrays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

__all__ = [
    "BORDER",
    "ZOOM",
    "modulation_table",
    "RetinaSpikes",
    "retina",
    "OrientationLayer",
    "Spikes",
    "FaceLayer",
    "Decision",
    "decide",
]

#: Neurons within this many cells of a map's edge do not fire (layers 1 and 2).
BORDER = 5
#: The maps' grid is the image's divided by this in each direction (SpikeNET's ``Zoom 2``).
ZOOM = 4


def modulation_table(n_inputs: int, mod: float, length: int | None = None) -> np.ndarray:
    """``round(256 mod^r)`` for ranks ``r = 0 ..``, ``mod = exp(-ln 2 / (n_inputs * MOD))`` (SpikeNET's relative modulation)."""
    m = math.exp(-math.log(2.0) / (n_inputs * mod))
    r = np.arange(n_inputs if length is None else length, dtype=float)
    return np.rint(256.0 * m**r)


@dataclass(frozen=True)
class RetinaSpikes:
    """The retina's spikes: for each map position, the time step of its ON and of its OFF spike."""

    shape: tuple[int, int]
    on: np.ndarray  # int, [row, col]: step of the ON spike
    off: np.ndarray  # int, [row, col]


def retina(img: np.ndarray, kernel: np.ndarray) -> RetinaSpikes:
    """The ON and OFF spike steps of an image (``uint8 [row, col]``) through the ON-centre ``kernel``.

    The image is cut to a multiple of :data:`ZOOM` and summed over blocks of
    that size; the response is the correlation with ``kernel`` (the edge
    repeated). ON: the largest response fires at step 0, the next at step 1,
    ...; OFF the same for the negated response. Ties go in raster order.
    """
    a = np.asarray(img, dtype=float)
    h, w = (a.shape[0] // ZOOM) * ZOOM, (a.shape[1] // ZOOM) * ZOOM
    blocks = a[:h, :w].reshape(h // ZOOM, ZOOM, w // ZOOM, ZOOM).sum(axis=(1, 3))
    response = ndimage.correlate(blocks, np.asarray(kernel, dtype=float), mode="nearest")
    shape = response.shape

    def steps(values: np.ndarray) -> np.ndarray:
        order = np.argsort(-values.ravel(), kind="stable")
        out = np.empty(order.size, dtype=np.int64)
        out[order] = np.arange(order.size)
        return out.reshape(shape)

    return RetinaSpikes(shape, steps(response), steps(-response))


def _active(shape: tuple[int, int]) -> np.ndarray:
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]]
    return (rows >= BORDER) & (rows < shape[0] - BORDER) & (cols >= BORDER) & (cols < shape[1] - BORDER)


@dataclass(frozen=True)
class Spikes:
    """Spikes of a layer's maps, in the order they are processed: by step, then map, then raster order."""

    step: np.ndarray  # int64
    map: np.ndarray  # int64: the map's index
    row: np.ndarray
    col: np.ndarray

    def __len__(self) -> int:
        return int(self.step.size)


class OrientationLayer:
    """The orientation maps: each correlates ON spikes with one kernel and OFF spikes with another.

    Parameters
    ----------
    kernels : list of (ndarray, ndarray)
        Per map, the kernel applied to ON and to OFF spikes (``[row, col]``, odd sides).
    threshold : float
        Fraction of the sum of positive weights (SpikeNET's ``Threshold``).
    mod : float
        SpikeNET's ``MOD`` (the modulation halves after this share of a group's inputs).
    """

    def __init__(self, kernels: list[tuple[np.ndarray, np.ndarray]], threshold: float, mod: float):
        self.maps = []
        for k_on, k_off in kernels:
            groups = []
            for k in (np.asarray(k_on, float), np.asarray(k_off, float)):
                cy, cx = k.shape[0] // 2, k.shape[1] // 2
                dr, dc = np.nonzero(k)
                w = k[dr, dc]
                groups.append((dr - cy, dc - cx, w, modulation_table(w.size, mod)))
            positive = sum(float(np.clip(k, 0, None).sum()) for k in (k_on, k_off))
            self.maps.append((groups, threshold * 256.0 * positive))

    def __len__(self) -> int:
        return len(self.maps)

    def run(self, spikes: RetinaSpikes, stop: int | None = None) -> Spikes:
        """The spikes of every map (a neuron's spike is stamped with the step of the input that fired it).

        ``stop``: only retina spikes of steps before it are delivered (SpikeNET's ``TIME_STOP``).
        """
        shape = spikes.shape
        rows, cols = np.nonzero(_active(shape))
        inf = np.iinfo(np.int64).max // 4
        out = [[], [], [], []]
        for m, (groups, thr) in enumerate(self.maps):
            arrivals, contributions = [], []
            for g, ((dr, dc, w, table), steps) in enumerate(zip(groups, (spikes.on, spikes.off))):
                r = rows[:, None] + dr[None, :]
                c = cols[:, None] + dc[None, :]
                inside = (r >= 0) & (r < shape[0]) & (c >= 0) & (c < shape[1])
                a = np.where(inside, steps[np.clip(r, 0, shape[0] - 1), np.clip(c, 0, shape[1] - 1)], inf)
                if stop is not None:
                    a = np.where(a < stop, a, inf)
                rank = np.argsort(np.argsort(a, axis=1, kind="stable"), axis=1, kind="stable")
                contrib = np.where(a < inf, table[rank] * w[None, :], 0.0)
                arrivals.append(2 * a + g)  # within a step the ON spike comes first
                contributions.append(contrib)
            a = np.concatenate(arrivals, axis=1)
            contrib = np.concatenate(contributions, axis=1)
            order = np.argsort(a, axis=1, kind="stable")
            a_sorted = np.take_along_axis(a, order, axis=1)
            total = np.cumsum(np.take_along_axis(contrib, order, axis=1), axis=1)
            crossed = (total > thr) & (a_sorted < 2 * inf)
            fires = crossed.any(axis=1)
            first = np.argmax(crossed, axis=1)
            step = a_sorted[np.arange(rows.size), first] // 2
            keep = fires
            out[0].append(step[keep])
            out[1].append(np.full(int(keep.sum()), m))
            out[2].append(rows[keep])
            out[3].append(cols[keep])
        step, maps, r, c = (np.concatenate(x).astype(np.int64) for x in out)
        order = np.lexsort((c, r, maps, step))
        return Spikes(step[order], maps[order], r[order], c[order])


@dataclass(frozen=True)
class Decision:
    """What the face maps did with one image.

    Attributes
    ----------
    winner : int
        The face map that fired first (-1: none fired).
    step : int
        The step of its first spike (the step of the input spike that fired it, one after its arrival).
    row, col : int
        Where it fired.
    first_steps : ndarray of int, (n_maps,)
        Each map's first spike step (-1: silent).
    """

    winner: int
    step: int
    row: int
    col: int
    first_steps: np.ndarray


class FaceLayer:
    """Face maps over the orientation maps: a shared weight patch per (face map, orientation map).

    Parameters
    ----------
    n_maps, n_inputs : int
        Face maps, and orientation maps feeding them.
    patch : (rows, cols)
        The patch each neuron sees of every orientation map (SpikeNET: 25 x 21).
    mod : float
        SpikeNET's ``MOD`` for the face maps (one group over all orientation maps).
    """

    def __init__(self, n_maps: int, n_inputs: int, patch: tuple[int, int], mod: float):
        self.patch = patch
        self.weights = np.ones((n_maps, n_inputs, patch[0], patch[1]))  # SpikeNET starts from all ones
        self.table = modulation_table(n_inputs * patch[0] * patch[1], mod)
        self.thresholds = np.zeros(n_maps)

    def _inputs(self, spikes: Spikes, shape: tuple[int, int], rows: np.ndarray, cols: np.ndarray):
        """For neurons at ``rows, cols``: which spikes they receive (mask), their ranks and weight indices."""
        hr, hc = self.patch[0] // 2, self.patch[1] // 2
        dr = spikes.row[None, :] - rows[:, None]
        dc = spikes.col[None, :] - cols[:, None]
        inside = (np.abs(dr) <= hr) & (np.abs(dc) <= hc)
        rank = np.cumsum(inside, axis=1) - 1
        flat = (spikes.map[None, :] * self.patch[0] + (dr + hr)) * self.patch[1] + (dc + hc)
        return inside, np.where(inside, rank, 0), np.where(inside, flat, 0)

    def learn(self, spikes: Spikes, shape: tuple[int, int], face: int, row: int, col: int, stop: int | None = None):
        """SpikeNET's supervised rule: the neuron at ``(row, col)`` of map ``face`` adds ``round(256 mod^r)``
        to the weight of each input spike (``r`` its arrival rank); spikes of steps ``>= stop - 1`` arrive too late."""
        keep = np.ones(len(spikes), dtype=bool) if stop is None else spikes.step + 1 < stop
        s = Spikes(spikes.step[keep], spikes.map[keep], spikes.row[keep], spikes.col[keep])
        inside, rank, flat = self._inputs(s, shape, np.array([row]), np.array([col]))
        idx = flat[0][inside[0]]
        w = self.weights[face].reshape(-1)
        np.add.at(w, idx, self.table[rank[0][inside[0]]])

    def max_activation(self, inputs: int) -> np.ndarray:
        """Per map, the largest input a neuron can get from its first ``inputs`` spikes: ``sum_i round(256 mod^i)
        w_(i)`` with its weights in decreasing order (the input arriving in the learnt order)."""
        k = min(int(inputs), self.table.size)
        flat = np.sort(self.weights.reshape(self.weights.shape[0], -1), axis=1)[:, ::-1][:, :k]
        return (flat * self.table[None, :k]).sum(axis=1)

    def set_thresholds(self, fraction) -> None:
        """Each map's threshold: ``fraction`` (one, or one per map) of 256 times the sum of its positive weights."""
        positive = np.clip(self.weights, 0, None).reshape(self.weights.shape[0], -1).sum(axis=1)
        self.thresholds = np.asarray(fraction, dtype=float) * 256.0 * positive

    def potentials(
        self, spikes: Spikes, shape: tuple[int, int], face: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The summed input of every active neuron of map ``face`` after each input spike.

        Returns the active neurons' rows and cols and an array ``(n_neurons,
        n_spikes)`` of potentials (spikes in :class:`Spikes` order).
        """
        rows, cols = np.nonzero(_active(shape))
        inside, rank, flat = self._inputs(spikes, shape, rows, cols)
        mod = np.where(inside, self.table[np.minimum(rank, self.table.size - 1)], 0.0)
        w = self.weights[face].reshape(-1)[flat]
        return rows, cols, np.cumsum(w * mod, axis=1)

    def trajectories(self, spikes: Spikes, shape: tuple[int, int]) -> np.ndarray:
        """Each map's largest potential over its neurons after each input spike: ``(n_maps, n_spikes)``.

        Potentials only grow (weights and modulation are positive), so a map
        fires after the first spike at which this exceeds its threshold. It does
        not depend on the thresholds: one call serves every choice of them.
        """
        rows, cols = np.nonzero(_active(shape))
        inside, rank, flat = self._inputs(spikes, shape, rows, cols)
        mod = np.where(inside, self.table[np.minimum(rank, self.table.size - 1)], 0.0)
        out = np.empty((self.weights.shape[0], len(spikes)))
        flat_w = self.weights.reshape(self.weights.shape[0], -1)
        for m in range(out.shape[0]):
            out[m] = np.cumsum(flat_w[m][flat] * mod, axis=1).max(axis=0) if len(spikes) else 0.0
        return out

    def decide(self, spikes: Spikes, shape: tuple[int, int]) -> Decision:
        """The first face map to fire: the earliest input spike after which one of its neurons is over threshold
        (spikes in processing order); a tie goes to the map furthest over its threshold."""
        n_maps = self.weights.shape[0]
        if len(spikes) == 0:
            return Decision(-1, -1, -1, -1, np.full(n_maps, -1))
        winner, first, _ = decide(self.trajectories(spikes, shape), self.thresholds)
        arrival = spikes.step + 1  # a spike reaches the face maps a step later
        first_steps = np.where(first >= 0, arrival[np.maximum(first, 0)], -1)
        if winner < 0:
            return Decision(-1, -1, -1, -1, first_steps)
        rows, cols, pot = self.potentials(spikes, shape, winner)
        n = int(np.argmax(pot[:, first[winner]]))
        return Decision(winner, int(first_steps[winner]), int(rows[n]), int(cols[n]), first_steps)


def decide(trajectories: np.ndarray, thresholds: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """The winner of :meth:`FaceLayer.trajectories` against ``thresholds``.

    Returns the winning map (-1: none fired), each map's first spike index
    (-1: silent) and each map's excess over its threshold at that spike.
    """
    over = trajectories > thresholds[:, None]
    fired = over.any(axis=1)
    first = np.where(fired, np.argmax(over, axis=1), -1)
    if not fired.any():
        return -1, first, np.zeros(len(thresholds))
    idx = np.where(fired, first, 0)
    excess = np.where(fired, trajectories[np.arange(len(thresholds)), idx] / thresholds, 0.0)
    best = first[fired].min()
    candidates = np.flatnonzero(first == best)
    return int(candidates[int(np.argmax(excess[candidates]))]), first, excess
