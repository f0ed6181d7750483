"""Spike-timing-dependent plasticity in the model's own words, and a reference implementation on spike pairs (pure Python).

The rule is NEST's ``stdp_synapse`` (Guetig et al. 2003; all-to-all pairing
through traces), written with the model's names. A synapse of weight ``w``
(mV) between a presynaptic spike train and a postsynaptic one, with delay
``d`` (ms), keeps two traces:

* ``K+``, the presynaptic trace: +1 at each presynaptic spike, decaying with
  ``tau_plus``;
* ``K-``, the postsynaptic trace: +1 at each postsynaptic spike, decaying with
  ``tau_minus``.

The whole delay is dendritic, as in NEST: a presynaptic spike stamped ``t_pre``
meets the postsynaptic spikes at ``t_post + d``, so the lag of a pair is
``dt = t_post + d - t_pre``. With ``x = w / w_max`` (in [0, 1]):

* each postsynaptic spike potentiates, with the presynaptic trace at
  ``t_post + d`` (every earlier presynaptic spike, ``dt > 0``)::

      x <- min(1, x + a_plus * (1 - x)^mu * K+)

* each presynaptic spike depresses, with the postsynaptic trace at
  ``t_pre - d`` (every postsynaptic spike with ``dt < 0``)::

      x <- max(0, x - a_minus * x^mu * K-)

``mu = 0`` (``"additive"``: steps independent of the weight, hard bounds) or
``mu = 1`` (``"multiplicative"``: soft bounds). Pairs with ``dt = 0`` change
nothing. Like NEST, the updates are applied when a presynaptic spike is
delivered: the potentiations by the postsynaptic spikes since the previous
presynaptic spike, in time order, then the depression; the weight the spike
carries is the one after both. So the weight *at a time t* is the weight after
every presynaptic spike stamped up to ``t``.

Times are NEST's: a spike of step ``n`` (``1, 2, ...``) is stamped at the end of
the step, ``n h`` ms, computed as NEST computes it (``0.001 * (n * tics per
step)``, tics of 1 us); every engine and :func:`stdp_reference` use the same
doubles, so the weights agree to the last bit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .timegrid import n_steps

__all__ = ["DEPENDENCES", "STDPRule", "stamp_ms", "delay_ms", "stdp_reference", "weights_at"]

#: Weight dependences of the rule (``stdp.dependence``): the exponent ``mu`` of each.
DEPENDENCES = {"additive": 0.0, "multiplicative": 1.0}
#: NEST's tics per ms (the default of its ``Time`` class).
TICS_PER_MS = 1000.0


@dataclass(frozen=True)
class STDPRule:
    """The STDP rule of one projection.

    Attributes
    ----------
    tau_plus : float
        ms; time constant of the presynaptic trace (potentiation window).
    tau_minus : float
        ms; time constant of the postsynaptic trace (depression window).
    a_plus : float
        Potentiation step at zero lag, as a fraction of ``w_max`` (NEST's ``lambda``).
    a_minus : float
        Depression step at zero lag, as a fraction of ``w_max`` (NEST's ``alpha * lambda``).
    w_max : float
        mV; the bound of the weight, with the sign of the projection's weight
        (the weight stays between 0 and ``w_max``).
    dependence : {"additive", "multiplicative"}
    start : float
        ms; presynaptic spikes stamped up to ``start`` change no weight (the
        rule runs with ``a_plus = 0`` until then, as NEST does when its
        ``lambda`` is set at ``start``); 0: learning from the first spike.
    """

    tau_plus: float = 20.0
    tau_minus: float = 20.0
    a_plus: float = 0.01
    a_minus: float = 0.0105
    w_max: float = 2.0
    dependence: str = "additive"
    start: float = 0.0

    @property
    def mu(self) -> float:
        """The weight-dependence exponent (NEST's ``mu_plus`` and ``mu_minus``)."""
        return DEPENDENCES[self.dependence]

    @property
    def alpha(self) -> float:
        """NEST's asymmetry ``alpha = a_minus / a_plus``."""
        return self.a_minus / self.a_plus

    def facilitate(self, w: float, k_plus: float, learning: bool = True) -> float:
        """The weight (mV) after potentiation with presynaptic trace ``k_plus`` (NEST's ``facilitate_``).

        ``learning=False`` is the rule before :attr:`start` (NEST's ``lambda``
        0): the weight only goes through NEST's arithmetic.
        """
        lam = self.a_plus if learning else 0.0
        norm_w = (w / self.w_max) + (lam * math.pow(1.0 - (w / self.w_max), self.mu) * k_plus)
        return norm_w * self.w_max if norm_w < 1.0 else self.w_max

    def depress(self, w: float, k_minus: float, learning: bool = True) -> float:
        """The weight (mV) after depression with postsynaptic trace ``k_minus`` (NEST's ``depress_``)."""
        lam = self.a_plus if learning else 0.0
        norm_w = (w / self.w_max) - (self.alpha * lam * math.pow(w / self.w_max, self.mu) * k_minus)
        return norm_w * self.w_max if norm_w > 0.0 else 0.0


def _tics_per_step(resolution: float) -> int:
    return int(round(resolution * TICS_PER_MS))


def stamp_ms(step: int, resolution: float) -> float:
    """The time stamp (ms) of a spike in step ``step``, the double NEST computes."""
    return (1.0 / TICS_PER_MS) * float(int(step) * _tics_per_step(resolution))


def delay_ms(steps: int, resolution: float) -> float:
    """A delay of ``steps`` steps in ms, the double NEST computes."""
    return float(int(steps)) * (_tics_per_step(resolution) / TICS_PER_MS)


def stdp_reference(
    pre: np.ndarray, post: np.ndarray, w0: float, rule: STDPRule, delay_steps: int, resolution: float
) -> tuple[np.ndarray, np.ndarray]:
    """One synapse under the rule: its weight after each presynaptic spike.

    A plain event loop (for tests and small checks, not for networks).

    Parameters
    ----------
    pre, post : array of int
        Steps of the presynaptic and postsynaptic spikes (stamps ``n h`` ms);
        a step may repeat (two spikes in one step are two events).
    w0 : float
        Initial weight, mV.
    rule : STDPRule
    delay_steps : int
        The synapse's delay in steps (all of it dendritic).
    resolution : float
        ms.

    Returns
    -------
    steps : ndarray of int64, shape (n_pre,)
        The presynaptic spikes' steps, sorted.
    weights : ndarray of float64, shape (n_pre,)
        mV, the weight each carries (after its update).
    """
    D = int(delay_steps)
    d = delay_ms(D, resolution)
    inv_tau_minus = 1.0 / rule.tau_minus
    # postsynaptic spikes reach the synapse at n_post + D; on a tie they come before the presynaptic spike
    events = sorted([(int(n) + D, 0, int(n)) for n in post] + [(int(n), 1, int(n)) for n in pre])
    history: list[tuple[int, float, float]] = []  # (step, stamp ms, K- just after it)
    k_minus, last_post = 0.0, -1.0
    k_plus, t_last, n_last = 0.0, 0.0, 0
    w = float(w0)
    out_steps, out_w = [], []
    first = 0  # first history entry not yet applied
    start_step = n_steps(rule.start, resolution)
    for _, kind, n in events:
        t = stamp_ms(n, resolution)
        if kind == 0:
            k_minus = k_minus * math.exp((last_post - t) * inv_tau_minus) + 1.0
            last_post = t
            history.append((n, t, k_minus))
            continue
        learning = n > start_step
        while first < len(history) and history[first][0] <= n - D:
            if history[first][0] > n_last - D:
                minus_dt = t_last - (history[first][1] + d)
                w = rule.facilitate(w, k_plus * math.exp(minus_dt / rule.tau_plus), learning)
            first += 1
        k = 0.0
        for n_post, t_post, k_post in reversed(history):
            if n_post < n - D:
                k = k_post * math.exp((t_post - (t - d)) * inv_tau_minus)
                break
        w = rule.depress(w, k, learning)
        out_steps.append(n)
        out_w.append(w)
        k_plus = k_plus * math.exp((t_last - t) / rule.tau_plus) + 1.0
        t_last, n_last = t, n
    return np.asarray(out_steps, dtype=np.int64), np.asarray(out_w, dtype=np.float64)


def weights_at(steps: np.ndarray, weights: np.ndarray, w0: float, at_steps: np.ndarray) -> np.ndarray:
    """The weight at given steps: after every presynaptic spike stamped up to each (``w0`` before the first).

    Parameters
    ----------
    steps, weights : ndarray, shape (n,)
        What :func:`stdp_reference` returns.
    w0 : float
        mV.
    at_steps : array of int, shape (k,)

    Returns
    -------
    ndarray of float64, shape (k,)
    """
    idx = np.searchsorted(np.asarray(steps), np.asarray(at_steps), side="right") - 1
    w = np.concatenate([[float(w0)], np.asarray(weights, dtype=np.float64)])
    return w[idx + 1]
