"""The Izhikevich (2003) protocols on NEST's ``izhikevich`` model: every ``nest`` call of the reproductions.

Implements :class:`spiking.izhikevich.protocols.IzhikevichSimulator`. The
schemes map onto NEST's ``consistent_integration`` switch (``"euler"``: True,
``"paper"``: False), whose update NEST computes in ``izhikevich::update``
exactly as :mod:`spiking.izhikevich.reference` writes it. How each input of a
protocol reaches step ``k`` (covering ``(k h, (k + 1) h]``):

* a protocol segment's current: the neurons' ``I_e``, changed between
  ``nest.Simulate`` calls; it acts from the first step of the segment;
* an input spike of weight ``w`` in step ``k``: a ``spike_generator`` spike
  at ``k h`` sent with a delay of one step (NEST sends a spike stamped
  ``t`` in the step ending at ``t``, and a delay of ``h`` lands it in the
  next), so ``w`` is in the ``spikes`` buffer NEST adds in step ``k``;
* the network's thalamic noise of step ``k``: a ``step_current_generator``
  per neuron changing its amplitude at ``(k - 1) h``, sent with a delay of
  one step: NEST latches a ``CurrentEvent`` received in step ``k - 1`` as the
  ``I`` of step ``k``. Steps 0 and 1 cannot be reached that way, so their
  noise goes in through ``I_e`` for one step each.

Every function calls ``nest.ResetKernel()`` first.
"""

from __future__ import annotations

import numpy as np

from ...izhikevich.protocols import CurrentSteps, NetworkProtocol, NetworkSpikes, NeuronTrace, frozen
from .install import import_nest

__all__ = ["simulate_current_steps", "simulate_network", "info"]

#: Protocol schemes -> NEST's ``consistent_integration``.
CONSISTENT_INTEGRATION = {"euler": True, "paper": False}


def _kernel(resolution: float, threads: int = 1):
    nest = import_nest()
    nest.ResetKernel()
    nest.set(resolution=float(resolution), local_num_threads=int(threads), print_time=False)
    return nest


def _neurons(nest, params, initial, v_peak: float, scheme: str):
    a, b, c, d = (np.asarray(x, dtype=float) for x in zip(*params))
    v0, u0 = (np.asarray(x, dtype=float) for x in zip(*initial))
    return nest.Create(
        "izhikevich",
        len(a),
        params={
            "a": a.tolist(),
            "b": b.tolist(),
            "c": c.tolist(),
            "d": d.tolist(),
            "V_m": v0.tolist(),
            "U_m": u0.tolist(),
            "V_th": float(v_peak),
            "I_e": 0.0,
            "consistent_integration": CONSISTENT_INTEGRATION[scheme],
        },
    )


def _input_spikes(nest, neurons, protocol: CurrentSteps) -> None:
    """One ``spike_generator`` per neuron that receives input spikes (module docstring)."""
    h = protocol.resolution
    by_neuron: dict[int, list[tuple[int, float]]] = {}
    for step, neuron, w in sorted(protocol.inputs):
        by_neuron.setdefault(neuron, []).append((step, w))
    for neuron, events in by_neuron.items():
        gen = nest.Create(
            "spike_generator",
            params={"spike_times": [round(k * h, 9) for k, _ in events], "spike_weights": [w for _, w in events]},
        )
        nest.Connect(gen, neurons[neuron], syn_spec={"weight": 1.0, "delay": h})


