"""The model as plain data: layers, projections, stimulus schedule and rates, what is recorded.

Built from a :class:`~spiking.config.Config` without any simulator; an engine
(:mod:`spiking.engines`) turns it into a running network. Neuron parameters
use the model's own names (``a, b, c, d, V_th, ...``); engines translate.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..config import PROJECTION_TABLE, Config
from .cells import IzhikevichParams
from .geometry import Sizes, derive_sizes, grid_positions, image_to_nodes
from .plasticity import STDPRule
from .retina import latency, retina_rates, retina_responses
from .stimulus import ScheduledEpoch, build_schedule, load_pattern, place_pattern
from .timegrid import EPS, n_steps
from .trains import RetinaTrains

__all__ = ["LayerSpec", "ProjectionSpec", "Stimulus", "Model", "build_model"]


@dataclass(frozen=True)
class LayerSpec:
    """A square grid layer.

    Attributes
    ----------
    name : str
    kind : {"poisson", "relay", "trains", "izhikevich"}
        Poisson generators (retina), spike relays (LGN, repeating the retina's
        spikes), spike sources replaying pre-drawn trains (LGN, when
        ``retina.source = "trains"``: :mod:`spiking.model.trains`) or
        Izhikevich neurons (V1).
    side : int
        Grid side; the layer has ``side**2`` nodes.
    extent : float
        Side length in model space units; the layer is centred on the origin.
    cell : IzhikevichParams or None
        Neuron parameters in the model's names (Izhikevich layers only).
    """

    name: str
    kind: str
    side: int
    extent: float
    cell: IzhikevichParams | None = field(default=None, compare=False)

    @property
    def size(self) -> int:
        return self.side * self.side

    def positions(self) -> np.ndarray:
        """Node positions ``(size, 2)`` in node order."""
        return grid_positions(self.side, self.extent)


@dataclass(frozen=True)
class ProjectionSpec:
    """A projection whose mask and kernel are centred on the target (convergent).

    ``p(r) = p_center`` (constant) or ``p_center * exp(-r^2 / (2 sigma^2))``
    (gaussian) inside the mask (``one_to_one``: the grid element at the same
    place; ``circle``: distance ``d <= radius``, see :meth:`inside`). Delay ``delay + delay_per_unit * r`` (ms),
    weight in mV (the initial weight when ``plasticity`` is a rule: :mod:`spiking.model.plasticity`).
    """

    index: int
    name: str
    source: str
    target: str
    mask: str
    radius: float
    kernel: str
    p_center: float
    sigma: float
    weight: float
    delay: float
    delay_per_unit: float
    allow_autapses: bool
    plasticity: STDPRule | None = None

    @property
    def max_delay(self) -> float:
        """The longest delay of the projection, ms (at the mask's edge)."""
        return self.delay + (self.delay_per_unit * self.mask_radius if self.mask == "circle" else 0.0)

    @property
    def mask_radius(self) -> float:
        """The radius every engine, the estimate and the plots test distances against: ``d <= mask_radius``.

        ``radius`` widened by a relative :data:`~spiking.model.timegrid.EPS`, so
        that points on the circle (at exactly ``radius`` from the target on
        the grid, e.g. 49 elements of 1/49 unit away) are inside whatever the
        rounding of the positions.
        """
        return self.radius * (1.0 + EPS)

    def inside(self, d: np.ndarray) -> np.ndarray:
        """Whether distances ``d`` are inside the mask (one rule everywhere: ``d <= mask_radius``)."""
        return np.asarray(d) <= self.mask_radius

    def delay_steps(self, d, resolution: float) -> np.ndarray:
        """The delay at distances ``d`` in whole time steps: ``delay + delay_per_unit * d`` ms to the nearest step (halves up, as NEST rounds)."""
        return np.floor((self.delay + self.delay_per_unit * np.asarray(d, dtype=float)) / resolution + 0.5).astype(
            np.int64
        )

    def probability(self, r: np.ndarray) -> np.ndarray:
        """Connection probability at distances ``r`` (inside the mask)."""
        r = np.asarray(r, dtype=float)
        if self.kernel == "gaussian":
            return self.p_center * np.exp(-(r**2) / (2 * self.sigma**2))
        return np.full_like(r, self.p_center)


@dataclass(frozen=True)
class Stimulus:
    """One distinct pattern as shown to the retina.

    Attributes
    ----------
    name : str
        The pattern spec from the config.
    image : ndarray, shape (side, side)
        The placed grey image, ``image[row, col]``, row 0 at the top.
    rates_on, rates_off : ndarray, shape (side, side)
        Retina rates in Hz, as images.
    latency_on, latency_off : ndarray, shape (side, side), or None
        With latency coding: each pixel's spike latency after the stimulus starts, ms (``inf``: no spike).
    """

    name: str
    image: np.ndarray
    rates_on: np.ndarray
    rates_off: np.ndarray
    latency_on: np.ndarray | None = None
    latency_off: np.ndarray | None = None


@dataclass(frozen=True)
class Model:
    """Everything an engine needs to build and run the network."""

    sizes: Sizes
    layers: dict
    projections: tuple
    schedule: tuple
    stimuli: dict
    recorded: tuple
    seed: int
    resolution: float
    simulation_time: float
    chunk: float
    connect: bool
    source: str = "generators"
    #: ``rate``: Poisson trains; ``latency``: one spike per pixel and epoch (:mod:`spiking.model.trains`)
    coding: str = "rate"
    #: ``model``: the edges are drawn by :mod:`spiking.model.connections`; ``engine``: each engine samples its own
    wiring: str = "model"
    relay_delays: dict = field(default_factory=lambda: {"lgn_on": 1.0, "lgn_off": 1.0})

    def layer_rates(self, pattern: str) -> dict[str, np.ndarray]:
        """Retina rates (Hz) of a pattern in node order, by layer name."""
        s = self.stimuli[pattern]
        return {"retina_on": image_to_nodes(s.rates_on), "retina_off": image_to_nodes(s.rates_off)}

    def layer_latencies(self, pattern: str) -> dict[str, np.ndarray]:
        """Retina spike latencies (ms, ``inf``: none) of a pattern in node order, by layer name (latency coding)."""
        s = self.stimuli[pattern]
        return {"retina_on": image_to_nodes(s.latency_on), "retina_off": image_to_nodes(s.latency_off)}

    def trains(self) -> RetinaTrains:
        """The relay layers' spikes as pre-drawn trains (the same for any engine, threads, ranks).

        Poisson trains at the retina's rates; with latency coding, one spike per pixel and epoch.
        """
        rates = {p: self.layer_rates(p) for p in self.stimuli}
        latencies = {p: self.layer_latencies(p) for p in self.stimuli} if self.coding == "latency" else None
        return RetinaTrains(self.schedule, rates, self.resolution, self.relay_delays, self.seed, latencies)

    @property
    def poisson_layers(self) -> tuple[str, ...]:
        """Layers of Poisson generators whose rates follow the schedule (``retina.source = "generators"``)."""
        return tuple(name for name, layer in self.layers.items() if layer.kind == "poisson")

    @property
    def train_layers(self) -> tuple[str, ...]:
        """Layers whose spikes are pre-drawn trains rather than simulated."""
        return tuple(name for name, layer in self.layers.items() if layer.kind == "trains")

    @property
    def plastic(self) -> tuple[ProjectionSpec, ...]:
        """The projections whose weights follow a plasticity rule."""
        return tuple(p for p in self.projections if p.plasticity is not None)

    @property
    def weight_times(self) -> tuple[float, ...]:
        """When the weights of plastic projections are recorded, ms: each stimulus change (0 included) and the end.

        Empty without plastic projections. The weights at ``t`` are those after
        every presynaptic spike stamped up to ``t`` (:mod:`spiking.model.plasticity`).
        """
        if not (self.plastic and self.connect):
            return ()
        h = self.resolution
        times = {n_steps(e.start, h) for e in self.schedule} | {n_steps(self.simulation_time, h)}
        return tuple(k * h for k in sorted(times))

    @property
    def simulated_recorded(self) -> tuple[str, ...]:
        """Recorded layers whose spikes the engine records (the others are pre-drawn trains)."""
        trains = set(self.train_layers)
        return tuple(name for name in self.recorded if name not in trains)


def build_model(config: Config, stimuli: bool = True) -> Model:
    """The model of a config: sizes, layers, projections, schedule and retina rates.

    Raises :class:`~spiking.errors.StimulusError` for a pattern that cannot be loaded.
    """
    sizes = derive_sizes(config.network)
    e = sizes.extent
    trains = config.retina.source == "trains"
    layers = (
        {}
        if trains
        else {
            "retina_on": LayerSpec("retina_on", "poisson", sizes.retina_side, e),
            "retina_off": LayerSpec("retina_off", "poisson", sizes.retina_side, e),
        }
    )
    relay = "trains" if trains else "relay"
    layers |= {
        "lgn_on": LayerSpec("lgn_on", relay, sizes.retina_side, e),
        "lgn_off": LayerSpec("lgn_off", relay, sizes.retina_side, e),
        "ex_on": LayerSpec("ex_on", "izhikevich", sizes.excitatory_side, e, config.neurons.excitatory.params()),
        "ex_off": LayerSpec("ex_off", "izhikevich", sizes.excitatory_side, e, config.neurons.excitatory.params()),
        "in_on": LayerSpec("in_on", "izhikevich", sizes.inhibitory_side, e, config.neurons.inhibitory.params()),
        "in_off": LayerSpec("in_off", "izhikevich", sizes.inhibitory_side, e, config.neurons.inhibitory.params()),
    }
    projections = []
    for i, (name, src, tgt, _) in enumerate(PROJECTION_TABLE, 1):
        p = config.projections[name]
        if src not in layers:
            continue  # the retina -> relay projections, when the relay's spikes are pre-drawn trains
        recurrent = src.startswith(("ex", "in")) and src == tgt
        projections.append(
            ProjectionSpec(
                index=i,
                name=name,
                source=src,
                target=tgt,
                mask=p.mask,
                radius=p.radius,
                kernel=p.kernel,
                p_center=p.p_center,
                sigma=p.sigma,
                weight=p.weight,
                delay=p.delay,
                delay_per_unit=p.delay_per_unit,
                allow_autapses=config.network.allow_autapses if recurrent else True,
                plasticity=p.stdp.rule() if p.plasticity == "stdp" else None,
            )
        )
    schedule = tuple(build_schedule(config))
    stim = {}
    if stimuli:
        for ep in schedule:
            if ep.pattern in stim:
                continue
            placed = place_pattern(
                load_pattern(ep.pattern, config, sizes.pattern_side), sizes.pattern_side, sizes.retina_side
            )
            on, off = retina_rates(placed, config.retina)
            lat = (None, None)
            if config.retina.coding == "latency":
                lat = tuple(latency(r, config.retina) for r in retina_responses(placed, config.retina))
            stim[ep.pattern] = Stimulus(ep.pattern, placed, on, off, *lat)
    return Model(
        sizes=sizes,
        layers=layers,
        projections=tuple(projections),
        schedule=schedule,
        stimuli=stim,
        recorded=tuple(config.recording.layers),
        seed=config.run.seed,
        resolution=config.run.resolution,
        simulation_time=config.run.simulation_time,
        chunk=config.run.chunk,
        connect=config.run.connect,
        source=config.retina.source,
        coding=config.retina.coding,
        wiring=config.network.wiring,
        relay_delays={
            "lgn_on": config.projections["retina_on_to_lgn_on"].delay,
            "lgn_off": config.projections["retina_off_to_lgn_off"].delay,
        },
    )


__all__ += ["ScheduledEpoch"]
