"""Running the protocols on an engine: the Fig. 2 classes (:func:`simulate_types`) and the Fig. 3 network (:func:`simulate_network`).

The engine is chosen by name (one of :data:`~spiking.izhikevich.protocols.ENGINES`) and found by
:func:`~spiking.izhikevich.protocols.get_simulator`; this module imports no
simulator itself. Each call starts the engine afresh (NEST: ``ResetKernel``;
Brian2: a new ``Network``), discarding whatever the caller had built.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..engines.registry import DEFAULT_ENGINE
from . import params as P
from .protocols import (
    NetworkProtocol,
    NeuronTrace,
    draw_network,
    frozen,
    get_simulator,
    rz_pulse_protocol,
    tc_rebound_protocol,
    types_protocol,
)

__all__ = ["TypeTrace", "NetworkResult", "simulate_types", "simulate_network"]


@dataclass(frozen=True, eq=False)
class TypeTrace:
    """Response of one Fig. 2 neuron to a current step, with its two probe protocols.

    Attributes
    ----------
    name : str
        Class label (key of :data:`~spiking.izhikevich.params.IZHIKEVICH_CLASSES`).
    a, b, c, d : float
        Model parameters (1/ms, -, mV, mV/ms).
    times : numpy.ndarray
        Sample times in ms: the sample at ``t`` is the state *after* the
        integration step ending at ``t``.
    v : numpy.ndarray
        Membrane potential in mV at ``times``. A spike is not visible as a
        peak: ``v`` is reset within the step in which it crosses 30 mV
        (:func:`~spiking.izhikevich.plots.types_figure` draws the peaks).
    u : numpy.ndarray
        Recovery variable in mV/ms at ``times``.
    spike_times : numpy.ndarray
        Spike times in ms (end of the step in which ``v >= 30`` mV).
    current : float
        Amplitude of the current step in pA.
    step_onset : float
        Time in ms at which the current is switched on (it stays on).
    duration : float
        Simulated time in ms.
    resolution : float
        Integration step in ms.
    v0, u0 : float
        Initial state (mV, mV/ms).
    scheme : str
        Numerics, ``"euler"`` or ``"paper"``.
    engine : str
        Engine that simulated it.
    rebound : NeuronTrace or None
        The same neuron under :func:`~spiking.izhikevich.protocols.tc_rebound_protocol`
        (TC's check reads it).
    pulse : NeuronTrace or None
        The same neuron under :func:`~spiking.izhikevich.protocols.rz_pulse_protocol`
        (RZ's check reads it).
    """

    name: str
    a: float
    b: float
    c: float
    d: float
    times: np.ndarray
    v: np.ndarray
    u: np.ndarray
    spike_times: np.ndarray
    current: float
    step_onset: float
    duration: float
    resolution: float
    v0: float
    u0: float
    scheme: str = "euler"
    engine: str = DEFAULT_ENGINE
    rebound: NeuronTrace | None = None
    pulse: NeuronTrace | None = None

    @property
    def params(self) -> tuple[float, float, float, float]:
        """The parameters ``(a, b, c, d)``."""
        return (self.a, self.b, self.c, self.d)

    @property
    def step_spikes(self) -> np.ndarray:
        """Spike times after the step onset, relative to the onset (ms)."""
        s = self.spike_times[self.spike_times > self.step_onset]
        return s - self.step_onset

    @property
    def isis(self) -> np.ndarray:
        """Interspike intervals of the spikes during the step (ms)."""
        return np.diff(self.step_spikes)


def simulate_types(
    duration: float = P.TYPES_DURATION,
    current: float = P.TYPES_CURRENT,
    resolution: float = P.TYPES_RESOLUTION,
    step_onset: float = P.TYPES_STEP_ONSET,
    types: Mapping[str, Sequence[float]] | None = None,
    scheme: str = "euler",
    engine: str = DEFAULT_ENGINE,
    probes: bool = True,
) -> OrderedDict[str, TypeTrace]:
    """Simulate the Fig. 2 classes on an engine, each as one neuron under a current step.

    All classes run side by side, unconnected, in one simulation per
    protocol: the step (:func:`~spiking.izhikevich.protocols.types_protocol`)
    and, with ``probes``, TC's hold/release and RZ's pulse for every class
    (so every check can be applied to every class).

    Parameters
    ----------
    duration : float, optional
        Total simulated time in ms (default 500 ms).
    current : float, optional
        Step amplitude in pA (default 10, as in the paper).
    resolution : float, optional
        Integration step in ms (default 0.1 ms).
    step_onset : float, optional
        Onset of the step in ms (default 20 ms).
    types : mapping, optional
        Classes to simulate, name -> (a, b, c, d); default all seven.
    scheme : {"euler", "paper"}, optional
        Numerics; ``"euler"`` at 0.1 ms (the paper's scheme is only meant for 1 ms).
    engine : str, optional
        Engine.
    probes : bool, optional
        Also run the TC and RZ probe protocols (needed by those checks).

    Returns
    -------
    collections.OrderedDict of str to TypeTrace
        One :class:`TypeTrace` per class, in the order of ``types``.
    """
    sim = get_simulator(engine)
    types = P.IZHIKEVICH_CLASSES if types is None else types
    names = list(types)
    protocol = types_protocol(types, duration, current, resolution, step_onset, scheme)
    steps = sim.simulate_current_steps(protocol)
    rebound = pulse = [None] * len(names)
    if probes:
        rebound = sim.simulate_current_steps(tc_rebound_protocol(types, resolution, scheme))
        pulse = sim.simulate_current_steps(rz_pulse_protocol(types, resolution, scheme))
    out: OrderedDict[str, TypeTrace] = OrderedDict()
    for k, name in enumerate(names):
        (a, b, c, d), (v0, u0), r = protocol.params[k], protocol.initial[k], steps[k]
        out[name] = TypeTrace(
            name=name,
            a=a,
            b=b,
            c=c,
            d=d,
            times=r.times,
            v=r.v,
            u=r.u,
            spike_times=r.spike_times,
            current=float(current),
            step_onset=float(step_onset),
            duration=protocol.duration,
            resolution=float(resolution),
            v0=v0,
            u0=u0,
            scheme=scheme,
            engine=engine,
            rebound=rebound[k],
            pulse=pulse[k],
        )
    return out


@dataclass(frozen=True, eq=False)
class NetworkResult:
    """Spikes of the Fig. 3 network.

    Attributes
    ----------
    times : numpy.ndarray
        Spike times in ms (sorted; ties ordered by neuron index).
    senders : numpy.ndarray
        Index (0-based, 0 .. n_exc + n_inh - 1) of the neuron of each spike;
        excitatory neurons come first.
    is_excitatory : numpy.ndarray
        Boolean label per neuron (length ``n_exc + n_inh``).
    n_exc, n_inh : int
        Population sizes.
    duration : float
        Simulated time in ms.
    seed : int
        Seed of the numpy generator that drew parameters, weights and input.
    threads : int
        Threads of the engine.
    engine : str
        Engine that simulated it.
    params : dict
        Per-neuron arrays ``a``, ``b``, ``c``, ``d`` (length n_exc + n_inh).
    info : dict
        What the engine reported (:meth:`~spiking.izhikevich.protocols.IzhikevichSimulator.info`).
    """

    times: np.ndarray
    senders: np.ndarray
    is_excitatory: np.ndarray
    n_exc: int
    n_inh: int
    duration: float
    seed: int
    threads: int = 1
    engine: str = DEFAULT_ENGINE
    params: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)

    @property
    def n_neurons(self) -> int:
        """Total number of neurons."""
        return self.n_exc + self.n_inh

    @property
    def spike_is_excitatory(self) -> np.ndarray:
        """Boolean label per spike (True: sent by an excitatory neuron)."""
        return self.is_excitatory[self.senders]


def simulate_network(
    duration: float = P.NETWORK_DURATION,
    seed: int = 1,
    n_exc: int = P.NETWORK_N_EXC,
    n_inh: int = P.NETWORK_N_INH,
    threads: int = 1,
    engine: str = DEFAULT_ENGINE,
    protocol: NetworkProtocol | None = None,
) -> NetworkResult:
    """Simulate the paper's Fig. 3 network (:func:`~spiking.izhikevich.protocols.draw_network`) on an engine.

    Parameters
    ----------
    duration : float, optional
        Simulated time in ms (default 10000 ms = 10 s).
    seed : int, optional
        Seed of the parameters, weights and thalamic input.
    n_exc, n_inh : int, optional
        Number of excitatory / inhibitory neurons (default 800 / 200).
    threads : int, optional
        Engine threads (NEST; Brian2's runtime mode runs on one).
    engine : str, optional
        Engine.
    protocol : NetworkProtocol, optional
        An already drawn network (then ``duration``, ``seed`` and the sizes
        are ignored): hand the same draw to both engines.

    Returns
    -------
    NetworkResult
        The same ``(seed, engine, threads)`` gives identical spikes.
    """
    sim = get_simulator(engine)
    if protocol is None:
        protocol = draw_network(seed=seed, duration=duration, n_exc=n_exc, n_inh=n_inh)
    raw = sim.simulate_network(protocol, threads=threads)
    times = np.asarray(raw.times, dtype=float)
    senders = np.asarray(raw.senders, dtype=np.int64)
    order = np.lexsort((senders, times))
    n = protocol.n_neurons
    return NetworkResult(
        times=frozen(times[order]),
        senders=frozen(senders[order], dtype=np.int64),
        is_excitatory=frozen(np.arange(n) < protocol.n_exc, dtype=bool),
        n_exc=protocol.n_exc,
        n_inh=protocol.n_inh,
        duration=protocol.duration,
        seed=protocol.seed,
        threads=int(threads),
        engine=engine,
        params={"a": protocol.a, "b": protocol.b, "c": protocol.c, "d": protocol.d},
        info=dict(raw.info),
    )
