"""Neuron types in the model's own words: Izhikevich's (2003) cell classes, simulator-neutral.

Parameters carry the model's names and units, as PyNN's standard cell types do;
each engine translates them into its simulator's names in one table of its own
(:mod:`spiking.engines.nest.engine`, :mod:`spiking.engines.brian2.engine`).

The Izhikevich model::

    v' = 0.04 v^2 + 5 v + 140 - u + I        (v in mV, t in ms)
    u' = a (b v - u)
    if v >= v_peak:  v <- c,  u <- u + d

``I`` (``i_offset``) is a current with a unit membrane resistance, so it adds
to ``v'`` in mV/ms. A synaptic spike of weight ``w`` makes ``v`` jump by ``w``
mV in the step it arrives.

This module is a leaf: it imports nothing from the package, so the config can
take its defaults from here.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

__all__ = ["IZHIKEVICH_CLASSES", "CLASS_NAMES", "V_PEAK", "V_INIT", "IzhikevichParams", "izhikevich_class"]

#: Spike cut-off, mV: ``v >= V_PEAK`` is a spike.
V_PEAK = 30.0
#: Initial membrane potential, mV (the reset of the regular-spiking class).
V_INIT = -65.0

#: Fig. 2 cell classes of Izhikevich (2003): name -> (a, b, c, d).
#: ``a`` in 1/ms, ``b`` dimensionless (u per mV), ``c`` in mV, ``d`` in mV/ms.
IZHIKEVICH_CLASSES: OrderedDict[str, tuple[float, float, float, float]] = OrderedDict(
    [
        ("RS", (0.02, 0.2, -65.0, 8.0)),  # regular spiking: the V1 excitatory layers
        ("IB", (0.02, 0.2, -55.0, 4.0)),  # intrinsically bursting
        ("CH", (0.02, 0.2, -50.0, 2.0)),  # chattering
        ("FS", (0.1, 0.2, -65.0, 2.0)),  # fast spiking: the V1 inhibitory layers
        ("LTS", (0.02, 0.25, -65.0, 2.0)),  # low-threshold spiking
        ("TC", (0.02, 0.25, -65.0, 0.05)),  # thalamo-cortical
        ("RZ", (0.1, 0.26, -65.0, 2.0)),  # resonator
    ]
)

#: Long names of the classes.
CLASS_NAMES = {
    "RS": "regular spiking",
    "IB": "intrinsically bursting",
    "CH": "chattering",
    "FS": "fast spiking",
    "LTS": "low-threshold spiking",
    "TC": "thalamo-cortical",
    "RZ": "resonator",
}


@dataclass(frozen=True)
class IzhikevichParams:
    """One Izhikevich neuron's parameters, in the model's names and units.

    Attributes
    ----------
    a : float
        Time scale of the recovery variable ``u``, 1/ms.
    b : float
        Sensitivity of ``u`` to ``v``.
    c : float
        Reset of ``v`` after a spike, mV.
    d : float
        Increment of ``u`` after a spike, mV/ms.
    v_peak : float
        Spike cut-off, mV.
    v_init, u_init : float
        Initial ``v`` (mV) and ``u`` (mV/ms).
    i_offset : float
        Constant input current (unit membrane resistance), mV/ms.
    """

    a: float
    b: float
    c: float
    d: float
    v_peak: float = V_PEAK
    v_init: float = V_INIT
    u_init: float = 0.2 * V_INIT
    i_offset: float = 0.0


def izhikevich_class(name: str, **overrides) -> IzhikevichParams:
    """The parameters of a Fig. 2 class (``RS``, ``FS``, ...), ``u_init = b * v_init``."""
    a, b, c, d = IZHIKEVICH_CLASSES[name]
    v0 = overrides.get("v_init", V_INIT)
    base = dict(a=a, b=b, c=c, d=d, v_peak=V_PEAK, v_init=v0, u_init=b * v0, i_offset=0.0)
    base.update(overrides)
    return IzhikevichParams(**base)
