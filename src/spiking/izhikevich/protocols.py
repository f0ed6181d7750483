"""The experiments as data, the same for every engine, and the interface an engine implements to run them.

A protocol says everything a simulator needs and nothing about how it does
it, so NEST and Brian2 are given the very same experiment:

* :class:`CurrentSteps`: unconnected neurons under a piecewise-constant
  current, optionally with input spikes of given weights arriving in given
  steps. Builders: :func:`types_protocol` (the paper's Fig. 2 step),
  :func:`tc_rebound_protocol` (hold at -30 pA, release),
  :func:`rz_pulse_protocol` (a 1 ms, 1 pA pulse from rest).
* :class:`NetworkProtocol`: the Fig. 3 network with its random parameters,
  weights and thalamic noise drawn with numpy from the seed
  (:func:`draw_network`), so both engines get the same network and input.

Time is discrete: step ``k`` (from 0) integrates ``(k h, (k + 1) h]``; a
spike found in step ``k`` is stamped ``(k + 1) h`` (the end of the step, as
NEST stamps it), and the state recorded for ``(k + 1) h`` is the state after
step ``k`` (after a reset). Units: ms, mV, pA (unit resistance), mV/ms.

An engine offers the functions of :class:`IzhikevichSimulator` in a module
``spiking.engines.<name>.izhikevich``, found by :func:`get_simulator`.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from ..engines.registry import ENGINES as REGISTRY
from ..engines.registry import engine_names
from ..errors import ConfigError
from . import params as P

__all__ = [
    "NeuronTrace",
    "CurrentSteps",
    "NetworkProtocol",
    "NetworkSpikes",
    "IzhikevichSimulator",
    "ENGINES",
    "get_simulator",
    "frozen",
    "types_protocol",
    "tc_rebound_protocol",
    "rz_pulse_protocol",
    "draw_network",
]

#: Engines that implement :class:`IzhikevichSimulator`, default first.
ENGINES = tuple(name for name in engine_names() if REGISTRY[name].izhikevich)


def frozen(x, dtype=float) -> np.ndarray:
    """A read-only contiguous copy of ``x``."""
    arr = np.array(x, dtype=dtype, copy=True)
    arr.setflags(write=False)
    return arr


def _steps(ms: float, h: float, what: str) -> int:
    """``ms`` as a whole number of steps of ``h``, or a :class:`ConfigError`."""
    k = round(ms / h)
    if not math.isfinite(ms) or ms < 0 or abs(k * h - ms) > 1e-9 * max(1.0, abs(ms)):
        raise ConfigError(what, f"must be a non-negative multiple of the resolution {h:g} ms, got {ms:g}")
    return int(k)


@dataclass(frozen=True, eq=False)
class NeuronTrace:
    """What an engine recorded of one neuron of a :class:`CurrentSteps` protocol.

    Attributes
    ----------
    times : numpy.ndarray
        ``h, 2 h, ..., duration`` in ms (empty when the protocol records no state).
    v : numpy.ndarray
        Membrane potential in mV after each step (after a reset), at ``times``.
    u : numpy.ndarray
        Recovery variable in mV/ms after each step, at ``times``.
    spike_times : numpy.ndarray
        Spike times in ms, sorted: the end of each step in which ``v >= v_peak``.
    """

    times: np.ndarray
    v: np.ndarray
    u: np.ndarray
    spike_times: np.ndarray


@dataclass(frozen=True)
class CurrentSteps:
    """Unconnected Izhikevich neurons under a piecewise-constant current.

    Attributes
    ----------
    params : tuple of (a, b, c, d)
        One entry per neuron (1/ms, -, mV, mV/ms).
    initial : tuple of (v0, u0)
        Initial state per neuron (mV, mV/ms).
    segments : tuple of (duration, current)
        Consecutive stretches: duration in ms (a multiple of ``resolution``),
        current in pA applied to every neuron. Step ``k`` uses the current of
        the segment that contains ``k h``.
    resolution : float
        Integration step ``h`` in ms.
    scheme : {"euler", "paper"}
        Numerics (:mod:`.reference`).
    inputs : tuple of (step, neuron, weight)
        Input spikes: ``weight`` arrives at ``neuron`` in step ``step`` (>= 1),
        a jump of ``v`` in mV (Euler) or a current in pA during the step
        (paper), the way a spike sent with NEST's delay arrives.
    record : bool
        Record ``v`` and ``u`` after every step.
    v_peak : float
        Spike cut-off in mV.
    """

    params: tuple[tuple[float, float, float, float], ...]
    initial: tuple[tuple[float, float], ...]
    segments: tuple[tuple[float, float], ...]
    resolution: float = P.TYPES_RESOLUTION
    scheme: str = "euler"
    inputs: tuple[tuple[int, int, float], ...] = ()
    record: bool = True
    v_peak: float = P.V_PEAK

    def __post_init__(self):
        if len(self.params) != len(self.initial) or not self.params:
            raise ValueError("params and initial need one entry per neuron, at least one")
        if self.scheme not in P.SCHEMES:
            raise ConfigError("scheme", f"must be one of {', '.join(P.SCHEMES)}, got {self.scheme!r}")
        if not (self.resolution > 0 and math.isfinite(self.resolution)):
            raise ConfigError("resolution", f"must be a finite number > 0, got {self.resolution}")
        if self.n_steps < 1:
            raise ConfigError("duration", "the protocol needs at least one step")
        for step, neuron, _ in self.inputs:
            if not (1 <= step < self.n_steps and 0 <= neuron < self.n_neurons):
                raise ValueError(f"input spike at step {step} to neuron {neuron} lies outside the protocol")

    @property
    def n_neurons(self) -> int:
        """Number of neurons."""
        return len(self.params)

    @property
    def segment_steps(self) -> list[tuple[int, float]]:
        """The segments as ``(number of steps, current in pA)``."""
        h = self.resolution
        return [(_steps(ms, h, "duration"), float(i)) for ms, i in self.segments]

    @property
    def n_steps(self) -> int:
        """Number of integration steps."""
        return sum(k for k, _ in self.segment_steps)

    @property
    def duration(self) -> float:
        """Simulated time in ms."""
        return self.n_steps * self.resolution

    def current_per_step(self) -> np.ndarray:
        """The input current of each step, pA, shape ``(n_steps,)``."""
        return np.concatenate([np.full(k, i) for k, i in self.segment_steps])

    def jumps(self) -> np.ndarray:
        """Summed input weights per step and neuron, shape ``(n_steps, n_neurons)``."""
        out = np.zeros((self.n_steps, self.n_neurons))
        for step, neuron, w in self.inputs:
            out[step, neuron] += w
        return out


@dataclass(frozen=True, eq=False)
class NetworkProtocol:
    """The Fig. 3 network, fully drawn: what every engine builds and feeds.

    Attributes
    ----------
    a, b, c, d : numpy.ndarray
        Parameters per neuron, shape ``(n,)``, excitatory neurons first.
    weights : numpy.ndarray
        Shape ``(n, n)``, ``weights[post, pre]`` in pA: a spike of ``pre``
        adds this to ``post``'s input current for one step, ``delay`` later.
        All to all, autapses included.
    noise : numpy.ndarray
        Thalamic input current in pA of each neuron in each step, shape
        ``(n_steps, n)``: row ``k`` acts during step ``k``.
    n_exc, n_inh : int
        Population sizes.
    duration, resolution, delay : float
        ms.
    v_init, v_peak : float
        Initial ``v`` (``u = b v``) and spike cut-off, mV.
    seed : int
        Seed of the numpy generator everything was drawn from.
    scheme : str
        Numerics: the paper's.
    """

    a: np.ndarray
    b: np.ndarray
    c: np.ndarray
    d: np.ndarray
    weights: np.ndarray
    noise: np.ndarray
    n_exc: int
    n_inh: int
    duration: float
    seed: int
    resolution: float = P.NETWORK_RESOLUTION
    delay: float = P.NETWORK_DELAY
    v_init: float = P.NETWORK_V_INIT
    v_peak: float = P.V_PEAK
    scheme: str = "paper"

    @property
    def n_neurons(self) -> int:
        """Total number of neurons."""
        return self.n_exc + self.n_inh

    @property
    def n_steps(self) -> int:
        """Number of integration steps."""
        return int(self.noise.shape[0])

    @property
    def delay_steps(self) -> int:
        """The synaptic delay in steps (>= 1)."""
        return _steps(self.delay, self.resolution, "delay")


@dataclass(frozen=True, eq=False)
class NetworkSpikes:
    """Spikes of a network run as an engine hands them back.

    Attributes
    ----------
    times : numpy.ndarray
        Spike times in ms (end of the step).
    senders : numpy.ndarray
        Neuron index of each spike, 0 .. n - 1.
    info : dict
        What the engine reports about the run (see :meth:`IzhikevichSimulator.info`).
    """

    times: np.ndarray
    senders: np.ndarray
    info: dict = field(default_factory=dict)


class IzhikevichSimulator(Protocol):
    """What an engine's ``izhikevich`` module offers (a module satisfies it by its functions)."""

    def simulate_current_steps(self, protocol: CurrentSteps) -> list[NeuronTrace]:
        """Run a :class:`CurrentSteps` protocol; one trace per neuron."""

    def simulate_network(self, protocol: NetworkProtocol, threads: int = 1) -> NetworkSpikes:
        """Run a :class:`NetworkProtocol`; every neuron's spikes."""

    def info(self, threads: int = 1) -> dict:
        """``name``, ``version`` and whatever else the same spikes need again."""


