"""Pre-flight estimate: nodes, synapses and memory of a config, before anything is built (pure numpy).

The expected synapse count of a projection is exact for the grids, masks and
kernels of the model: for each target, the sum of the connection probability
over the sources inside its mask (the candidates of
:func:`spiking.model.connections.candidates`, the rule the network is drawn
by). Large layers are estimated from a seeded sample of targets (the standard
error is stated in the result). Memory is estimated with the memory model the
run's engine declares (:class:`~spiking.engines.registry.MemoryModel`, a base
plus costs per node and per synapse, fitted by ``benchmarks/memory_model.py``
on measured runs, ``docs/benchmarks.md``); an engine without one gets no
memory figure, and the pre-flight check then tests the disk only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..config import Config
from ..engines.registry import DEFAULT_ENGINE, MemoryModel, engine_spec
from .connections import candidates
from .network import Model, ProjectionSpec, build_model

__all__ = [
    "ASSUMED_RATE_HZ",
    "Estimate",
    "MemoryModel",
    "memory_model",
    "estimate",
    "expected_synapses",
    "format_estimate",
]

#: Targets sampled per projection by default (the pre-flight check of every run).
SAMPLED_TARGETS = 150
#: Spikes per second of each recorded neuron the estimate assumes for the size of ``spikes.h5``.
ASSUMED_RATE_HZ = 20.0


def memory_model(engine: str) -> MemoryModel | None:
    """The memory model an engine declares (:mod:`spiking.engines.registry`), or None when it has none."""
    return engine_spec(engine).memory


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
    memory_bytes : float or None
        Expected peak resident memory of the run, all processes together (None: the engine has no memory model).
    spike_bytes : float
        Rough size of ``spikes.h5`` (at :data:`ASSUMED_RATE_HZ` per recorded neuron).
    engine : str
        The engine whose :class:`MemoryModel` gave ``memory_bytes``.
    base_bytes : float
        That model's memory of a process with nothing built.
    """

    neurons: dict
    synapses: dict
    synapses_stderr: dict
    memory_bytes: float | None
    spike_bytes: float
    engine: str = DEFAULT_ENGINE
    base_bytes: float = 0.0

    def per_process_bytes(self, processes: int) -> float | None:
        """Expected peak memory of each of ``processes`` processes: the network shared out, the base paid by each."""
        if self.memory_bytes is None:
            return None
        return self.base_bytes + (self.memory_bytes - self.base_bytes) / max(1, processes)

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
    idx = np.arange(tgt.size)
    sampled = tgt.size > targets
    if sampled:
        idx = rng.choice(tgt.size, targets, replace=False)
    per_target = np.zeros(len(idx))
    for a in range(0, len(idx), 256):  # a few hundred targets' candidates at a time
        part = idx[a : a + 256]
        t, _, d = candidates(p, src, tgt, part)
        order = np.argsort(part)
        slot = order[np.searchsorted(part[order], t)]  # where each candidate's target is in ``part``
        per_target[a : a + part.size] = np.bincount(slot, weights=p.probability(d), minlength=part.size)
    total = per_target.mean() * tgt.size
    stderr = per_target.std(ddof=1) / np.sqrt(len(idx)) * tgt.size if sampled and len(idx) > 1 else 0.0
    return float(total), float(stderr)


def estimate(
    config: Config | None, model: Model | None = None, targets: int = SAMPLED_TARGETS, engine: str | None = None
) -> Estimate:
    """Estimate nodes, synapses, memory and output size of a config, without NEST.

    ``targets`` targets per projection are sampled (fewer: faster, less precise).
    The memory is that of ``engine``'s :class:`MemoryModel` (default: the
    config's ``run.engine``, or ``nest`` without a config).
    """
    engine = engine or (config.run.engine if config is not None else DEFAULT_ENGINE)
    mem = memory_model(engine)
    model = model or build_model(config, stimuli=False)
    neurons = {name: layer.size for name, layer in model.layers.items()}
    synapses, stderr = {}, {}
    rng = np.random.default_rng(12345)
    if model.connect:
        for p in model.projections:
            synapses[p.name], stderr[p.name] = expected_synapses(p, model, rng, targets)
    n_syn = sum(synapses.values())
    plastic = sum(synapses.get(p.name, 0.0) for p in model.plastic)
    memory = None if mem is None else mem.bytes(sum(neurons.values()), n_syn, model.simulation_time / 1000.0, plastic)
    recorded = sum(model.layers[name].size for name in model.recorded)
    spike_bytes = recorded * ASSUMED_RATE_HZ * model.simulation_time / 1000.0 * 16
    return Estimate(
        neurons,
        synapses,
        stderr,
        None if memory is None else float(memory),
        float(spike_bytes),
        engine,
        0.0 if mem is None else mem.base_bytes,
    )


def _gb(x: float) -> str:
    return f"{x / 1e9:.1f} GB" if x >= 1e8 else f"{x / 1e6:.0f} MB"


def format_estimate(est: Estimate, processes: int = 1) -> str:
    """A few lines for people: nodes, synapses, memory, output size."""
    lines = [f"nodes     {est.neurons_total:>14,}   " + ", ".join(f"{k} {v:,}" for k, v in est.neurons.items())]
    err = float(np.sqrt(sum(s**2 for s in est.synapses_stderr.values())))
    lines.append(f"synapses  {est.synapses_total:>14,.0f}   (+/- {err:,.0f}, expectation of the masks and kernels)")
    if est.memory_bytes is None:
        lines.append(f"memory    {'unknown':>14}   {est.engine} declares no memory model")
    else:
        lines.append(
            f"memory    {_gb(est.memory_bytes):>14}   peak resident memory on {est.engine}, all processes together"
        )
    if processes > 1 and est.memory_bytes is not None:
        lines.append(f"          {_gb(est.per_process_bytes(processes)):>14}   per process of {processes}")
    lines.append(f"spikes.h5 {_gb(est.spike_bytes):>14}   at 20 spikes/s per recorded neuron")
    return "\n".join(lines)
