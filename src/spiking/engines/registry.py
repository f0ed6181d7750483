"""Every engine, declared in one place with its capabilities: plain data, no simulator imported.

The rest of the package asks this registry what an engine can do (run under
MPI, learn with STDP, compile a program that is cached, how much memory a
network takes on it) and where its parts live (the engine class, its
Izhikevich protocols, its ``spiking check``), and never names an engine
itself. The config validates ``run.engine`` against :func:`engine_names`; a
new engine is one entry here and a subpackage.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "MemoryModel",
    "EngineSpec",
    "ENGINES",
    "DEFAULT_ENGINE",
    "SONATA_NAMES",
    "engine_names",
    "engine_spec",
    "summary",
    "load",
]


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


@dataclass(frozen=True)
class EngineSpec:
    """What an engine is and can do.

    Attributes
    ----------
    name : str
        Its name in ``run.engine``.
    package : str
        The distribution that brings the simulator (its version goes into the records).
    summary : str
        A few words for help texts.
    module : str
        The module that defines its :class:`~spiking.engines.base.Engine` (as ``ENGINE``).
    mpi : bool
        Runs as several processes under an MPI launcher.
    plasticity : bool
        Simulates plastic projections (STDP).
    compiled : bool
        Compiles a program per network shape and keeps it in a cache.
    memory : MemoryModel or None
        Its fitted memory model (None: the pre-flight check cannot tell the memory a run needs).
    izhikevich : str or None
        The module of its Izhikevich (2003) protocols.
    check : str or None
        The module of its part of ``spiking check`` (``report(folder) -> (works, lines, files)``).
    digits : str or None
        ``module:class`` of its Diehl & Cook (2015) digit learner (``spiking learn digits``).
    mpi_check : str or None
        ``module:function`` that says, without importing the simulator, why it cannot run as
        ``n`` MPI processes here (``function(n) -> str | None``).
    """

    name: str
    package: str
    summary: str
    module: str
    mpi: bool
    plasticity: bool
    compiled: bool
    memory: MemoryModel | None
    izhikevich: str | None = None
    check: str | None = None
    mpi_check: str | None = None
    digits: str | None = None


#: The engines, by name. Memory models from ``benchmarks/memory_model.py`` (``docs/benchmarks.md``, "The memory
#: model of the pre-flight estimate"): non-negative least squares on five measured runs (1 hypercolumn x 30
#: neurons per minicolumn, 4 x 12, 4 x 20 and 4 x 30 for 1000 ms; 1 x 30 for 4000 ms), two threads, pre-drawn
#: retina trains, checked on the default model (9 x 30), which they were not fitted on. NEST: the peak of the
#: Python process that holds the NEST kernel. Brian2: the peak of the Python process plus that of the compiled
#: program (a process of its own), which is handed the whole run's retina trains and keeps every recorded spike
#: until it ends. The cost per plastic synapse was measured apart (the default model for 500 ms with and without
#: its two excitatory LGN -> V1 projections plastic).
ENGINES: dict[str, EngineSpec] = {
    "nest": EngineSpec(
        name="nest",
        package="nest-simulator",
        summary="NEST: threads and MPI ranks",
        module="spiking.engines.nest.engine",
        mpi=True,
        plasticity=True,
        compiled=False,
        memory=MemoryModel(
            base_bytes=207e6,
            bytes_per_node=18840.0,
            bytes_per_synapse=38.6,
            bytes_per_node_second=391.0,
            bytes_per_plastic_synapse=171.0,
        ),
        izhikevich="spiking.engines.nest.izhikevich",
        check="spiking.engines.nest.check",
        mpi_check="spiking.engines.nest.install:mpi_problem",
    ),
    "brian2": EngineSpec(
        name="brian2",
        package="brian2",
        summary="Brian2: C++ standalone, OpenMP threads on one machine",
        module="spiking.engines.brian2.engine",
        mpi=False,
        plasticity=True,
        compiled=True,
        memory=MemoryModel(
            base_bytes=232e6,
            bytes_per_node=0.0,
            bytes_per_synapse=13.4,
            bytes_per_node_second=990.0,
            bytes_per_plastic_synapse=111.0,
        ),
        izhikevich="spiking.engines.brian2.izhikevich",
        check="spiking.engines.brian2.check",
        digits="spiking.engines.brian2.digits:Brian2DigitsEngine",
    ),
}
#: The engine a run uses unless it says otherwise.
DEFAULT_ENGINE = "nest"
#: The module that names the model's parts as SONATA point-neuron files do (``model_template "nest:izhikevich"``,
#: NEST's parameter names): written by ``spiking export --sonata-network``, whatever engine ran.
SONATA_NAMES = "spiking.engines.nest.names"


def load(reference: str):
    """The object a ``module:name`` reference names (imported on demand)."""
    import importlib

    module, _, name = reference.partition(":")
    return getattr(importlib.import_module(module), name)


def engine_names() -> tuple[str, ...]:
    """The names of every engine, the default first."""
    return (DEFAULT_ENGINE, *(n for n in ENGINES if n != DEFAULT_ENGINE))


def engine_spec(name: str) -> EngineSpec:
    """The declaration of an engine; ``ValueError`` naming the engines there are."""
    try:
        return ENGINES[name]
    except KeyError:
        raise ValueError(f"unknown engine {name!r}; available: {', '.join(engine_names())}") from None


def summary() -> str:
    """One line naming every engine and what it is, for help texts."""
    return "; ".join(f"{s.name} ({s.summary})" for s in ENGINES.values())
