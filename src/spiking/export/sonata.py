"""The network of a run as a SONATA circuit with its inputs: what the model drew, in the form SONATA tools read.

With ``network.wiring = "model"`` (the default) the network of a run is data:
the export takes it from the network cache, or draws it again from the
folder's ``config.toml`` and seed (the same edges, bit for bit), checks every
projection's count against the manifest, and writes it, whatever engine ran.
With ``"engine"`` the network exists only inside the engine: it is built again
by the run's engine (NEST: the same seed and virtual processes give the same
network; Brian2: its program makes the connections without simulating) and
read back, which takes as long as the run's connect phase and more.

Files, in ``<out>/network/``, written so that libsonata, NEST's
``SonataNetwork`` and bmtk's PointNet take them as they are::

    circuit_config.json       nodes and edges files, components, node sets (paths from $BASE_DIR = this folder)
    simulation_config.json    target simulator, the run's time step and model time, one input per virtual
                              population (NEST's SonataNetwork and bmtk read it; libsonata's own simulation
                              config asks for other input modules)
    node_sets.json            one node set per population
    nodes.h5, node_types.csv  the simulated layers (Izhikevich; parrot relays with retina generators)
    virtual_nodes.h5, virtual_node_types.csv
                              the input layers: the pre-drawn trains, or the Poisson generators
    edges.h5, edge_types.csv  one edge population per projection
    components/point_neuron_models/<layer>.json   each layer's parameters in NEST's names
    components/synaptic_models/<type>.json        static_synapse ({}) or stdp_synapse (the rule)
    inputs/<population>.h5    each virtual population's spikes (SONATA spike file, ms, sorted by time)

Node ``k`` of a population is node ``k`` of the layer (as in ``spikes.h5``):
``node_id``, ``node_type_id``, ``node_group_id``, ``node_group_index``, and
group ``0`` with ``x``, ``y``, ``z`` (model units), ``row``, ``col``. Edges come
grouped by target (the order the model draws them in), each population
with ``source_node_id``, ``target_node_id`` (uint64, with their
``node_population``), ``edge_type_id`` (the projection's number),
``edge_group_id``, ``edge_group_index``, ``0/syn_weight`` (mV) and ``0/delay``
(ms), and both SONATA indices (``node_id_to_ranges``, with the alias
``node_id_to_range`` that bmtk reads). A plastic projection's edge type is
``stdp_synapse`` with its rule; its ``syn_weight`` holds the weights at the end
of the run, from ``weights.h5``.

The inputs: the LGN's pre-drawn trains are drawn again from the seed (as the
run drew them); Poisson generators' spikes exist only if the relay (LGN)
layers were recorded (the retina's spikes are the relay's, one relay delay
earlier), and are left out otherwise (the simulation config then says so).
"""

from __future__ import annotations

import csv
import importlib
import io
import json
import os
import shutil
import time
from pathlib import Path

import h5py
import numpy as np

from ..errors import RunFolderError
from ..io.atomic import atomic_write_text

__all__ = ["NETWORK_DIR", "export_network", "edge_indices", "write_nodes", "write_edges", "write_spike_input"]

#: Folder of the SONATA network inside the export folder.
NETWORK_DIR = "network"
_INPUT_KINDS = ("poisson", "trains")
#: SONATA's magic number and version, as root attributes of every nodes and edges file.
_MAGIC = np.uint32(0x0A7A)
_VERSION = np.array([0, 1], dtype=np.uint32)


def _names():
    """The module that names the model's parts as SONATA point-neuron files do (the registry says which)."""
    from ..engines.registry import SONATA_NAMES

    return importlib.import_module(SONATA_NAMES)


