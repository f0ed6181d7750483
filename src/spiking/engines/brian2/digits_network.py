"""Diehl & Cook's (2015) digit network declared in Brian2: equations, parameters, and the in-simulation control.

:func:`declare` creates every object on the current device from a
:class:`~spiking.learn.model.DigitsModel`, for batches of ``batch``
presentations (:mod:`.digits` compiles and runs it). Time step 0.5 ms, all
neurons integrated with forward Euler as Brian 1 did for these nonlinear
equations (``ge`` halves in each step). Conductances are dimensionless, in
units of the leak.

- Excitatory neurons: ``dv/dt = ((v_rest - v) + ge (0 mV - v) + gi (-100 mV - v)) / 100 ms``,
  spike when ``v > theta - 20 mV - 52 mV``, reset to -65 mV, 5 ms refractory
  (``v`` held), ``theta += 0.05 mV`` per spike, decaying with 1e7 ms.
- Inhibitory neurons: rest -60 mV, reset -45 mV, threshold -40 mV, 2 ms
  refractory, 10 ms, inhibitory reversal -85 mV.
- Input -> excitatory: all to all, delays uniform in 0-10 ms, STDP with a
  presynaptic trace (20 ms) and two postsynaptic ones (20 and 40 ms):
  on a presynaptic spike ``ge += w; pre = 1; w = clip(w - 0.0001 post1, 0, 1)``,
  on a postsynaptic one ``w = clip(w + 0.01 pre post2, 0, 1); post1 = post2 = 1``
  (``post2`` read before it is set: their ``post2before``). As in Brian 1,
  the postsynaptic traces are kept per neuron (they decay by their exact
  factor each step and are set to 1 in the reset, after the synapses have
  read them); the presynaptic trace is per synapse, because it starts when
  the delayed spike arrives: since it is set to 1, not incremented, it is
  ``exp(-(t - tpre) / 20 ms)`` with ``tpre`` the synapse's last arrival, so
  only that time is kept and no synapse decays a trace on every spike.
- Excitatory -> inhibitory one to one, 10.4; inhibitory -> excitatory all but
  self, 17.0.

In-simulation control, so that a batch needs no Python between digits:

- a controller (one element) counts excitatory spikes while a digit is shown;
  at the end of the 350 ms it accepts the digit (at least ``min_spikes``) or
  shows it again with the intensity raised by ``intensity_step``, at most
  ``max_presentations`` times, and it spikes when it accepts, which records
  when;
- at the start of every presentation during training each excitatory
  neuron's input weights are scaled to sum to ``w_sum`` (78); the sum is kept
  by the STDP code itself (each change of ``w`` is added to ``wsum``), so the
  normalisation costs nothing per time step;
- the Poisson inputs read the digit shown from a table (``TimedArray``) of the
  batch's digits once per presentation, into a rate per pixel; the controller
  says once per step whether a digit is shown (``on``), so a time step costs
  each pixel one comparison, and random numbers are drawn only for lit pixels
  while a digit is shown (the same draws, in the same order, as reading the
  table at every step did);
- ``plastic`` (0 or 1) switches STDP, the threshold's growth and decay and the
  normalisation off for labelling and testing, leaving ``w`` and ``theta``
  exactly as they are.
"""

from __future__ import annotations

import numpy as np

from ...learn.model import DigitsModel

__all__ = ["declare"]


