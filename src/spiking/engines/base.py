"""The interface every engine implements, and the stepping loop most engines share.

An engine turns a :class:`~spiking.model.network.Model` into a running
network: it builds the layers, connects the projections, takes the stimulus
(rates for Poisson generators at each epoch, or pre-drawn trains window by
window), advances model time and hands back the spikes it recorded, chunk
after chunk. :meth:`Engine.simulate` takes the whole schedule at once: its
default steps through it with the primitives below (NEST keeps it); an engine
that compiles the whole run (Brian2's standalone mode) overrides it.

Spikes cross the boundary as ``layer -> (node indices from 0, times in ms)``
numpy arrays; connections as :class:`~spiking.model.connections.Edges`. The weights of plastic
projections go out through an ``on_weights`` callback at each of the model's
:attr:`~spiking.model.network.Model.weight_times`, one projection at a time.
Nothing here imports a simulator.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..model.connections import Edges
from ..model.network import Model
from ..model.timegrid import EPS, before, floor_index, snap

__all__ = ["Engine", "Edges", "Segment", "stepping_plan", "Spikes", "OnWeights"]

#: ``layer -> (node indices, times in ms)``
Spikes = dict[str, tuple[np.ndarray, np.ndarray]]
#: ``on_weights(t, projection, sources, targets, weights)``: this process's synapses of a plastic
#: projection (node indices in the source and target layers) and their weights (mV) at model time ``t`` (ms).
OnWeights = Callable[[float, str, np.ndarray, np.ndarray, np.ndarray], None]


@dataclass(frozen=True)
class Segment:
    """A stretch of model time the stepping loop simulates in one go.

    Attributes
    ----------
    start, stop : float
        ms.
    epoch : int or None
        Index of the stimulus epoch that begins at ``start`` (its rates are
        set first), or None.
    feed_until : float or None
        When not None, the pre-drawn trains of ``(start, feed_until]`` are
        handed to the engine first.
    flush : bool
        Collect the recorded spikes at ``stop``.
    snapshot : float or None
        When not None, read the weights of the plastic projections at this
        model time (ms) after the segment: every presynaptic spike stamped up to
        it has reached its synapse (a segment of one step after it, see
        :func:`stepping_plan`).
    """

    start: float
    stop: float
    epoch: int | None
    feed_until: float | None
    flush: bool
    snapshot: float | None = None


def stepping_plan(model: Model, chunk: float, feed_window: float | None) -> list[Segment]:
    """The segments of a run: cut at epoch changes, every ``chunk`` ms, and every ``feed_window`` ms of trains.

    ``feed_window=None`` hands no trains over (a model without train layers).
    With plastic projections, the weights at each of the model's
    ``weight_times`` ``t > 0`` are read after a segment ``[t, t + h]`` of one
    step: a simulator that delivers spikes at the start of its next
    communication interval (NEST) has then applied every presynaptic spike
    stamped up to ``t`` and none later (``t`` must lie on such a boundary). The
    one at the end adds a step past ``simulation_time`` whose spikes are not
    collected.
    """
    h = model.resolution
    total = model.simulation_time
    cuts = {snap(e.start, h) for e in model.schedule} | {snap(total, h)}
    cuts |= {snap(k * chunk, h) for k in range(1, floor_index(total, chunk) + 1)}
    feeds: set[float] = set()
    if feed_window is not None:
        feeds = {snap(k * feed_window, h) for k in range(floor_index(total, feed_window) + 1)}
        cuts |= feeds
    reads = {snap(t + h, h): t for t in model.weight_times if t > 0}
    cuts |= set(reads)
    cuts = sorted(t for t in cuts if t <= total + EPS * max(1.0, total))
    starts = {snap(e.start, h): i for i, e in enumerate(model.schedule)}
    out = []
    for a, b in zip(cuts[:-1], cuts[1:]):
        if not before(a, b, h):
            continue
        feed_until = None
        if a in feeds:
            later = [t for t in sorted(feeds) if t > a + h / 2]
            feed_until = min(later[0], total) if later else total
        last = not before(b, total, h)
        on_chunk = abs(b / chunk - round(b / chunk)) <= EPS * max(1.0, b / chunk)
        out.append(Segment(a, b, starts.get(a), feed_until, flush=last or on_chunk, snapshot=reads.get(b)))
    if model.weight_times:
        end = snap(total, h)
        out.append(Segment(end, snap(end + h, h), None, None, flush=False, snapshot=end))
    return out


class Engine(ABC):
    """What every engine offers. Subclasses register in :data:`spiking.engines.ENGINE_MODULES`.

    Lifecycle: :meth:`setup`, :meth:`build`, :meth:`connect`, then
    :meth:`simulate` (or the primitives it calls), then :meth:`info` and
    :meth:`synapse_counts` for the record.
    """

    #: Name in the registry and in ``run.engine``.
    name: ClassVar[str] = ""
    #: Model time of pre-drawn trains handed over at once (ms); None: everything at once.
    feed_window: ClassVar[float | None] = 1000.0
    #: Said after the connect phase, where the connections are made later than it (e.g. by a compiled program).
    connect_note: ClassVar[str] = ""

    model: Model

    def say(self, message: str) -> None:  # noqa: B027 - silent unless the runner gives it a voice
        """A line for the person running (the runner replaces this with its own reporter)."""

    @abstractmethod
    def setup(self, model: Model, threads: int) -> None:
        """Start afresh with the model's seed and resolution on ``threads`` threads."""

    @abstractmethod
    def build(self) -> dict[str, int]:
        """Create every layer and the recorders; returns nodes per layer."""

    @abstractmethod
    def connect(self, network=None) -> dict[str, int] | None:
        """Create every projection; returns synapses per projection held by this process.

        ``network`` is the model's drawn network (a
        :class:`~spiking.io.networkfile.NetworkFolder`) when the model draws the
        edges (``network.wiring = "model"``): the engine instantiates exactly
        those. None lets the engine sample its own (``"engine"``). Returns None
        when the engine makes its connections only when the simulation starts
        (then :meth:`synapse_counts` has them afterwards).
        """

    def synapse_counts(self) -> dict[str, int]:
        """Synapses per projection held by this process, once they exist."""
        raise NotImplementedError

    @abstractmethod
    def edges(self, projection: str) -> Edges:
        """This process's connections of one projection, as built."""

    @abstractmethod
    def incoming(self, target: str, targets: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """This process's connections into nodes ``targets`` of layer ``target``: source layer -> (source, target) indices."""

    @abstractmethod
    def outgoing(self, source: str, node: int) -> dict[str, np.ndarray]:
        """This process's targets of node ``node`` of layer ``source``: target layer -> indices."""

    # -- the stepping primitives ------------------------------------------------
    def set_rates(self, rates: dict[str, np.ndarray]) -> None:
        """Set the Poisson layers' rates (Hz, node order) for the epoch that starts now."""
        raise NotImplementedError

    def feed(self, trains: Spikes) -> None:
        """Hand over the pre-drawn spikes of the train layers for the window that starts now."""
        raise NotImplementedError

    def advance(self, ms: float) -> None:
        """Simulate ``ms`` of model time."""
        raise NotImplementedError

    def collect(self) -> Spikes:
        """This process's spikes since the last call, by recorded layer (train layers excluded)."""
        raise NotImplementedError

    def finish(self) -> None:  # noqa: B027 - nothing to release by default
        """End the simulation (release what the primitives prepared)."""

    def connect_only(self) -> None:  # noqa: B027 - connections are made by connect()
        """Make the connections without simulating (``run.simulate = false``), for engines that connect late."""

    def memory_mb(self) -> dict[str, float]:
        """Memory used outside this process (e.g. by a compiled program), MB, for the manifest."""
        return {}

    def close(self, free: bool = True) -> None:  # noqa: B027 - nothing to release by default
        """Release the simulator for other users in this process (after the run is recorded).

        ``free=False``: the process ends next, so memory need not be handed back first.
        """

    def phase_times(self) -> dict[str, float]:
        """Time spent inside the runner's phases that belongs to another one, s.

        ``compile``: compiling code (within ``build``); ``connect``: making
        connections within ``simulate``, for an engine that connects when the
        simulation starts; ``weights``: reading the weights of plastic
        projections within ``simulate``.
        """
        return {}

    def weights(self, projection: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """This process's synapses of a plastic projection now: sources, targets (node indices) and weights (mV)."""
        raise NotImplementedError

    def weights_passed(self, t: float) -> None:
        """Called when every presynaptic spike stamped up to ``t``, one of the model's ``weight_times``, has been applied.

        An engine whose rules are switched on from outside (NEST: a plastic
        projection's ``start``) does it here; the default does nothing.
        """
        return None

    def _read_weights(self, t: float, on_weights: OnWeights) -> None:
        """Hand every plastic projection's weights at ``t`` to ``on_weights``, one projection at a time."""
        for p in self.model.plastic:
            t0 = time.perf_counter()
            sources, targets, weights = self.weights(p.name)
            self.weights_s = getattr(self, "weights_s", 0.0) + time.perf_counter() - t0
            on_weights(t, p.name, sources, targets, weights)

    # -- the whole schedule --------------------------------------------------------
    def simulate(
        self, on_chunk: Callable[[float, Spikes], None], chunk: float, on_weights: OnWeights | None = None
    ) -> None:
        """Simulate the model's whole schedule, calling ``on_chunk(t, spikes)`` every ``chunk`` ms and at the end.

        ``spikes`` are this process's spikes since the previous call. The
        default steps through :func:`stepping_plan` with the primitives.
        ``on_weights`` gets the weights of each plastic projection at each of
        the model's ``weight_times`` (:data:`OnWeights`).
        """
        model = self.model
        trains = model.trains() if model.train_layers else None
        try:
            if on_weights is not None and model.weight_times:
                self._read_weights(0.0, on_weights)
            for seg in self.plan(chunk):
                if seg.epoch is not None and model.poisson_layers:
                    self.set_rates(model.layer_rates(model.schedule[seg.epoch].pattern))
                if seg.feed_until is not None and trains is not None:
                    self.feed({layer: trains.window(layer, seg.start, seg.feed_until) for layer in model.train_layers})
                self.advance(seg.stop - seg.start)
                if seg.flush:
                    on_chunk(seg.stop, self.collect())
                if seg.snapshot is not None:
                    if on_weights is not None:
                        self._read_weights(seg.snapshot, on_weights)
                    self.weights_passed(seg.snapshot)
        finally:
            self.finish()

    def plan(self, chunk: float) -> Iterator[Segment]:
        """The segments :meth:`simulate` steps through."""
        return iter(stepping_plan(self.model, chunk, self.feed_window if self.model.train_layers else None))

    def same_spikes_need(self, own: str) -> str:
        """What the same spikes need again: nothing but the seed and config where the model drew the network and the
        input (chance left to no simulator), else the engine's ``own`` condition."""
        m = self.model
        if m is not None and m.wiring == "model" and m.source == "trains":
            return (
                "the same seed and config, on any threads, processes or engine (the model drew the network and input)"
            )
        return own

    @abstractmethod
    def info(self) -> dict:
        """Name, version, build facts, threads and processes: what the manifest records."""