def edge_indices(node_of_edge: np.ndarray, n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """A SONATA edge index: for each node, its ranges of edge ids (libsonata's own layout).

    Parameters
    ----------
    node_of_edge : ndarray of int, shape (n_edges,)
        The source (or target) node of each edge.
    n_nodes : int
        Nodes in the source (or target) population.

    Returns
    -------
    node_id_to_ranges : ndarray of uint64, shape (n_nodes, 2)
        ``[first, last)`` rows of ``range_to_edge_id`` of each node (empty ``[k, k]`` for nodes without edges).
    range_to_edge_id : ndarray of uint64, shape (n_ranges, 2)
        ``[first, last)`` edge ids of each run of consecutive edges of one node.
    """
    nodes_in = np.asarray(node_of_edge)
    m = nodes_in.size
    # a stable sort by node: radix sort for node ids that fit 16 bits, the general one otherwise
    key = nodes_in.astype(np.uint16) if n_nodes <= 1 << 16 else nodes_in.astype(np.int64)
    order = np.argsort(key, kind="stable")
    nodes = nodes_in[order].astype(np.int64)
    new = np.ones(m, dtype=bool)
    new[1:] = (nodes[1:] != nodes[:-1]) | (order[1:] != order[:-1] + 1)
    starts = np.flatnonzero(new)
    ends = np.append(starts[1:], m)
    ranges = np.column_stack([order[starts], order[ends - 1] + 1]) if m else np.zeros((0, 2))
    owner = nodes[starts]
    ids = np.arange(n_nodes)
    node_ranges = np.column_stack([np.searchsorted(owner, ids, "left"), np.searchsorted(owner, ids, "right")])
    return node_ranges.astype(np.uint64), ranges.astype(np.uint64)


def _dataset(g: h5py.Group, name: str, data: np.ndarray, **attrs) -> None:
    """A contiguous, uncompressed dataset: the HDF5 in libsonata's wheels has no deflate filter."""
    ds = g.create_dataset(name, data=np.asarray(data))
    for k, v in attrs.items():
        ds.attrs[k] = v


def _stamp(h5: h5py.File) -> None:
    h5.attrs["magic"] = _MAGIC
    h5.attrs["version"] = _VERSION


def write_nodes(path: Path, layers: list, type_ids: dict) -> None:
    """Write one node population per layer (``side**2`` nodes, grid order) into ``path``."""
    from ..model.geometry import grid_rows_cols

    with h5py.File(path, "w") as h5:
        _stamp(h5)
        for layer in layers:
            g = h5.create_group(f"nodes/{layer.name}")
            n = layer.size
            g.create_dataset("node_id", data=np.arange(n, dtype=np.uint64))
            g.create_dataset("node_type_id", data=np.full(n, type_ids[layer.name], dtype=np.uint64))
            g.create_dataset("node_group_id", data=np.zeros(n, dtype=np.uint32))
            g.create_dataset("node_group_index", data=np.arange(n, dtype=np.uint64))
            grp = g.create_group("0")
            xy = layer.positions()
            rows, cols = grid_rows_cols(layer.side)
            grp.create_dataset("x", data=xy[:, 0])
            grp.create_dataset("y", data=xy[:, 1])
            grp.create_dataset("z", data=np.zeros(n))
            grp.create_dataset("row", data=rows.astype(np.int32))
            grp.create_dataset("col", data=cols.astype(np.int32))
            g.attrs["kind"] = layer.kind
            g.attrs["side"] = layer.side
            g.attrs["extent"] = layer.extent


def write_edges(
    h5: h5py.File,
    p,
    sources: np.ndarray,
    targets: np.ndarray,
    weights: np.ndarray,
    delays: np.ndarray,
    n_source: int,
    n_target: int,
) -> None:
    """Write one projection's edges, in the order given, as an edge population of ``h5``, with both indices."""
    g = h5.create_group(f"edges/{p.name}")
    m = int(np.asarray(sources).size)
    _dataset(g, "source_node_id", np.asarray(sources, dtype=np.uint64), node_population=p.source)
    _dataset(g, "target_node_id", np.asarray(targets, dtype=np.uint64), node_population=p.target)
    _dataset(g, "edge_type_id", np.full(m, p.index, dtype=np.uint32))
    _dataset(g, "edge_group_id", np.zeros(m, dtype=np.uint32))
    _dataset(g, "edge_group_index", np.arange(m, dtype=np.uint64))
    _dataset(g, "0/syn_weight", np.broadcast_to(np.asarray(weights, dtype=np.float64), (m,)))
    _dataset(g, "0/delay", np.asarray(delays, dtype=np.float64))
    for direction, nodes, n in (("source_to_target", sources, n_source), ("target_to_source", targets, n_target)):
        node_ranges, ranges = edge_indices(nodes, n)
        _dataset(g, f"indices/{direction}/node_id_to_ranges", node_ranges)
        _dataset(g, f"indices/{direction}/range_to_edge_id", ranges)
        g[f"indices/{direction}/node_id_to_range"] = g[f"indices/{direction}/node_id_to_ranges"]  # bmtk's name
    for key in ("mask", "radius", "kernel", "p_center", "sigma", "weight", "delay", "delay_per_unit", "allow_autapses"):
        g.attrs[key] = getattr(p, key)
    g.attrs["plastic"] = p.plasticity is not None


def write_spike_input(path: Path, population: str, node_ids: np.ndarray, times: np.ndarray) -> None:
    """A SONATA spike file of one population: ``/spikes/<population>/node_ids``, ``timestamps`` (ms), by time."""
    order = np.lexsort((node_ids, times))
    with h5py.File(path, "w") as h5:
        g = h5.create_group(f"spikes/{population}")
        g.create_dataset("node_ids", data=np.asarray(node_ids, dtype=np.uint64)[order])
        ts = g.create_dataset("timestamps", data=np.asarray(times, dtype=np.float64)[order])
        ts.attrs["units"] = "ms"


def _csv(rows: list[list]) -> str:
    """SONATA's space-separated CSV."""
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=" ", lineterminator="\n")
    w.writerows(rows)
    return buf.getvalue()


