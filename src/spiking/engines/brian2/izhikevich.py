"""The Izhikevich (2003) protocols on Brian2, with NEST's numerics written out as explicit code.

Implements :class:`spiking.izhikevich.protocols.IzhikevichSimulator` in
Brian2's runtime mode with the ``numpy`` code generation target (nothing is
compiled, so nothing is cached). The
``cython`` target with Brian2's default compiler flags (``-ffast-math``,
``-march=native``) lets the compiler fuse and reassociate operations: FS then
spikes 0.4 ms off NEST within 500 ms. The group has no differential equations:
its update is a ``run_regularly`` operation in the ``groups`` slot whose
abstract code is NEST's ``izhikevich::update`` split into single binary
operations (:func:`update_code`). Brian2 passes every statement through
sympy, which reorders sums and turns ``0.04*v*v`` into ``0.04*v**2``; one
operation per statement leaves it nothing to reorder, so the numpy target
computes the same IEEE doubles as NEST and :mod:`spiking.izhikevich.reference`.
Loop-invariant optimisation is switched off while the protocols run (it
would hoist and regroup constant factors) and restored afterwards.

Per time step Brian2 runs ``groups`` (the update) -> ``thresholds`` ->
``synapses`` -> ``resets``. Synaptic input takes NEST's way: a pathway adds
each spike's weight to ``w_in`` of its target, and the update of the next
step uses ``w_in`` (a jump of ``v`` before the threshold test for
``"euler"``, a current during the step for ``"paper"``) and clears it. The
pathway runs in the default ``synapses`` slot, after the threshold of the
step in which the spike was emitted, so a Brian2 delay of ``D - h`` gives
NEST's delay ``D`` (the network's 1 ms delay at 1 ms steps is a Brian2 delay
of 0). An input spike of a protocol for step ``k`` is emitted by a
``SpikeGeneratorGroup`` at ``(k - 1) h``.

Brian2 stamps a spike with the start of its step, ``k h``; NEST and the
protocols stamp the end, ``(k + 1) h``: every time handed back is shifted by
``h`` (and so are the state samples, recorded in the ``end`` slot).
"""

from __future__ import annotations

import contextlib

import numpy as np

from ...errors import ConfigError, EngineUnavailableError
from ...izhikevich.protocols import CurrentSteps, NetworkProtocol, NetworkSpikes, NeuronTrace, frozen
from .install import import_brian2

__all__ = ["simulate_current_steps", "simulate_network", "info", "update_code", "CODEGEN_TARGET"]

#: Brian2 code generation target of the protocols.
CODEGEN_TARGET = "numpy"

#: State and parameters of the group; ``w_in`` sums the weights arriving in the next step.
MODEL = """
v : 1
u : 1
a : 1 (constant)
b : 1 (constant)
c : 1 (constant)
d : 1 (constant)
I_e : 1
w_in : 1
"""


@contextlib.contextmanager
def _runtime(b2):
    """Brian2 preferences of the protocols for the duration of a run, restored afterwards."""
    if type(b2.get_device()).__name__ != "RuntimeDevice":
        raise EngineUnavailableError(
            "Brian2 is set to a standalone device; the Izhikevich protocols run in runtime mode "
            "(call brian2.device.reinit() and brian2.set_device('runtime') first)"
        )
    wanted = {"codegen.target": CODEGEN_TARGET, "codegen.loop_invariant_optimisations": False}
    saved = {k: b2.prefs[k] for k in wanted}
    try:
        for k, value in wanted.items():
            b2.prefs[k] = value
        yield
    finally:
        for k, value in saved.items():
            b2.prefs[k] = value


def _v_half_step(tag: str, current: str) -> list[str]:
    """``v <- v + hh * ((((((0.04 v) v + 5 v) + 140) - u) + I) + w_in)``, one operation per line."""
    t = [f"{tag}{k}" for k in range(1, 10)]
    return [
        f"{t[0]} = 0.04 * v",
        f"{t[1]} = {t[0]} * v",
        f"{t[2]} = 5.0 * v",
        f"{t[3]} = {t[1]} + {t[2]}",
        f"{t[4]} = {t[3]} + 140.0",
        f"{t[5]} = {t[4]} - u",
        f"{t[6]} = {t[5]} + {current}",
        f"{t[7]} = {t[6]} + w_in",
        f"{t[8]} = hh * {t[7]}",
        f"v = v + {t[8]}",
    ]