def simulate_current_steps(protocol: CurrentSteps) -> list[NeuronTrace]:
    """Run a :class:`~spiking.izhikevich.protocols.CurrentSteps` protocol on NEST.

    Returns
    -------
    list of NeuronTrace
        One per neuron, in the protocol's order.
    """
    h = protocol.resolution
    nest = _kernel(h)
    neurons = _neurons(nest, protocol.params, protocol.initial, protocol.v_peak, protocol.scheme)
    _input_spikes(nest, neurons, protocol)
    recorder = nest.Create("spike_recorder")
    nest.Connect(neurons, recorder)
    if protocol.record:
        meter = nest.Create("multimeter", params={"record_from": ["V_m", "U_m"], "interval": h})
        nest.Connect(meter, neurons)
    for n_steps, current in protocol.segment_steps:
        if n_steps:
            neurons.I_e = float(current)
            nest.Simulate(round(n_steps * h, 9))
    if protocol.record:
        # A multimeter hands over the samples of a min-delay slice only at the
        # start of the next, so run one more slice and cut it off below.
        nest.Simulate(float(nest.min_delay))
    total = protocol.duration
    eps = 0.25 * h
    first = neurons[0].global_id
    ev = recorder.events
    senders = np.asarray(ev["senders"], dtype=np.int64) - first
    times = np.asarray(ev["times"], dtype=float)
    if protocol.record:
        mv = meter.events
        m_senders = np.asarray(mv["senders"], dtype=np.int64) - first
        m_times = np.asarray(mv["times"], dtype=float)
    out = []
    for i in range(protocol.n_neurons):
        mine = times[(senders == i) & (times <= total + eps)]
        state = {"times": np.empty(0), "v": np.empty(0), "u": np.empty(0)}
        if protocol.record:
            keep = (m_senders == i) & (m_times <= total + eps)
            order = np.argsort(m_times[keep], kind="stable")
            state = {
                "times": m_times[keep][order],
                "v": np.asarray(mv["V_m"], dtype=float)[keep][order],
                "u": np.asarray(mv["U_m"], dtype=float)[keep][order],
            }
        out.append(
            NeuronTrace(
                times=frozen(state["times"]),
                v=frozen(state["v"]),
                u=frozen(state["u"]),
                spike_times=frozen(np.sort(mine)),
            )
        )
    return out


def _thalamic_input(nest, pop, protocol: NetworkProtocol) -> None:
    """Step-current generators carrying the noise of steps 2, 3, ... (module docstring)."""
    h = protocol.resolution
    n_steps = protocol.n_steps
    if n_steps <= 2:
        return
    gens = nest.Create("step_current_generator", protocol.n_neurons)
    times = ((np.arange(2, n_steps) - 1) * h).tolist()
    noise = protocol.noise
    # lists go over to NEST faster than numpy arrays (1.1 s against 1.4 s for 1000 x 10 000
    # values); a hundred generators at a time keep the Python floats in memory few
    for start in range(0, protocol.n_neurons, 100):
        batch = range(start, min(start + 100, protocol.n_neurons))
        gens[batch.start : batch.stop].set(
            [{"amplitude_times": times, "amplitude_values": noise[2:, i].tolist()} for i in batch]
        )
    nest.Connect(gens, pop, "one_to_one", syn_spec={"weight": 1.0, "delay": h})


def simulate_network(protocol: NetworkProtocol, threads: int = 1) -> NetworkSpikes:
    """Run the Fig. 3 network (:class:`~spiking.izhikevich.protocols.NetworkProtocol`) on NEST.

    Parameters
    ----------
    protocol : NetworkProtocol
        The drawn network and input.
    threads : int, optional
        NEST threads: the order in which a step's inputs are summed, and so
        the round-off, may depend on it.

    Returns
    -------
    NetworkSpikes
    """
    h = protocol.resolution
    nest = _kernel(h, threads)
    n = protocol.n_neurons
    params = list(zip(protocol.a, protocol.b, protocol.c, protocol.d))
    initial = [(protocol.v_init, b * protocol.v_init) for b in protocol.b]
    pop = _neurons(nest, params, initial, protocol.v_peak, protocol.scheme)
    w, n_exc = protocol.weights, protocol.n_exc
    if protocol.n_exc:
        nest.Connect(pop[:n_exc], pop, "all_to_all", syn_spec={"weight": w[:, :n_exc], "delay": protocol.delay})
    if protocol.n_inh:
        nest.Connect(pop[n_exc:], pop, "all_to_all", syn_spec={"weight": w[:, n_exc:], "delay": protocol.delay})
    _thalamic_input(nest, pop, protocol)
    recorder = nest.Create("spike_recorder")
    nest.Connect(pop, recorder)
    for k in range(min(2, protocol.n_steps)):
        pop.I_e = protocol.noise[k].tolist()
        nest.Simulate(h)
    pop.I_e = 0.0
    if protocol.n_steps > 2:
        nest.Simulate(round((protocol.n_steps - 2) * h, 9))
    ev = recorder.events
    senders = np.asarray(ev["senders"], dtype=np.int64) - pop[0].global_id
    assert senders.size == 0 or (senders.min() >= 0 and senders.max() < n)
    return NetworkSpikes(np.asarray(ev["times"], dtype=float), senders, info(threads))


def info(threads: int = 1) -> dict:
    """The engine's name, NEST's version and what the same spikes need again."""
    nest = import_nest()
    return {
        "name": "nest",
        "version": str(nest.build_info.get("version", "")),
        "threads": int(threads),
        "model": "izhikevich",
        "same_spikes_need": "the same seed, duration, NEST version and threads",
    }