def _json(path: Path, data: dict) -> None:
    atomic_write_text(path, json.dumps(data, indent=1) + "\n")


def _node_types(out: Path, model) -> tuple[list, list]:
    """Node types (simulated, virtual) with the simulated ones' parameters in ``components/point_neuron_models``."""
    names = _names()
    comp = out / "components" / "point_neuron_models"
    comp.mkdir(parents=True)
    tau_minus = {p.target: p.plasticity.tau_minus for p in model.plastic}
    simulated, virtual = [], []
    for i, layer in enumerate(model.layers.values(), 1):
        template = names.sonata_node_template(layer.kind)
        if layer.kind in _INPUT_KINDS:  # virtual: no parameters (bmtk refuses a parameter file here)
            virtual.append([i, "virtual", template, layer.name])
            continue
        _json(comp / f"{layer.name}.json", names.sonata_neuron_params(layer.cell, tau_minus.get(layer.name)))
        simulated.append([i, "point_neuron", template, f"{layer.name}.json", layer.name])
    return simulated, virtual


def _edge_types(out: Path, model) -> list:
    """One edge type per projection, its parameters in ``components/synaptic_models``."""
    names = _names()
    comp = out / "components" / "synaptic_models"
    comp.mkdir(parents=True)
    rows = [["edge_type_id", "model_template", "dynamics_params", "pop_name"]]
    _json(comp / "static_synapse.json", {})
    for p in model.projections:
        if p.plasticity is None:
            rows.append([p.index, names.SONATA_STATIC_SYNAPSE, "static_synapse.json", p.name])
        else:
            _json(comp / f"stdp_{p.index:02d}.json", names.sonata_synapse_params(p.plasticity))
            rows.append([p.index, names.SONATA_PLASTIC_SYNAPSE, f"stdp_{p.index:02d}.json", p.name])
    return rows