def _namespace(m: DigitsModel) -> dict:
    from brian2 import ms, mV

    return {
        "SP": m.presentation_steps,
        "SON": m.on_steps,
        "min_spikes": m.min_spikes,
        "max_reps": m.max_presentations - 1,
        "start_intensity": m.start_intensity,
        "intensity_step": m.intensity_step,
        "w_sum": m.w_sum,
        "v_rest_e": m.exc_v_rest_mv * mV,
        "v_reset_e": m.exc_v_reset_mv * mV,
        "v_thresh_e": m.exc_v_thresh_mv * mV,
        "theta_offset": m.theta_offset_mv * mV,
        "tau_e": m.exc_tau_ms * ms,
        "e_exc_e": m.exc_e_exc_mv * mV,
        "e_inh_e": m.exc_e_inh_mv * mV,
        "theta_plus": m.theta_plus_mv * mV,
        "tc_theta": m.theta_tau_ms * ms,
        "v_rest_i": m.inh_v_rest_mv * mV,
        "v_reset_i": m.inh_v_reset_mv * mV,
        "v_thresh_i": m.inh_v_thresh_mv * mV,
        "tau_i": m.inh_tau_ms * ms,
        "e_exc_i": m.inh_e_exc_mv * mV,
        "e_inh_i": m.inh_e_inh_mv * mV,
        "tau_ge": m.tau_ge_ms * ms,
        "tau_gi": m.tau_gi_ms * ms,
        "w_exc_inh": m.w_exc_inh,
        "w_inh_exc": m.w_inh_exc,
        "tc_pre": m.tc_pre_ms * ms,
        "tc_post1": m.tc_post1_ms * ms,
        "tc_post2": m.tc_post2_ms * ms,
        "nu_pre": m.nu_pre,
        "nu_post": m.nu_post,
        "wmax": m.w_max,
        "decay_post1": float(np.exp(-m.dt_ms / m.tc_post1_ms)),
        "decay_post2": float(np.exp(-m.dt_ms / m.tc_post2_ms)),
    }


_CONTROL = """
k : integer
n_digits : integer
intensity : 1
reps : integer
total : integer
accepted : integer
rng_seed : integer
on : integer
"""
# at the end of a digit's 350 ms: accept it, or show it again brighter (every step costs one element)
_DECIDE = """
decide = int(timestep(t, dt) % SP == SON) * int(k < n_digits)
accepted = decide * int(total >= min_spikes or reps >= max_reps)
rejected = decide - accepted
k += accepted
intensity = intensity + rejected * intensity_step - accepted * (intensity - start_intensity)
reps = (reps + rejected) * (1 - accepted)
total = total * (1 - decide)
on = int(timestep(t, dt) % SP < SON) * int(k < n_digits)
"""
_EXC = """
dv/dt = ((v_rest_e - v) + ge * (e_exc_e - v) + gi * (e_inh_e - v)) / tau_e : volt (unless refractory)
dge/dt = -ge / tau_ge : 1
dgi/dt = -gi / tau_gi : 1
dtheta/dt = -plastic * theta / tc_theta : volt
plastic : 1 (shared)
wsum : 1
post1 : 1
post2 : 1
"""
# the postsynaptic traces decay exactly (by their factor per step); a spike sets them to 1 in the reset,
# after the synapses have read them in the same step (post2 read before it is set: their post2before)
_EXC_TRACES = """
post1 = post1 * decay_post1
post2 = post2 * decay_post2
"""
_INH = """
dv/dt = ((v_rest_i - v) + ge * (e_exc_i - v) + gi * (e_inh_i - v)) / tau_i : volt (unless refractory)
dge/dt = -ge / tau_ge : 1
dgi/dt = -gi / tau_gi : 1
"""
# the presynaptic trace is set to 1 when a spike arrives, so it is exp(-(t - tpre) / tc_pre): only the
# arrival time is kept per synapse
_STDP = """
w : 1
tpre : second
"""
# plastic is 0 or 1: the frozen network keeps w exactly (no clip), the learning one clips to [0, wmax]
_ON_PRE = """
ge_post += w
tpre = t
w_new = plastic_post * clip(w - nu_pre * post1_post, 0, wmax) + (1 - plastic_post) * w
wsum_post += w_new - w
w = w_new
"""
_ON_POST = """
w_new = plastic_post * clip(w + nu_post * exp((tpre - t) / tc_pre) * post2_post, 0, wmax) + (1 - plastic_post) * w
wsum_post += w_new - w
w = w_new
"""


