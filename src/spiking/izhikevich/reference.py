"""The model's numerics in plain Python and numpy: what every engine must reproduce, step for step.

Model (Izhikevich 2003)::

    v' = 0.04 v^2 + 5 v + 140 - u + I        (v in mV, t in ms, I in pA)
    u' = a (b v - u)
    if v >= v_peak (30 mV):  v <- c,  u <- u + d

Two schemes, those of NEST's ``izhikevich`` (``consistent_integration``
True and False, read from ``models/izhikevich.cpp``), with step ``h``, input
current ``I`` and the summed weight ``w`` of the spikes arriving in the step:

* ``"euler"`` (NEST's default; the Fig. 2 classes at 0.1 ms)::

      v_new = v + (h * (0.04 v v + 5 v + 140 - u + I) + w)
      u_new = u + (h a) (b v - u)            # the old v and u

  ``w`` is a jump of ``v`` in mV, added before the threshold test.

* ``"paper"`` (the paper's MATLAB code; the Fig. 3 network at 1 ms)::

      v <- v + (h / 2) (0.04 v v + 5 v + 140 - u + I + w)     # twice
      u <- u + (h a) (b v - u)                                # the new v

  ``w`` counts as current during both half-steps: at ``h = 1`` ms exactly
  the paper's ``I = I + sum(S(:, fired), 2)``.

After either update the threshold is tested and the reset applied; the spike
is stamped at the end of the step. The operations are written in the order
NEST's C++ evaluates them (left to right), so IEEE doubles give the same bits.
"""

from __future__ import annotations

import math

import numpy as np

from . import params as P
from .protocols import CurrentSteps, NetworkProtocol, NeuronTrace, frozen

__all__ = [
    "linear_oscillation_frequency",
    "integrate",
    "numpy_reference",
    "reference_steps",
    "reference_network",
]


def linear_oscillation_frequency(a: float, b: float) -> float:
    """Frequency of damped subthreshold oscillations predicted at rest.

    Linearising around the resting state gives the Jacobian
    ``[[0.08 v_r + 5, -1], [a b, -a]]``; with complex eigenvalues
    ``-tr/2 +- i omega`` the oscillation frequency is ``omega / 2 pi``.

    Parameters
    ----------
    a, b : float
        Model parameters (1/ms, dimensionless).

    Returns
    -------
    float
        Frequency in Hz, or ``nan`` if the eigenvalues are real (no
        oscillation: an integrator such as RS).
    """
    v_r, _ = P.resting_state(b)
    j11 = 0.08 * v_r + 5.0
    tr = j11 - a
    det = -j11 * a + a * b
    w2 = det - tr * tr / 4.0
    if w2 <= 0:
        return float("nan")
    return math.sqrt(w2) / (2.0 * math.pi) * 1000.0


def integrate(
    a: float,
    b: float,
    c: float,
    d: float,
    currents: np.ndarray,
    h: float,
    v0: float,
    u0: float,
    scheme: str = "euler",
    jumps: np.ndarray | None = None,
    v_peak: float = P.V_PEAK,
) -> NeuronTrace:
    """Integrate one neuron step by step in a plain Python loop over IEEE doubles.

    The loop is independent of numpy's vectorised kernels on purpose.

    Parameters
    ----------
    a, b, c, d : float
        Model parameters (1/ms, -, mV, mV/ms).
    currents : numpy.ndarray
        Input current of each step, pA, shape ``(n_steps,)``.
    h : float
        Time step, ms.
    v0, u0 : float
        Initial state (mV, mV/ms).
    scheme : {"euler", "paper"}
        Numerics (module docstring).
    jumps : numpy.ndarray, optional
        Summed input weight of each step, shape ``(n_steps,)`` (default none).
    v_peak : float, optional
        Spike cut-off, mV.

    Returns
    -------
    NeuronTrace
        State after every step and the spike times (ms).
    """
    n_steps = len(currents)
    ws = [0.0] * n_steps if jumps is None else [float(x) for x in jumps]
    v, u, h, a, b = float(v0), float(u0), float(h), float(a), float(b)
    vs = np.empty(n_steps)
    us = np.empty(n_steps)
    spikes = []
    euler = scheme == "euler"
    for k in range(n_steps):
        i_in = float(currents[k])
        w = ws[k]
        if euler:
            v_old = v
            u_old = u
            v = v + (h * (0.04 * v_old * v_old + 5.0 * v_old + 140.0 - u_old + i_in) + w)
            u = u + h * a * (b * v_old - u_old)
        else:
            v = v + h * 0.5 * (0.04 * v * v + 5.0 * v + 140.0 - u + i_in + w)
            v = v + h * 0.5 * (0.04 * v * v + 5.0 * v + 140.0 - u + i_in + w)
            u = u + h * a * (b * v - u)
        if v >= v_peak:
            v = float(c)
            u = u + d
            spikes.append((k + 1) * h)
        vs[k] = v
        us[k] = u
    times = (np.arange(n_steps) + 1) * h
    return NeuronTrace(times=frozen(times), v=frozen(vs), u=frozen(us), spike_times=frozen(spikes))