def _circuit_config(model, virtual: list[str], projections: list[str]) -> dict:
    """The circuit config: every path from ``$BASE_DIR``, the folder the config is in (libsonata, NEST and bmtk agree)."""
    simulated = [n for n in model.layers if n not in virtual]

    def entry(kind: str, stem: str, names: list[str], population_type: str) -> list[dict]:
        if not names:
            return []
        types = "edge_types" if kind == "edges" else f"{stem.removesuffix('s')}_types"
        return [
            {
                f"{kind}_file": f"$BASE_DIR/{stem}.h5",
                f"{kind.removesuffix('s')}_types_file": f"$BASE_DIR/{types}.csv",
                "populations": {n: {"type": population_type} for n in names},
            }
        ]

    nodes = entry("nodes", "nodes", simulated, "point_neuron") + entry("nodes", "virtual_nodes", virtual, "virtual")
    edges = entry("edges", "edges", projections, "chemical")
    return {
        "manifest": {"$BASE_DIR": ".", "$COMPONENTS_DIR": "$BASE_DIR/components"},
        "components": {
            "point_neuron_models_dir": "$COMPONENTS_DIR/point_neuron_models",
            "synaptic_models_dir": "$COMPONENTS_DIR/synaptic_models",
        },
        "node_sets_file": "$BASE_DIR/node_sets.json",
        "networks": {"nodes": nodes, "edges": edges},
    }


def _simulation_config(model, inputs: dict[str, str], missing: list[str]) -> dict:
    """The run's time step and model time, and an input per virtual population that has spikes."""
    config = {
        "manifest": {"$BASE_DIR": ".", "$INPUT_DIR": "$BASE_DIR/inputs", "$OUTPUT_DIR": "$BASE_DIR/output"},
        "target_simulator": "NEST",
        "network": "$BASE_DIR/circuit_config.json",
        "node_sets_file": "$BASE_DIR/node_sets.json",
        "run": {"tstop": float(model.simulation_time), "dt": float(model.resolution), "random_seed": int(model.seed)},
        "inputs": {
            f"{pop}_spikes": {
                "input_type": "spikes",
                "module": "sonata",
                "input_file": f"$INPUT_DIR/{file}",
                "node_set": pop,
            }
            for pop, file in inputs.items()
        },
        "output": {"output_dir": "$OUTPUT_DIR", "spikes_file": "spikes.h5"},
    }
    if missing:
        config["comment"] = (
            "no input spikes for " + ", ".join(missing) + ": Poisson generators' spikes are not kept by a run "
            "unless its relay (LGN) layers are recorded"
        )
    return config


def _inputs(out: Path, run, model, virtual: list[str]) -> tuple[dict[str, str], list[str]]:
    """Each virtual population's spikes into ``inputs/``; the files written and the populations left without."""
    (out / "inputs").mkdir()
    written, missing = {}, []
    trains = model.trains() if model.train_layers else None
    for pop in virtual:
        if pop in model.train_layers:
            ids, times = trains.window(pop, 0.0, model.simulation_time)
        else:  # a retina generator layer: its relay repeats its spikes one relay delay later
            relay = next((p for p in model.projections if p.source == pop and p.mask == "one_to_one"), None)
            recorded = relay is not None and relay.target in (run.manifest.get("spikes") or {})
            if not recorded:
                missing.append(pop)
                continue
            s = run.spikes[relay.target]
            ids, times = s.node_ids, s.times - model.relay_delays.get(relay.target, relay.delay)
        write_spike_input(out / "inputs" / f"{pop}.h5", pop, ids, times)
        written[pop] = f"{pop}.h5"
    return written, missing