def update_code(scheme: str, current: str = "I_e") -> str:
    """Abstract code of one step of NEST's ``izhikevich`` update (see :mod:`spiking.izhikevich.reference`).

    Parameters
    ----------
    scheme : {"euler", "paper"}
        Numerics.
    current : str
        Name of the step's input current (pA).

    Returns
    -------
    str
        Brian2 abstract code, one binary operation per statement; ``h`` and
        ``hh`` (= ``h * 0.5``) are constants of the namespace (ms).
    """
    recovery = ["r1 = b * v", "r2 = r1 - u", "r3 = h * a", "r4 = r3 * r2"]
    if scheme == "euler":
        lines = [
            "e1 = 0.04 * v",
            "e2 = e1 * v",
            "e3 = 5.0 * v",
            "e4 = e2 + e3",
            "e5 = e4 + 140.0",
            "e6 = e5 - u",
            f"e7 = e6 + {current}",
            "e8 = h * e7",
            "e9 = e8 + w_in",
            *recovery,  # from the old v and u
            "v = v + e9",
            "u = u + r4",
        ]
    elif scheme == "paper":
        lines = [*_v_half_step("p", current), *_v_half_step("q", current), *recovery, "u = u + r4"]
    else:
        raise ConfigError("scheme", f"must be one of euler, paper, got {scheme!r}")
    return "\n".join([*lines, "w_in = 0.0"])


def _end_of_step(t_ms, h: float) -> np.ndarray:
    """Brian2's step start times (ms) as the protocols' end-of-step times ``(k + 1) h``, computed from ``k``."""
    return (np.round(np.asarray(t_ms, dtype=float) / h) + 1.0) * h


def _group(b2, clock, n: int, scheme: str, namespace: dict, current: str = "I_e"):
    group = b2.NeuronGroup(
        n,
        MODEL,
        threshold="v >= v_peak",
        reset="v = c\nu = u + d",
        clock=clock,
        namespace=namespace,
    )
    group.run_regularly(update_code(scheme, current), when="groups")
    return group


def _set_params(group, a, b, c, d, v0, u0) -> None:
    group.a = np.asarray(a, dtype=float)
    group.b = np.asarray(b, dtype=float)
    group.c = np.asarray(c, dtype=float)
    group.d = np.asarray(d, dtype=float)
    group.v = np.asarray(v0, dtype=float)
    group.u = np.asarray(u0, dtype=float)


def _input_spikes(b2, clock, group, protocol: CurrentSteps):
    """A generator neuron per input spike, firing one step early into ``w_in`` (module docstring)."""
    if not protocol.inputs:
        return []
    steps, targets, weights = (np.asarray(x) for x in zip(*protocol.inputs))
    gen = b2.SpikeGeneratorGroup(
        len(steps), np.arange(len(steps)), (steps - 1) * protocol.resolution * b2.ms, clock=clock
    )
    syn = b2.Synapses(gen, group, "w : 1 (constant)", on_pre="w_in_post += w", clock=clock)
    syn.connect(i=np.arange(len(steps)), j=targets.astype(int))
    syn.w = weights.astype(float)
    return [gen, syn]