def declare(model: DigitsModel, neurons: int, batch: int) -> dict:
    """Every Brian2 object of the network, by name, on the current device.

    Parameters
    ----------
    model : DigitsModel
    neurons : int
        Excitatory neurons (and as many inhibitory ones).
    batch : int
        Presentations per run; the digit table has as many rows.

    Returns
    -------
    dict of str to object
        The groups ``ctl``, ``inp``, ``exc``, ``inh``, the synapses ``xe``,
        ``ei``, ``ie``, ``ec``, the ``images`` table and the monitors
        ``exc_spikes`` and ``accepted``.
    """
    from brian2 import Hz, NeuronGroup, SpikeMonitor, TimedArray, linked_var, ms

    dt = model.dt_ms * ms
    ns = _namespace(model)
    images = TimedArray(np.zeros((batch, model.n_input)) * Hz, dt=1 * ms, name="images")
    ns["images"] = images
    ctl = NeuronGroup(1, _CONTROL, threshold="accepted > 0", reset="", dt=dt, namespace=ns, name="ctl")
    ctl.run_regularly(_DECIDE, when="start", name="ctl_decide")
    inp = NeuronGroup(
        model.n_input,
        "rate : Hz\nk : integer (linked)\nintensity : 1 (linked)\non : integer (linked)",
        # short-circuit: random numbers are drawn only for pixels that are lit while a digit is shown
        threshold="on > 0 and rate > 0 * Hz and rand() < rate * dt",
        dt=dt,
        namespace=ns,
        name="inp",
    )
    for var in ("k", "intensity", "on"):
        setattr(inp, var, linked_var(ctl, var))
    # at each presentation's start, after the controller has chosen the digit and its intensity
    inp.run_regularly(
        "rate = images(k * ms, i) * intensity",
        dt=model.presentation_steps * dt,
        when="start",
        order=1,
        name="inp_rate",
    )
    exc = NeuronGroup(
        neurons,
        _EXC,
        threshold="v > theta - theta_offset + v_thresh_e",
        reset="v = v_reset_e\ntheta += plastic * theta_plus\npost1 = 1\npost2 = 1",
        refractory=model.exc_refractory_ms * ms,
        method="euler",
        dt=dt,
        namespace=ns,
        name="exc",
    )
    exc.run_regularly(_EXC_TRACES, when="groups", order=1, name="exc_traces")
    inh = NeuronGroup(
        neurons,
        _INH,
        threshold="v > v_thresh_i",
        reset="v = v_reset_i",
        refractory=model.inh_refractory_ms * ms,
        method="euler",
        dt=dt,
        namespace=ns,
        name="inh",
    )
    synapses = _synapses(model, ns, inp, exc, inh, ctl)
    objects = {o.name: o for o in (images, ctl, inp, exc, inh, *synapses)}
    objects["exc_spikes"] = SpikeMonitor(exc, name="exc_spikes")
    objects["accepted"] = SpikeMonitor(ctl, name="accepted")
    return objects


def _synapses(model: DigitsModel, ns: dict, inp, exc, inh, ctl) -> tuple:
    """Input -> excitatory (STDP, normalised), excitatory <-> inhibitory, and the spike count for the controller."""
    from brian2 import Synapses, ms

    dt = model.dt_ms * ms
    xe = Synapses(inp, exc, _STDP, on_pre=_ON_PRE, on_post=_ON_POST, dt=dt, namespace=ns, name="xe")
    xe.connect()
    xe.delay = "rand() * 10 * ms"  # makes the delays per synapse; their values come from the state
    every_presentation = model.presentation_steps * dt
    xe.run_regularly(
        "w = w * (1 + plastic_post * (w_sum / wsum_post - 1))",
        dt=every_presentation,
        when="start",
        order=1,
        name="xe_norm",
    )
    exc.run_regularly(
        "wsum = wsum + plastic * (w_sum - wsum)", dt=every_presentation, when="start", order=2, name="exc_norm"
    )
    ei = Synapses(exc, inh, on_pre="ge_post += w_exc_inh", dt=dt, namespace=ns, name="ei")
    ei.connect(j="i")
    ie = Synapses(inh, exc, on_pre="gi_post += w_inh_exc", dt=dt, namespace=ns, name="ie")
    ie.connect(condition="i != j")
    ec = Synapses(exc, ctl, on_pre="total_post += int(timestep(t, dt) % SP < SON)", dt=dt, namespace=ns, name="ec")
    ec.connect()
    return xe, ei, ie, ec