def _final_weights(run, p, sources: np.ndarray, targets: np.ndarray) -> np.ndarray | None:
    """The weights of a plastic projection at the end of the run (``weights.h5``), in the order of ``sources``."""
    path = run.folder / "weights.h5"
    if not path.is_file():
        return None
    with h5py.File(path, "r") as h5:
        g = h5.get(f"edges/{p.name}")
        if g is None or "0/syn_weight" not in g:
            return None
        ws, wt, w = g["source_node_id"][()], g["target_node_id"][()], g["0/syn_weight"][()]
    n_src = int(max(int(sources.max(initial=0)), int(ws.max(initial=0))) + 1)
    have = wt.astype(np.int64) * n_src + ws.astype(np.int64)  # weights.h5: sorted by target, then source
    want = np.asarray(targets, dtype=np.int64) * n_src + np.asarray(sources, dtype=np.int64)
    at = np.searchsorted(have, want)
    if w.size != want.size or np.any(at >= have.size) or np.any(have[np.minimum(at, have.size - 1)] != want):
        raise RunFolderError(f"{run.folder}: weights.h5 does not hold the synapses of {p.name} as drawn")
    return w[at]


class _Drawn:
    """The run's network as the model drew it: from the network cache, or drawn again (the same edges)."""

    def __init__(self, run, model, say):
        from ..run.network import obtain_network
        from ..run.resources import resolve_threads

        t0 = time.perf_counter()
        threads = resolve_threads(int(run.manifest.get("threads") or 0))
        self.scratch = None
        self.network, info = obtain_network(model, threads)
        self.scratch = info.scratch
        how = "from the network cache" if info.source == "cache" else "drawn again from the seed"
        say(f"network    {time.perf_counter() - t0:7.2f} s   {sum(info.synapses.values()):,} synapses {how}")
        _check_counts(run, self.network.counts(), "the drawn network", "the run's config and seed")

    def edges(self, p):
        e = self.network.edges(p)
        return np.asarray(e.sources), e.targets, e.delays()

    def close(self):
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)


class _Rebuilt:
    """The run's network built again by its engine (``network.wiring = "engine"``) and read back."""

    def __init__(self, run, model, say):
        from ..engines import get_engine

        e = run.manifest.get("engine") or {}
        vps = int(e.get("virtual_processes") or run.manifest.get("threads", 1) * run.manifest.get("processes", 1))
        self.engine = get_engine(run.config.run.engine)
        t0 = time.perf_counter()
        self.engine.setup(model, vps)
        self.engine.build()
        counts = self.engine.connect(None) if model.connect else {}
        if counts is None:  # an engine that connects when its program starts
            self.engine.connect_only()
            counts = self.engine.synapse_counts()
        say(
            f"rebuilt    {time.perf_counter() - t0:7.2f} s   {sum(counts.values()):,} synapses on {vps} virtual processes"
        )
        _check_counts(
            run, counts, "the rebuilt network", f"the run's engine version, config, seed and {vps} virtual processes"
        )

    def edges(self, p):
        e = self.engine.edges(p.name)
        return e.sources, e.targets, e.delays

    def close(self):
        self.engine.close()


def _check_counts(run, counts: dict, what: str, needs: str) -> None:
    expected = run.manifest.get("synapses") or {}
    for name in sorted(set(counts) | set(expected)):
        if counts.get(name) != expected.get(name):
            raise RunFolderError(
                f"{run.folder}: {what} differs from the run's ({name}: {counts.get(name)} synapses, "
                f"the run had {expected.get(name)}); it needs {needs}"
            )


def _replace_dir(tmp: Path, final: Path) -> None:
    """Move ``tmp`` to ``final``, replacing an earlier export only once the new one is complete."""
    old = final.with_name(f".{final.name}.{os.getpid()}.old")
    if final.exists():
        os.replace(final, old)
    os.replace(tmp, final)
    shutil.rmtree(old, ignore_errors=True)


