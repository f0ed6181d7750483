"""The model's names in NEST's words, without importing NEST: layer kinds, neuron and STDP parameters.

Used by the NEST engine to build the network, and by the SONATA export, whose
point-neuron files name NEST's models (``model_template "nest:izhikevich"``,
``dynamics_params`` in NEST's parameter names).
"""

from __future__ import annotations

from ...model.cells import IzhikevichParams
from ...model.plasticity import STDPRule

__all__ = [
    "NEST_MODELS",
    "IZHIKEVICH_NAMES",
    "STDP_MODEL",
    "izhikevich_params",
    "stdp_params",
    "SONATA_STATIC_SYNAPSE",
    "SONATA_PLASTIC_SYNAPSE",
    "sonata_node_template",
    "sonata_neuron_params",
    "sonata_synapse_params",
]

#: The model's layer kinds -> NEST models.
NEST_MODELS = {
    "poisson": "poisson_generator",
    "relay": "parrot_neuron",
    "trains": "spike_train_injector",
    "izhikevich": "izhikevich",
}
#: The model's Izhikevich parameter names -> NEST's ``izhikevich`` names.
IZHIKEVICH_NAMES = {
    "a": "a",
    "b": "b",
    "c": "c",
    "d": "d",
    "v_peak": "V_th",
    "v_init": "V_m",
    "u_init": "U_m",
    "i_offset": "I_e",
}


#: NEST synapse model of the plastic projection with index ``k``: ``STDP_MODEL.format(k)``.
STDP_MODEL = "spiking_stdp_{:02d}"


def stdp_params(rule: STDPRule, learning: bool = True) -> dict:
    """NEST ``stdp_synapse_hom`` parameters of a rule (``tau_minus`` goes to the target neurons).

    ``learning=False``: ``lambda`` 0, the rule before its ``start``.
    """
    return {
        "tau_plus": float(rule.tau_plus),
        "lambda": float(rule.a_plus) if learning else 0.0,
        "alpha": float(rule.alpha),
        "mu_plus": float(rule.mu),
        "mu_minus": float(rule.mu),
        "Wmax": float(rule.w_max),
    }


def izhikevich_params(cell: IzhikevichParams) -> dict:
    """NEST ``izhikevich`` parameters of a cell, with NEST's forward-Euler numerics (``consistent_integration``)."""
    out = {nest_name: float(getattr(cell, name)) for name, nest_name in IZHIKEVICH_NAMES.items()}
    out["consistent_integration"] = True
    return out


# -- SONATA point-neuron files name NEST's models -----------------------------------------------

#: SONATA ``model_template`` of a static and of a plastic edge type (NEST's bare synapse names).
SONATA_STATIC_SYNAPSE = "static_synapse"
SONATA_PLASTIC_SYNAPSE = "stdp_synapse"


def sonata_node_template(kind: str) -> str:
    """SONATA ``model_template`` of a layer kind, e.g. ``nest:izhikevich``."""
    return f"nest:{NEST_MODELS[kind]}"


def sonata_neuron_params(cell: IzhikevichParams | None, tau_minus: float | None = None) -> dict:
    """A node type's ``dynamics_params`` (NEST's names; ``tau_minus`` for the targets of a plastic projection)."""
    if cell is None:
        return {}
    out = izhikevich_params(cell)
    if tau_minus is not None:
        out["tau_minus"] = float(tau_minus)
    return out


def sonata_synapse_params(rule: STDPRule | None) -> dict:
    """An edge type's ``dynamics_params``: nothing for a static synapse, the STDP rule in ``stdp_synapse``'s names."""
    return {} if rule is None else stdp_params(rule)