def get_simulator(name: str) -> IzhikevichSimulator:
    """The Izhikevich protocols of an engine in :data:`ENGINES` (its registry entry names the module).

    Raises
    ------
    ConfigError
        If ``name`` is not in :data:`ENGINES`.
    """
    if name not in ENGINES:
        raise ConfigError("engine", f"must be one of {', '.join(ENGINES)}, got {name!r}")
    return importlib.import_module(REGISTRY[name].izhikevich)


# ---------------------------------------------------------------------------
# builders
# ---------------------------------------------------------------------------


def _classes(types: Mapping[str, Sequence[float]] | None) -> tuple[list[str], list[tuple[float, ...]]]:
    types = P.IZHIKEVICH_CLASSES if types is None else types
    names = list(types)
    return names, [tuple(float(x) for x in types[n]) for n in names]


def _at_rest(params) -> tuple[tuple[float, float], ...]:
    return tuple(P.resting_state(p[1]) for p in params)


def types_protocol(
    types: Mapping[str, Sequence[float]] | None = None,
    duration: float = P.TYPES_DURATION,
    current: float = P.TYPES_CURRENT,
    resolution: float = P.TYPES_RESOLUTION,
    step_onset: float = P.TYPES_STEP_ONSET,
    scheme: str = "euler",
) -> CurrentSteps:
    """Fig. 2: every class at rest (I = 0), then a step of ``current`` pA from ``step_onset`` to ``duration`` ms.

    Each neuron starts at its resting state for I = 0
    (:func:`~spiking.izhikevich.params.resting_state`: -70 mV for b = 0.2, the
    paper's choice too; -64.4 mV for LTS/TC; -62.5 mV for RZ), so the trace is
    flat until the onset.
    """
    if not 0 <= step_onset <= duration:
        raise ConfigError("step_onset", f"must lie within [0, duration = {duration:g}] ms, got {step_onset:g}")
    _, params = _classes(types)
    segments = tuple(s for s in ((step_onset, 0.0), (duration - step_onset, current)) if s[0] > 0)
    return CurrentSteps(tuple(params), _at_rest(params), segments, resolution, scheme)