def _write_network(out: Path, run, model, source, say) -> dict[str, int]:
    """Every file of the network into ``out``; edges written a projection at a time."""
    simulated, virtual = _node_types(out, model)
    type_ids = {row[-1]: row[0] for row in simulated + virtual}
    if simulated:
        write_nodes(out / "nodes.h5", [model.layers[r[-1]] for r in simulated], type_ids)
        head = ["node_type_id", "model_type", "model_template", "dynamics_params", "pop_name"]
        atomic_write_text(out / "node_types.csv", _csv([head, *simulated]))
    if virtual:
        write_nodes(out / "virtual_nodes.h5", [model.layers[r[-1]] for r in virtual], type_ids)
        head = ["node_type_id", "model_type", "model_template", "pop_name"]
        atomic_write_text(out / "virtual_node_types.csv", _csv([head, *virtual]))
    written: dict[str, int] = {}
    if model.projections and model.connect:
        with h5py.File(out / "edges.h5", "w") as h5:
            _stamp(h5)
            for p in model.projections:
                t = time.perf_counter()
                sources, targets, delays = source.edges(p)
                weights = np.float64(p.weight)
                if p.plasticity is not None:
                    final = _final_weights(run, p, sources, targets)
                    weights = final if final is not None else weights
                write_edges(
                    h5, p, sources, targets, weights, delays, model.layers[p.source].size, model.layers[p.target].size
                )
                written[p.name] = int(np.asarray(sources).size)
                say(f"  {p.name:22s} {written[p.name]:>11,} edges  {time.perf_counter() - t:6.2f} s")
        atomic_write_text(out / "edge_types.csv", _csv(_edge_types(out, model)))
    virtual_names = [r[-1] for r in virtual]
    _json(out / "circuit_config.json", _circuit_config(model, virtual_names, list(written)))
    _json(out / "node_sets.json", {name: {"population": name} for name in model.layers})
    inputs, missing = _inputs(out, run, model, virtual_names)
    _json(out / "simulation_config.json", _simulation_config(model, inputs, missing))
    return written


def export_network(run, out_dir=None, say=lambda text: None) -> dict:
    """Write a complete run's network as a SONATA circuit, with its inputs, into ``<out_dir>/network/``.

    Parameters
    ----------
    run : spiking.api.Run
    out_dir : path-like, optional
        Default: the run folder.
    say : callable
        Called with a line of progress per projection.

    Returns
    -------
    dict
        ``folder`` (Path), ``circuit_config`` (Path), ``edges`` (projection ->
        edges written), ``bytes`` (size of the folder), ``seconds`` (``network``:
        reading, drawing or rebuilding it; ``write``; ``total``).

    Raises
    ------
    RunFolderError
        The run did not complete, the network differs from the run's, or the
        folder cannot be written (one line).
    """
    from ..model.network import build_model
    from .nwb import require_complete

    require_complete(run)
    t_all = time.perf_counter()
    final = Path(out_dir if out_dir is not None else run.folder) / NETWORK_DIR
    tmp = final.with_name(f".{final.name}.{os.getpid()}.tmp")
    try:
        tmp.mkdir(parents=True)  # fails at once on a folder that cannot be written
    except OSError as err:
        raise RunFolderError(f"{final}: cannot be written ({err.strerror or str(err).splitlines()[0]})") from None
    source = None
    try:
        model = build_model(run.config)
        if model.connect:
            source = (_Drawn if model.wiring == "model" else _Rebuilt)(run, model, say)
        t_network = time.perf_counter() - t_all
        t0 = time.perf_counter()
        written = _write_network(tmp, run, model, source, say)
        _replace_dir(tmp, final)
    except RunFolderError:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    except OSError as err:
        shutil.rmtree(tmp, ignore_errors=True)
        raise RunFolderError(f"{final}: cannot be written ({err.strerror or str(err).splitlines()[0]})") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        if source is not None:
            source.close()
    size = sum(f.stat().st_size for f in final.rglob("*") if f.is_file())
    return {
        "folder": final,
        "circuit_config": final / "circuit_config.json",
        "edges": written,
        "bytes": size,
        "seconds": {
            "network": round(t_network, 3),
            "write": round(time.perf_counter() - t0, 3),
            "total": round(time.perf_counter() - t_all, 3),
        },
    }
