"""The retina's spikes drawn with numpy: the relay's spikes, before any simulator (pure numpy).

Rate coding (``retina.coding = "rate"``, the original's): Poisson trains.

In the original formulation each retina pixel is a Poisson generator whose
spikes a relay (LGN) neuron repeats after the relay projection's delay. The
relay's spikes are therefore Poisson trains at the retina's rates, shifted by
that delay, and that is what this module draws: for each relay node, in each
stimulus epoch, the spikes of a Poisson process on the time grid, as NEST's
``poisson_generator`` makes them (a Poisson number of spikes in each step,
stamped at the step's end, so two spikes may share a step), then moved by the
relay delay.

The draws depend only on the run's seed, the layer, the epoch and a fixed
block of model time (:data:`BLOCK_MS`), never on how many threads or
processes simulate, on ``run.chunk`` or on the window asked for: any window
of any layer can be drawn on its own, and two engines get the very same input.
Memory is bounded by the window asked for.

Equivalence used: ``n ~ Poisson(r T)`` spikes placed uniformly on the ``T / h``
steps of a block give independent ``Poisson(r h)`` counts per step.

Latency coding (``"latency"``): each pixel fires once in each stimulus
epoch, ``latency`` ms after the epoch starts (:func:`spiking.model.retina.latency`:
the earlier, the stronger its response; not at all below the threshold or
after the epoch's end), stamped at the end of the step the latency falls
in, then moved by the relay delay. Nothing is left to chance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .timegrid import EPS, n_steps

__all__ = ["BLOCK_MS", "TRAIN_LAYERS", "RetinaTrains", "draw_block", "latency_block"]

#: Model time drawn from one random stream, ms (a fixed cut of each epoch).
BLOCK_MS = 100.0
#: Relay layers given as trains, and the retina layer whose rates drive each.
TRAIN_LAYERS = {"lgn_on": "retina_on", "lgn_off": "retina_off"}
#: Tag that keeps these streams apart from other uses of the run's seed.
_STREAM_TAG = 0x7A1E5


def draw_block(
    rates: np.ndarray, steps: int, step_ms: float, seed: int, key: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """Poisson spikes of ``len(rates)`` nodes over ``steps`` time steps.

    Parameters
    ----------
    rates : ndarray, shape (n,)
        Rate of each node, Hz.
    steps : int
        Steps in the block.
    step_ms : float
        The time step, ms.
    seed : int
        The run's seed.
    key : tuple of int
        What else names the stream (layer, epoch, block).

    Returns
    -------
    nodes : ndarray of int64, shape (m,)
    step : ndarray of int64, shape (m,)
        The step of each spike, ``0 .. steps - 1``; sorted by step, then node.
    """
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), _STREAM_TAG, *map(int, key)]))
    counts = rng.poisson(np.asarray(rates, dtype=float) * (steps * step_ms / 1000.0))
    nodes = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    step = rng.integers(0, steps, size=nodes.size, dtype=np.int64)
    order = np.lexsort((nodes, step))
    return nodes[order], step[order]


def latency_block(latency: np.ndarray, first: int, steps: int, step_ms: float) -> tuple[np.ndarray, np.ndarray]:
    """The one spike of each node whose ``latency`` (ms after its epoch starts) falls in steps ``first .. first + steps - 1``
    of the epoch; as :func:`draw_block`, steps counted from the block's start, sorted by step, then node."""
    lat = np.asarray(latency, dtype=float)
    fires = np.isfinite(lat)
    k = np.full(lat.shape, -1, dtype=np.int64)
    k[fires] = np.floor(lat[fires] / step_ms + EPS).astype(np.int64)  # the step the latency falls in
    nodes = np.flatnonzero(fires & (k >= first) & (k < first + steps))
    step = k[nodes] - first
    order = np.lexsort((nodes, step))
    return nodes[order].astype(np.int64), step[order]


@dataclass(frozen=True)
class _Epoch:
    start_step: int
    stop_step: int
    rates: dict