def numpy_reference(
    a: float,
    b: float,
    c: float,
    d: float,
    current: float = P.TYPES_CURRENT,
    duration: float = P.TYPES_DURATION,
    dt: float = P.TYPES_RESOLUTION,
    step_onset: float = 0.0,
    v0: float | None = None,
    u0: float | None = None,
    scheme: str = "euler",
    v_peak: float = P.V_PEAK,
) -> NeuronTrace:
    """One neuron under a current step, integrated by :func:`integrate`.

    The input is 0 for steps starting before ``step_onset`` and ``current``
    afterwards, like :func:`~spiking.izhikevich.protocols.types_protocol`.

    Parameters
    ----------
    a, b, c, d : float
        Model parameters (1/ms, -, mV, mV/ms).
    current : float, optional
        Step amplitude in pA.
    duration : float, optional
        Simulated time in ms.
    dt : float, optional
        Time step in ms.
    step_onset : float, optional
        Onset of the step in ms.
    v0, u0 : float, optional
        Initial state; default the resting state at I = 0.
    scheme : {"euler", "paper"}, optional
        Numerics.
    v_peak : float, optional
        Spike cut-off in mV.

    Returns
    -------
    NeuronTrace
    """
    if v0 is None or u0 is None:
        rv, ru = P.resting_state(b)
        v0 = rv if v0 is None else v0
        u0 = ru if u0 is None else u0
    n_steps = int(round(duration / dt))
    onset_step = int(round(step_onset / dt))
    currents = np.where(np.arange(n_steps) >= onset_step, float(current), 0.0)
    return integrate(a, b, c, d, currents, dt, v0, u0, scheme, v_peak=v_peak)


def reference_steps(protocol: CurrentSteps) -> list[NeuronTrace]:
    """Every neuron of a :class:`~spiking.izhikevich.protocols.CurrentSteps` protocol, by :func:`integrate`."""
    currents = protocol.current_per_step()
    jumps = protocol.jumps()
    return [
        integrate(*p, currents, protocol.resolution, v0, u0, protocol.scheme, jumps[:, i], protocol.v_peak)
        for i, (p, (v0, u0)) in enumerate(zip(protocol.params, protocol.initial))
    ]


def reference_network(protocol: NetworkProtocol, n_steps: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The Fig. 3 network in vectorised numpy, for the first ``n_steps`` steps.

    Same operation order per neuron as the paper scheme of NEST's
    ``izhikevich`` (module docstring). The synaptic input of a step is
    ``weights[:, fired].sum(axis=1)``: the same terms as in any engine, summed
    in numpy's order, so the spikes agree with an engine's until round-off
    differences, amplified by the network's chaos, first move a spike.

    Returns
    -------
    times : numpy.ndarray
        Spike times in ms, sorted by time then neuron.
    senders : numpy.ndarray
        Neuron index of each spike.
    """
    n_steps = protocol.n_steps if n_steps is None else min(int(n_steps), protocol.n_steps)
    h = protocol.resolution
    delay = protocol.delay_steps
    v = np.full(protocol.n_neurons, protocol.v_init)
    u = protocol.b * protocol.v_init
    a, b = protocol.a, protocol.b
    pending = [np.zeros(protocol.n_neurons) for _ in range(delay)]
    times, senders = [], []
    for k in range(n_steps):
        i_in = protocol.noise[k]
        w = pending.pop(0)
        v = v + h * 0.5 * (0.04 * v * v + 5.0 * v + 140.0 - u + i_in + w)
        v = v + h * 0.5 * (0.04 * v * v + 5.0 * v + 140.0 - u + i_in + w)
        u = u + h * a * (b * v - u)
        fired = np.flatnonzero(v >= protocol.v_peak)
        v[fired] = protocol.c[fired]
        u[fired] = u[fired] + protocol.d[fired]
        pending.append(protocol.weights[:, fired].sum(axis=1))
        times.append(np.full(fired.size, (k + 1) * h))
        senders.append(fired)
    return np.concatenate(times), np.concatenate(senders).astype(np.int64)
