"""Pre-flight estimate: nodes, synapses and memory of a config, before anything is built (pure numpy).

The expected synapse count of a projection is exact for the grids, masks and
kernels of the model: for each target, the sum of the connection probability
over the sources inside its mask. Large layers are estimated from a seeded
sample of targets (the standard error is stated in the result). Memory is
estimated with the run engine's own :class:`MemoryModel`, a base plus costs per
node and per synapse, fitted by ``benchmarks/memory_model.py`` on measured runs
(``docs/benchmarks.md``, "The memory model of the pre-flight estimate").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..config import Config
from .network import Model, ProjectionSpec, build_model

__all__ = [
    "ASSUMED_RATE_HZ",
    "Estimate",
    "MemoryModel",
    "MEMORY_MODELS",
    "memory_model",
    "estimate",
    "expected_synapses",
    "format_estimate",
]

#: Targets sampled per projection by default (the pre-flight check of every run).
SAMPLED_TARGETS = 150
#: Spikes per second of each recorded neuron the estimate assumes for the size of ``spikes.h5``.
ASSUMED_RATE_HZ = 20.0


@dataclass(frozen=True)
class MemoryModel:
    """Peak resident memory of a run on one engine, from what the config says.

    ``base + per_node * nodes + per_synapse * synapses + per_node_second * nodes * seconds
    + per_plastic_synapse * plastic``, ``seconds`` being the model time and ``plastic`` the
    synapses of plastic projections (counted in ``synapses`` too).

    Attributes
    ----------
    base_bytes : float
        Memory with the engine loaded and nothing built, bytes (paid by every process under MPI).
    bytes_per_node : float
        Per node of every layer (neurons, relays, generators, with their recorders), bytes.
    bytes_per_synapse : float
        Per synapse, with its share of the connection infrastructure, bytes.
    bytes_per_node_second : float
        Per node and second of model time, bytes: what grows with the run (pre-drawn retina
        trains and recorded spikes an engine holds for the whole run).
    bytes_per_plastic_synapse : float
        More per synapse of a plastic projection, bytes: its larger synapse, and reading,
        gathering and writing its weights at each stimulus change (measured on the plasticity
        example, not fitted).
    """

    base_bytes: float
    bytes_per_node: float
    bytes_per_synapse: float
    bytes_per_node_second: float = 0.0
    bytes_per_plastic_synapse: float = 0.0

    def bytes(self, nodes: float, synapses: float, seconds: float = 1.0, plastic: float = 0.0) -> float:
        """Expected peak resident memory of ``nodes`` nodes and ``synapses`` synapses (``plastic`` of them plastic) run for ``seconds`` of model time, bytes."""
        return (
            self.base_bytes
            + self.bytes_per_node * nodes
            + self.bytes_per_synapse * synapses
            + self.bytes_per_node_second * nodes * seconds
            + self.bytes_per_plastic_synapse * plastic
        )


#: The fitted model of each engine (``run.engine``), by ``benchmarks/memory_model.py``: non-negative
#: least squares on five measured runs (1 hypercolumn x 30 neurons per minicolumn, 4 x 12, 4 x 20 and
#: 4 x 30 for 1000 ms; 1 x 30 for 4000 ms), two threads, pre-drawn retina trains, and checked on the
#: default model (9 x 30), which it was not fitted on: NEST +0.0%, Brian2 +5.4%; the measured tables
#: are in ``docs/benchmarks.md``. NEST: the peak of the Python process that holds the NEST kernel.
#: Brian2: the peak of the Python process plus that of the compiled program (a process of its own,
#: the manifest's ``memory_mb.program_peak_rss``), which is handed the whole run's retina trains and
#: keeps every recorded spike until it ends; its cost per node is not told apart from its cost per
#: node-second on these points and comes out 0. The cost per plastic synapse was measured apart:
#: the default model for 500 ms with and without its two excitatory LGN -> V1 projections plastic
#: (4.0 million synapses, weights read at 3 times), the difference of the peaks over the plastic
#: synapses (``docs/benchmarks.md``).
MEMORY_MODELS: dict[str, MemoryModel] = {
    "nest": MemoryModel(
        base_bytes=207e6,
        bytes_per_node=18840.0,
        bytes_per_synapse=38.6,
        bytes_per_node_second=391.0,
        bytes_per_plastic_synapse=171.0,
    ),
    "brian2": MemoryModel(
        base_bytes=232e6,
        bytes_per_node=0.0,
        bytes_per_synapse=13.4,
        bytes_per_node_second=990.0,
        bytes_per_plastic_synapse=111.0,
    ),
}


def memory_model(engine: str) -> MemoryModel:
    """The memory model of an engine (``nest`` or ``brian2``)."""
    try:
        return MEMORY_MODELS[engine]
    except KeyError:
        raise KeyError(f"no memory model for engine {engine!r}; known: {', '.join(MEMORY_MODELS)}") from None


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
        Expected peak resident memory of the run, all processes together.
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
    memory_bytes: float
    spike_bytes: float
    engine: str = "nest"
    base_bytes: float = 0.0

    def per_process_bytes(self, processes: int) -> float:
        """Expected peak memory of each of ``processes`` processes: the network shared out, the base paid by each."""
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


def estimate(
    config: Config | None, model: Model | None = None, targets: int = SAMPLED_TARGETS, engine: str | None = None
) -> Estimate:
    """Estimate nodes, synapses, memory and output size of a config, without NEST.

    ``targets`` targets per projection are sampled (fewer: faster, less precise).
    The memory is that of ``engine``'s :class:`MemoryModel` (default: the
    config's ``run.engine``, or ``nest`` without a config).
    """
    engine = engine or (config.run.engine if config is not None else "nest")
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
    memory = mem.bytes(sum(neurons.values()), n_syn, model.simulation_time / 1000.0, plastic)
    recorded = sum(model.layers[name].size for name in model.recorded)
    spike_bytes = recorded * ASSUMED_RATE_HZ * model.simulation_time / 1000.0 * 16
    return Estimate(neurons, synapses, stderr, float(memory), float(spike_bytes), engine, mem.base_bytes)


def _gb(x: float) -> str:
    return f"{x / 1e9:.1f} GB" if x >= 1e8 else f"{x / 1e6:.0f} MB"


def format_estimate(est: Estimate, processes: int = 1) -> str:
    """A few lines for people: nodes, synapses, memory, output size."""
    lines = [f"nodes     {est.neurons_total:>14,}   " + ", ".join(f"{k} {v:,}" for k, v in est.neurons.items())]
    err = float(np.sqrt(sum(s**2 for s in est.synapses_stderr.values())))
    lines.append(f"synapses  {est.synapses_total:>14,.0f}   (+/- {err:,.0f}, expectation of the masks and kernels)")
    lines.append(
        f"memory    {_gb(est.memory_bytes):>14}   peak resident memory on {est.engine}, all processes together"
    )
    if processes > 1:
        lines.append(f"          {_gb(est.per_process_bytes(processes)):>14}   per process of {processes}")
    lines.append(f"spikes.h5 {_gb(est.spike_bytes):>14}   at 20 spikes/s per recorded neuron")
    return "\n".join(lines)