def simulate_current_steps(protocol: CurrentSteps) -> list[NeuronTrace]:
    """Run a :class:`~spiking.izhikevich.protocols.CurrentSteps` protocol on Brian2.

    Returns
    -------
    list of NeuronTrace
        One per neuron, in the protocol's order.
    """
    b2 = import_brian2()
    h = protocol.resolution
    namespace = {"h": h, "hh": h * 0.5, "v_peak": protocol.v_peak}
    with _runtime(b2):
        clock = b2.Clock(dt=h * b2.ms)
        group = _group(b2, clock, protocol.n_neurons, protocol.scheme, namespace)
        a, b, c, d = zip(*protocol.params)
        v0, u0 = zip(*protocol.initial)
        _set_params(group, a, b, c, d, v0, u0)
        group.I_e = 0.0
        group.w_in = 0.0
        spikes = b2.SpikeMonitor(group)
        objects = [group, spikes, *_input_spikes(b2, clock, group, protocol)]
        if protocol.record:
            state = b2.StateMonitor(group, ["v", "u"], record=True, when="end")
            objects.append(state)
        net = b2.Network(*objects)
        for n_steps, current in protocol.segment_steps:
            if n_steps:
                group.I_e = float(current)
                net.run(n_steps * h * b2.ms, namespace={})
        trains = spikes.spike_trains()
        out = []
        for i in range(protocol.n_neurons):
            times = _end_of_step(trains[i] / b2.ms, h)
            if protocol.record:
                t = _end_of_step(state.t / b2.ms, h)
                v, u = np.asarray(state.v[i], dtype=float), np.asarray(state.u[i], dtype=float)
            else:
                t = v = u = np.empty(0)
            out.append(NeuronTrace(times=frozen(t), v=frozen(v), u=frozen(u), spike_times=frozen(np.sort(times))))
    return out


def simulate_network(protocol: NetworkProtocol, threads: int = 1) -> NetworkSpikes:
    """Run the Fig. 3 network (:class:`~spiking.izhikevich.protocols.NetworkProtocol`) on Brian2.

    The thalamic noise is a ``TimedArray`` read in the update; the synapses
    are one ``Synapses`` object with all ``n * n`` connections in
    presynaptic order, delay ``D - h`` (module docstring).

    Parameters
    ----------
    protocol : NetworkProtocol
        The drawn network and input.
    threads : int, optional
        Must be 1: Brian2's runtime mode runs on one thread.

    Returns
    -------
    NetworkSpikes

    Raises
    ------
    ConfigError
        If ``threads`` is not 1.
    """
    _one_thread(threads)
    b2 = import_brian2()
    h = protocol.resolution
    n = protocol.n_neurons
    with _runtime(b2):
        clock = b2.Clock(dt=h * b2.ms)
        thalamic = b2.TimedArray(protocol.noise, dt=h * b2.ms)
        namespace = {"h": h, "hh": h * 0.5, "v_peak": protocol.v_peak, "thalamic": thalamic}
        group = _group(b2, clock, n, protocol.scheme, namespace, current="thalamic(t, i)")
        _set_params(
            group, protocol.a, protocol.b, protocol.c, protocol.d, protocol.v_init, protocol.b * protocol.v_init
        )
        group.w_in = 0.0
        syn = b2.Synapses(
            group,
            group,
            "w : 1 (constant)",
            on_pre="w_in_post += w",
            delay=(protocol.delay - h) * b2.ms,
            clock=clock,
        )
        pre = np.repeat(np.arange(n), n)
        post = np.tile(np.arange(n), n)
        syn.connect(i=pre, j=post)
        syn.w = protocol.weights[post, pre]
        del pre, post
        spikes = b2.SpikeMonitor(group)
        net = b2.Network(group, syn, spikes)
        net.run(protocol.n_steps * h * b2.ms, namespace={})
        times = _end_of_step(spikes.t / b2.ms, h)
        senders = np.asarray(spikes.i, dtype=np.int64)
    return NetworkSpikes(times, senders, info(threads))


def _one_thread(threads: int) -> None:
    if int(threads) != 1:
        raise ConfigError("threads", f"the brian2 engine runs on one thread, got {threads}")


def info(threads: int = 1) -> dict:
    """The engine's name, Brian2's version and what the same spikes need again.

    Raises
    ------
    ConfigError
        If ``threads`` is not 1.
    """
    _one_thread(threads)
    b2 = import_brian2()
    return {
        "name": "brian2",
        "version": str(b2.__version__),
        "threads": 1,
        "device": "runtime",
        "codegen_target": CODEGEN_TARGET,
        "numpy": np.__version__,
        "same_spikes_need": "the same seed, duration, Brian2 and numpy versions and code generation target",
    }