class RetinaTrains:
    """The relay layers' spikes as pre-drawn Poisson trains, window by window.

    Parameters
    ----------
    schedule : sequence of ScheduledEpoch
        The stimulus epochs (``start``, ``stop`` in ms, ``pattern``).
    rates : dict
        ``pattern -> {retina layer -> rates (Hz) in node order}``.
    resolution : float
        Time step, ms.
    delays : dict
        ``relay layer -> delay of its retina projection``, ms: a retina spike
        at ``t`` is a relay spike at ``t + delay``.
    seed : int
        The run's seed.
    latencies : dict, optional
        ``pattern -> {retina layer -> latency (ms, inf: none) in node order}``: latency coding instead of
        Poisson trains.
    """

    def __init__(
        self, schedule, rates: dict, resolution: float, delays: dict, seed: int, latencies: dict | None = None
    ):
        self.resolution = float(resolution)
        self.delay_steps = {layer: n_steps(d, resolution) for layer, d in delays.items()}
        self.seed = int(seed)
        self.block_steps = max(1, n_steps(BLOCK_MS, resolution))
        self.epochs = [
            _Epoch(n_steps(ep.start, resolution), n_steps(ep.stop, resolution), rates[ep.pattern]) for ep in schedule
        ]
        self.latencies = [latencies[ep.pattern] for ep in schedule] if latencies is not None else None
        self._cache: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}

    def delay(self, layer: str) -> float:
        """The relay delay of ``layer``, ms (on the step grid)."""
        return self.delay_steps[layer] * self.resolution

    def _block(self, layer: str, e: int, b: int) -> tuple[np.ndarray, np.ndarray]:
        """Nodes and absolute retina steps (the step a spike is stamped at) of one block."""
        key = (layer, e, b)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        ep = self.epochs[e]
        first = ep.start_step + b * self.block_steps
        steps = min(self.block_steps, ep.stop_step - first)
        if self.latencies is not None:
            nodes, step = latency_block(
                self.latencies[e][TRAIN_LAYERS[layer]], b * self.block_steps, steps, self.resolution
            )
        else:
            code = list(TRAIN_LAYERS).index(layer)
            nodes, step = draw_block(ep.rates[TRAIN_LAYERS[layer]], steps, self.resolution, self.seed, (code, e, b))
        out = (nodes, first + 1 + step)  # a spike of step k is stamped at the step's end
        if len(self._cache) >= 8:
            self._cache.pop(next(iter(self._cache)))
        self._cache[key] = out
        return out

    def window(self, layer: str, t0: float, t1: float) -> tuple[np.ndarray, np.ndarray]:
        """The relay spikes of ``layer`` with ``t0 < t <= t1`` (ms).

        Returns
        -------
        nodes : ndarray of int64, shape (m,)
            Node index in the layer.
        times : ndarray of float64, shape (m,)
            Spike times, ms, on the step grid; sorted by time, then node.
        """
        if layer not in TRAIN_LAYERS:
            raise KeyError(f"{layer!r} is not a train layer; train layers: {', '.join(TRAIN_LAYERS)}")
        # relay stamps s + delay in (k0, k1]  <=>  retina stamps s in (k0 - delay, k1 - delay]
        delay = self.delay_steps[layer]
        k0 = n_steps(t0, self.resolution) - delay
        k1 = n_steps(t1, self.resolution) - delay
        nodes, stamps = [], []
        for e, ep in enumerate(self.epochs):
            if ep.stop_step <= k0 or ep.start_step >= k1:
                continue
            b0 = max(0, (k0 - ep.start_step) // self.block_steps)
            b1 = (min(k1, ep.stop_step) - ep.start_step - 1) // self.block_steps
            for b in range(b0, b1 + 1):
                n, s = self._block(layer, e, b)
                keep = (s > k0) & (s <= k1)
                nodes.append(n[keep])
                stamps.append(s[keep])
        if not nodes:
            return np.zeros(0, np.int64), np.zeros(0, np.float64)
        n, s = np.concatenate(nodes), np.concatenate(stamps)
        return n, (s + delay) * self.resolution
