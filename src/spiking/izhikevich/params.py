"""The numbers of the reproductions: the paper's cell classes and the constants of every protocol.

The Fig. 2 classes, their long names and the spike cut-off are the model's
own facts and live in :mod:`spiking.model.cells`; they are re-exported here so
that the reproductions read every number from one module. The constants
below describe the experiments (step currents, the TC hold/release and RZ
pulse protocols, the Fig. 3 network's construction); the acceptance
thresholds live next to their checks (:mod:`.checks`, :mod:`.metrics`).

Units: time in ms, ``v`` in mV, currents in pA with a unit membrane
resistance (so a current adds to ``v'`` in mV/ms), ``u`` in mV/ms.
"""

from __future__ import annotations

import math

from ..model.cells import CLASS_NAMES, IZHIKEVICH_CLASSES, V_PEAK

__all__ = [
    "IZHIKEVICH_CLASSES",
    "CLASS_NAMES",
    "V_PEAK",
    "resting_state",
    "SCHEMES",
    "TYPES_DURATION",
    "TYPES_CURRENT",
    "TYPES_RESOLUTION",
    "TYPES_STEP_ONSET",
    "TC_HOLD_CURRENT",
    "TC_HOLD_MS",
    "TC_RELEASE_MS",
    "RZ_PRE_MS",
    "RZ_PULSE_CURRENT",
    "RZ_PULSE_MS",
    "RZ_OBSERVE_MS",
    "NETWORK_N_EXC",
    "NETWORK_N_INH",
    "NETWORK_DURATION",
    "NETWORK_RESOLUTION",
    "NETWORK_DELAY",
    "NETWORK_V_INIT",
    "NETWORK_W_EXC",
    "NETWORK_W_INH",
    "NETWORK_NOISE_EXC",
    "NETWORK_NOISE_INH",
]

#: Integration schemes, named after what they are; NEST's ``consistent_integration``
#: is True for ``"euler"`` and False for ``"paper"`` (see :mod:`.reference`).
SCHEMES = ("euler", "paper")

# -- Fig. 2: the classes under a current step ----------------------------------
#: Simulated time per class, ms.
TYPES_DURATION = 500.0
#: Amplitude of the step, pA (the paper's I = 10).
TYPES_CURRENT = 10.0
#: Integration step of the classes, ms (forward Euler).
TYPES_RESOLUTION = 0.1
#: Onset of the step, ms: the trace is flat at rest before it.
TYPES_STEP_ONSET = 20.0

#: TC rebound protocol: hold current (pA) for TC_HOLD_MS (ms), then I = 0 for TC_RELEASE_MS (ms).
TC_HOLD_CURRENT = -30.0
TC_HOLD_MS = 200.0
TC_RELEASE_MS = 250.0

#: RZ resonance protocol: rest for RZ_PRE_MS, a pulse of RZ_PULSE_CURRENT (pA) for RZ_PULSE_MS,
#: then I = 0 for RZ_OBSERVE_MS (all ms).
RZ_PRE_MS = 20.0
RZ_PULSE_CURRENT = 1.0
RZ_PULSE_MS = 1.0
RZ_OBSERVE_MS = 200.0

# -- Fig. 3: the network ------------------------------------------------------------
#: Excitatory (RS to CH) and inhibitory (FS to LTS) neurons.
NETWORK_N_EXC = 800
NETWORK_N_INH = 200
#: Simulated time, ms (10 s: 19 Welch segments of 1 s for the spectrum).
NETWORK_DURATION = 10000.0
#: Integration step, ms: the paper's numerics are only defined at 1 ms.
NETWORK_RESOLUTION = 1.0
#: Transmission delay of every synapse, ms (the paper's one step).
NETWORK_DELAY = 1.0
#: Initial membrane potential, mV (``u = b v``).
NETWORK_V_INIT = -65.0
#: Weight scales: from excitatory neurons ``W_EXC * U(0, 1)``, from inhibitory ones ``-W_INH * U(0, 1)`` (pA for 1 ms).
NETWORK_W_EXC = 0.5
NETWORK_W_INH = 1.0
#: Standard deviation of the thalamic input, pA, drawn afresh every 1 ms step per neuron.
NETWORK_NOISE_EXC = 5.0
NETWORK_NOISE_INH = 2.0


def resting_state(b: float, current: float = 0.0) -> tuple[float, float]:
    """Stable resting state of the model for a constant input.

    The fixed points satisfy ``u = b v`` and
    ``0.04 v^2 + (5 - b) v + 140 + I = 0``; the stable one (for the classes
    of :data:`IZHIKEVICH_CLASSES`) is the lower root.

    Parameters
    ----------
    b : float
        Sensitivity of ``u`` to ``v`` (dimensionless).
    current : float, optional
        Constant input current ``I`` in pA (default 0).

    Returns
    -------
    v_rest : float
        Resting membrane potential in mV (-70 mV for b = 0.2,
        -64.4 mV for b = 0.25, -62.5 mV for b = 0.26 at I = 0).
    u_rest : float
        Resting recovery variable ``b * v_rest`` in mV/ms.

    Raises
    ------
    ValueError
        If the input is so large that no fixed point exists (tonic firing).
    """
    disc = (5.0 - b) ** 2 - 4.0 * 0.04 * (140.0 + current)
    if disc < 0:
        raise ValueError(f"no resting state for b={b}, I={current} pA")
    v = (-(5.0 - b) - math.sqrt(disc)) / (2.0 * 0.04)
    return v, b * v
