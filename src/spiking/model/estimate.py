"""Pre-flight estimate: nodes, synapses and memory of a config, before anything is built (pure numpy).

The expected synapse count of a projection is exact for the grids, masks and
kernels of the model: for each target, the sum of the connection probability
over the sources inside its mask. Large layers are estimated from a seeded
sample of targets (the standard error is stated in the result). Memory is
estimated from per-node and per-synapse costs measured on NEST 3.10
(``docs/benchmarks.md``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..config import Config
from .network import Model, ProjectionSpec, build_model

__all__ = ["Estimate", "estimate", "expected_synapses", "format_estimate"]

#: Memory of the Python process with NEST imported and nothing built (bytes).
BASE_BYTES = 540e6
#: NEST's memory per created node (neuron or generator), bytes.
BYTES_PER_NODE = 2.0e3
#: NEST's memory per static synapse (connection and its share of the infrastructure), bytes.
BYTES_PER_SYNAPSE = 150.0
#: Targets sampled per projection by default (the pre-flight check of every run).
SAMPLED_TARGETS = 150


@dataclass(frozen=True)
class Estimate:
    """What a config will build and need.

    Attributes
    ----------
    neurons : dict
        Nodes per layer (generators, relays, neurons).
    synapses : dict
        Expected synapses per projection.
    synapses_stderr : dict
        Standard error of each expectation from target sampling (0 when exact).
    memory_bytes : float
        Expected peak resident memory of the run.
    spike_bytes : float
        Rough size of ``spikes.h5`` (at 20 spikes/s per recorded neuron).
    """

    neurons: dict
    synapses: dict
    synapses_stderr: dict
    memory_bytes: float
    spike_bytes: float

    @property
    def neurons_total(self) -> int:
        return int(sum(self.neurons.values()))

    @property
    def synapses_total(self) -> float:
        return float(sum(self.synapses.values()))


def expected_synapses(
    p: ProjectionSpec, model: Model, rng: np.random.Generator | None = None, targets: int = SAMPLED_TARGETS
) -> tuple[float, float]:
    """Expected number of synapses of a projection, and the standard error of the estimate.

    Exact for ``one_to_one`` and for layers of at most ``targets`` targets;
    otherwise from a seeded random sample of ``targets`` targets.
    """
    src, tgt = model.layers[p.source], model.layers[p.target]
    if p.mask == "one_to_one":
        return float(tgt.size), 0.0
    rng = rng or np.random.default_rng(0)
    tpos = tgt.positions()
    idx = np.arange(tgt.size)
    sampled = tgt.size > targets
    if sampled:
        idx = rng.choice(tgt.size, targets, replace=False)
    spos = src.positions()
    h = src.extent / src.side
    # sources are stored column by column: the columns within the mask's reach are one slice
    per_target = np.empty(len(idx))
    for j, k in enumerate(idx):
        t = tpos[k]
        c0 = max(0, int(np.floor((t[0] - p.radius + src.extent / 2) / h - 0.5)))
        c1 = min(src.side - 1, int(np.ceil((t[0] + p.radius + src.extent / 2) / h - 0.5)))
        cand = spos[c0 * src.side : (c1 + 1) * src.side]
        d = np.linalg.norm(cand - t, axis=1)
        inside = p.inside(d)
        prob = p.probability(d[inside])
        if not p.allow_autapses and p.source == p.target:
            prob = prob[d[inside] > 1e-12]
        per_target[j] = prob.sum()
    total = per_target.mean() * tgt.size
    stderr = per_target.std(ddof=1) / np.sqrt(len(idx)) * tgt.size if sampled and len(idx) > 1 else 0.0
    return float(total), float(stderr)


def estimate(config: Config | None, model: Model | None = None, targets: int = SAMPLED_TARGETS) -> Estimate:
    """Estimate nodes, synapses, memory and output size of a config, without NEST.

    ``targets`` targets per projection are sampled (fewer: faster, less precise).
    """
    model = model or build_model(config, stimuli=False)
    neurons = {name: layer.size for name, layer in model.layers.items()}
    synapses, stderr = {}, {}
    rng = np.random.default_rng(12345)
    if model.connect:
        for p in model.projections:
            synapses[p.name], stderr[p.name] = expected_synapses(p, model, rng, targets)
    n_syn = sum(synapses.values())
    memory = BASE_BYTES + BYTES_PER_NODE * sum(neurons.values()) + BYTES_PER_SYNAPSE * n_syn
    recorded = sum(model.layers[name].size for name in model.recorded)
    spike_bytes = recorded * 20.0 * model.simulation_time / 1000.0 * 16
    return Estimate(neurons, synapses, stderr, float(memory), float(spike_bytes))


def _gb(x: float) -> str:
    return f"{x / 1e9:.1f} GB" if x >= 1e8 else f"{x / 1e6:.0f} MB"


def format_estimate(est: Estimate, processes: int = 1) -> str:
    """A few lines for people: nodes, synapses, memory, output size."""
    lines = [f"nodes     {est.neurons_total:>14,}   " + ", ".join(f"{k} {v:,}" for k, v in est.neurons.items())]
    err = float(np.sqrt(sum(s**2 for s in est.synapses_stderr.values())))
    lines.append(f"synapses  {est.synapses_total:>14,.0f}   (+/- {err:,.0f}, expectation of the masks and kernels)")
    lines.append(f"memory    {_gb(est.memory_bytes):>14}   peak resident memory, all processes together")
    if processes > 1:
        lines.append(f"          {_gb(est.memory_bytes / processes + BASE_BYTES):>14}   per process of {processes}")
    lines.append(f"spikes.h5 {_gb(est.spike_bytes):>14}   at 20 spikes/s per recorded neuron")
    return "\n".join(lines)