def tc_rebound_protocol(
    types: Mapping[str, Sequence[float]] | None = None,
    resolution: float = P.TYPES_RESOLUTION,
    scheme: str = "euler",
) -> CurrentSteps:
    """TC's rebound: from rest, hold at ``TC_HOLD_CURRENT`` (-30 pA) for 200 ms, then I = 0 for 250 ms."""
    _, params = _classes(types)
    segments = ((P.TC_HOLD_MS, P.TC_HOLD_CURRENT), (P.TC_RELEASE_MS, 0.0))
    return CurrentSteps(tuple(params), _at_rest(params), segments, resolution, scheme)


def rz_pulse_protocol(
    types: Mapping[str, Sequence[float]] | None = None,
    resolution: float = P.TYPES_RESOLUTION,
    scheme: str = "euler",
) -> CurrentSteps:
    """RZ's resonance: rest for 20 ms, a 1 ms pulse of 1 pA, then I = 0 for 200 ms."""
    _, params = _classes(types)
    segments = ((P.RZ_PRE_MS, 0.0), (P.RZ_PULSE_MS, P.RZ_PULSE_CURRENT), (P.RZ_OBSERVE_MS, 0.0))
    return CurrentSteps(tuple(params), _at_rest(params), segments, resolution, scheme)


def draw_network(
    seed: int = 1,
    duration: float = P.NETWORK_DURATION,
    n_exc: int = P.NETWORK_N_EXC,
    n_inh: int = P.NETWORK_N_INH,
) -> NetworkProtocol:
    """Draw the Fig. 3 network and its thalamic input from ``numpy.random.default_rng(seed)``.

    Construction (the paper's MATLAB code, ``r`` ~ U(0, 1) per neuron):

    * excitatory (RS to CH): ``a = 0.02``, ``b = 0.2``, ``c = -65 + 15 r^2``,
      ``d = 8 - 6 r^2``;
    * inhibitory (FS to LTS): ``a = 0.02 + 0.08 r``, ``b = 0.25 - 0.05 r``,
      ``c = -65``, ``d = 2``;
    * all to all including autapses: weights from excitatory neurons
      ``0.5 U(0, 1)``, from inhibitory ones ``-U(0, 1)``, delay 1 ms;
    * thalamic input: every 1 ms step a new independent Gaussian current per
      neuron, standard deviation 5 pA (excitatory) and 2 pA (inhibitory).

    Draw order: excitatory ``r``, inhibitory ``r``, excitatory then inhibitory
    weight columns, then the noise row by row (step by step), so a shorter
    run's input is the start of a longer run's.

    Memory: the noise takes ``8 n duration / resolution`` bytes (80 MB for
    1000 neurons and 10 s).

    Raises
    ------
    ConfigError
        If ``duration`` is not a positive multiple of 1 ms or a size is negative.
    """
    if n_exc < 0 or n_inh < 0 or n_exc + n_inh < 1:
        raise ConfigError("n_exc", f"the network needs at least one neuron, got {n_exc} + {n_inh}")
    n_steps = _steps(duration, P.NETWORK_RESOLUTION, "duration")
    if n_steps < 1:
        raise ConfigError("duration", f"must be at least one step of {P.NETWORK_RESOLUTION:g} ms, got {duration:g}")
    rng = np.random.default_rng(seed)
    n = n_exc + n_inh
    re = rng.random(n_exc)
    ri = rng.random(n_inh)
    a = np.concatenate([np.full(n_exc, 0.02), 0.02 + 0.08 * ri])
    b = np.concatenate([np.full(n_exc, 0.2), 0.25 - 0.05 * ri])
    c = np.concatenate([-65.0 + 15.0 * re**2, np.full(n_inh, -65.0)])
    d = np.concatenate([8.0 - 6.0 * re**2, np.full(n_inh, 2.0)])
    w_exc = P.NETWORK_W_EXC * rng.random((n, n_exc))
    w_inh = -P.NETWORK_W_INH * rng.random((n, n_inh))
    std = np.concatenate([np.full(n_exc, P.NETWORK_NOISE_EXC), np.full(n_inh, P.NETWORK_NOISE_INH)])
    noise = rng.standard_normal((n_steps, n))
    noise *= std  # in place: the noise is the big array
    noise.setflags(write=False)
    return NetworkProtocol(
        a=frozen(a),
        b=frozen(b),
        c=frozen(c),
        d=frozen(d),
        weights=frozen(np.concatenate([w_exc, w_inh], axis=1)),
        noise=noise,
        n_exc=int(n_exc),
        n_inh=int(n_inh),
        duration=n_steps * P.NETWORK_RESOLUTION,
        seed=int(seed),
    )
