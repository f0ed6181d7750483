"""The network of a run as built, as a SONATA circuit: node populations per layer, edge populations per projection.

The network is not stored by the run; an engine builds the same network
again for the same config, seed and number of virtual processes, so the
export rebuilds it from the folder's ``config.toml`` without simulating,
checks every projection's synapse count against the manifest, and writes
each projection's edges as it reads them (memory is bounded by one
projection). Files, in ``<out>/network/``::

    circuit_config.json     SONATA circuit config (libsonata.CircuitConfig opens it)
    nodes.h5                simulated layers (relay, Izhikevich): point_neuron populations
    node_types.csv          their node types (NEST style: model_template nest:<model>, dynamics_params)
    virtual_nodes.h5        input layers (Poisson generators, or the pre-drawn trains): virtual populations
    virtual_node_types.csv
    edges.h5                one edge population per projection: source/target node ids, syn_weight (mV),
                            delay (ms), SONATA indices both ways
    edge_types.csv          one edge type per projection (static_synapse)
    components/*.json       each node type's parameters in NEST's names

Node ``k`` of a population is node ``k`` of the layer (as in ``spikes.h5``);
group ``0`` holds ``x``, ``y``, ``z`` (model units), ``row``, ``col`` and, for
Izhikevich layers, ``dynamics_params/{a, b, c, d, v_peak, v_init, u_init,
i_offset}`` in the model's names and units (:mod:`spiking.model.cells`).
Edges are sorted by target, then source.
"""

from __future__ import annotations

import csv
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

__all__ = ["NETWORK_DIR", "export_network", "edge_indices", "write_nodes", "write_edges"]

#: Folder of the SONATA network inside the export folder.
NETWORK_DIR = "network"
_INPUT_KINDS = ("poisson", "trains")


def edge_indices(node_of_edge: np.ndarray, n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """A SONATA edge index: for each node, its ranges of edge ids.

    Parameters
    ----------
    node_of_edge : ndarray of int, shape (n_edges,)
        The source (or target) node of each edge.
    n_nodes : int
        Nodes in the source (or target) population.

    Returns
    -------
    node_id_to_ranges : ndarray of uint64, shape (n_nodes, 2)
        ``[first, last)`` rows of ``range_to_edge_id`` of each node (empty ranges for nodes without edges).
    range_to_edge_id : ndarray of uint64, shape (n_ranges, 2)
        ``[first, last)`` edge ids of each run of consecutive edges of one node.
    """
    node_of_edge = np.asarray(node_of_edge, dtype=np.int64)
    m = node_of_edge.size
    order = np.argsort(node_of_edge, kind="stable")
    nodes = node_of_edge[order]
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


def _layer_params(layer) -> dict:
    """A layer's neuron parameters in the model's names (empty for generators and relays)."""
    from dataclasses import asdict

    return {k: float(v) for k, v in asdict(layer.cell).items()} if layer.cell is not None else {}


def write_nodes(path: Path, layers: list, type_ids: dict) -> None:
    """Write one node population per layer (``side**2`` nodes, grid order) into ``path``."""
    from ..model.geometry import grid_rows_cols

    with h5py.File(path, "w") as h5:
        for layer in layers:
            g = h5.create_group(f"nodes/{layer.name}")
            n = layer.size
            g.create_dataset("node_type_id", data=np.full(n, type_ids[layer.name], dtype=np.int64))
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
            for k, v in _layer_params(layer).items():
                grp.create_dataset(f"dynamics_params/{k}", data=np.full(n, v))
            g.attrs["kind"] = layer.kind
            g.attrs["side"] = layer.side
            g.attrs["extent"] = layer.extent


def write_edges(h5: h5py.File, p, edges, n_source: int, n_target: int) -> None:
    """Write one projection's edges as an edge population of ``h5`` (sorted by target, then source)."""
    order = np.lexsort((edges.sources, edges.targets))
    src, tgt = edges.sources[order].astype(np.uint64), edges.targets[order].astype(np.uint64)
    g = h5.create_group(f"edges/{p.name}")
    m = src.size
    _dataset(g, "source_node_id", src, node_population=p.source)
    _dataset(g, "target_node_id", tgt, node_population=p.target)
    _dataset(g, "edge_type_id", np.full(m, p.index, dtype=np.int64))
    _dataset(g, "edge_group_id", np.zeros(m, dtype=np.uint32))
    _dataset(g, "edge_group_index", np.arange(m, dtype=np.uint64))
    _dataset(g, "0/syn_weight", edges.weights[order].astype(np.float64))
    _dataset(g, "0/delay", edges.delays[order].astype(np.float64))
    for direction, nodes, n in (("source_to_target", src, n_source), ("target_to_source", tgt, n_target)):
        node_ranges, ranges = edge_indices(nodes, n)
        _dataset(g, f"indices/{direction}/node_id_to_ranges", node_ranges)
        _dataset(g, f"indices/{direction}/range_to_edge_id", ranges)
    for key in ("mask", "radius", "kernel", "p_center", "sigma", "weight", "delay", "delay_per_unit", "allow_autapses"):
        g.attrs[key] = getattr(p, key)


def _csv(rows: list[list]) -> str:
    """SONATA's space-separated CSV."""
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=" ", lineterminator="\n")
    w.writerows(rows)
    return buf.getvalue()


def _components(out: Path, model, engine_name: str) -> tuple[list, list]:
    """Node types (simulated, virtual) with their component files in ``out/components``."""
    from ..engines.nest.engine import NEST_MODELS, izhikevich_params

    (out / "components").mkdir()
    simulated, virtual = [], []
    for i, layer in enumerate(model.layers.values(), 1):
        template = f"{engine_name}:{NEST_MODELS[layer.kind]}" if engine_name == "nest" else layer.kind
        params = izhikevich_params(layer.cell) if layer.cell is not None else {}
        atomic_write_text(out / "components" / f"{layer.name}.json", json.dumps(params, indent=1) + "\n")
        if layer.kind in _INPUT_KINDS:
            virtual.append([i, "virtual", template, f"{layer.name}.json", layer.name])
        else:
            simulated.append([i, "point_process", template, f"{layer.name}.json", layer.name])
    atomic_write_text(out / "components" / "static_synapse.json", "{}\n")
    return simulated, virtual


def _circuit_config(model, virtual: list[str], projections: list[str]) -> dict:
    """The circuit config: paths relative to its folder (``$BASE_DIR`` = ``.``, as libsonata and NEST read it)."""
    simulated = [n for n in model.layers if n not in virtual]
    nodes = [
        {
            "nodes_file": "$BASE_DIR/nodes.h5",
            "node_types_file": "$BASE_DIR/node_types.csv",
            "populations": {n: {"type": "point_neuron"} for n in simulated},
        }
    ]
    if virtual:
        nodes.append(
            {
                "nodes_file": "$BASE_DIR/virtual_nodes.h5",
                "node_types_file": "$BASE_DIR/virtual_node_types.csv",
                "populations": {n: {"type": "virtual"} for n in virtual},
            }
        )
    edges = []
    if projections:
        edges.append(
            {
                "edges_file": "$BASE_DIR/edges.h5",
                "edge_types_file": "$BASE_DIR/edge_types.csv",
                "populations": {n: {"type": "chemical"} for n in projections},
            }
        )
    return {
        "manifest": {"$BASE_DIR": ".", "$COMPONENTS_DIR": "$BASE_DIR/components"},
        "components": {"point_neuron_models_dir": "$COMPONENTS_DIR", "synaptic_models_dir": "$COMPONENTS_DIR"},
        "networks": {"nodes": nodes, "edges": edges},
    }


def _rebuild(run, say):
    """The run's network, built again by its engine (no simulation); its synapse counts checked against the manifest."""
    from ..engines import get_engine
    from ..model.network import build_model

    model = build_model(run.config, stimuli=False)
    e = run.manifest.get("engine") or {}
    vps = int(e.get("virtual_processes") or run.manifest.get("threads", 1) * run.manifest.get("processes", 1))
    engine = get_engine(run.config.run.engine)
    t0 = time.perf_counter()
    engine.setup(model, vps)
    engine.build()
    counts = engine.connect() if model.connect else {}
    if counts is None:
        counts = engine.synapse_counts()
    say(f"rebuilt    {time.perf_counter() - t0:7.2f} s   {sum(counts.values()):,} synapses on {vps} virtual processes")
    expected = run.manifest.get("synapses") or {}
    for name in sorted(set(counts) | set(expected)):
        if counts.get(name) != expected.get(name):
            raise RunFolderError(
                f"{run.folder}: the rebuilt network differs from the run's ({name}: {counts.get(name)} synapses, "
                f"the run had {expected.get(name)}); it needs the run's engine version, config, seed and "
                f"{vps} virtual processes"
            )
    return model, engine


def _replace_dir(tmp: Path, final: Path) -> None:
    """Move ``tmp`` to ``final``, replacing an earlier export only once the new one is complete."""
    old = final.with_name(f".{final.name}.{os.getpid()}.old")
    if final.exists():
        os.replace(final, old)
    os.replace(tmp, final)
    shutil.rmtree(old, ignore_errors=True)


def _write_network(out: Path, run, model, engine, say) -> dict[str, int]:
    """Every file of the network into ``out``, projection after projection; edges written per projection."""
    expected = run.manifest.get("synapses") or {}
    simulated, virtual = _components(out, model, run.config.run.engine)
    header = ["node_type_id", "model_type", "model_template", "dynamics_params", "pop_name"]
    type_ids = {row[4]: row[0] for row in simulated + virtual}
    for rows, stem in ((simulated, "nodes"), (virtual, "virtual_nodes")):
        if rows:
            write_nodes(out / f"{stem}.h5", [model.layers[r[4]] for r in rows], type_ids)
            atomic_write_text(out / f"{stem.removesuffix('s')}_types.csv", _csv([header, *rows]))
    written: dict[str, int] = {}
    if model.projections and model.connect:
        with h5py.File(out / "edges.h5", "w") as h5:
            for p in model.projections:
                t = time.perf_counter()
                edges = engine.edges(p.name)
                if len(edges) != expected.get(p.name):
                    raise RunFolderError(
                        f"{run.folder}: the engine gave {len(edges)} edges of {p.name}, the run built {expected.get(p.name)}"
                    )
                write_edges(h5, p, edges, model.layers[p.source].size, model.layers[p.target].size)
                written[p.name] = len(edges)
                say(f"  {p.name:22s} {len(edges):>11,} edges  {time.perf_counter() - t:6.2f} s")
                del edges
        types = [["edge_type_id", "model_template", "dynamics_params", "pop_name"]]
        types += [[p.index, "static_synapse", "static_synapse.json", p.name] for p in model.projections]
        atomic_write_text(out / "edge_types.csv", _csv(types))
    config = _circuit_config(model, [r[4] for r in virtual], list(written))
    atomic_write_text(out / "circuit_config.json", json.dumps(config, indent=2) + "\n")
    return written


def export_network(run, out_dir=None, say=lambda text: None) -> dict:
    """Rebuild a complete run's network and write it as a SONATA circuit into ``<out_dir>/network/``.

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
        edges written), ``bytes`` (size of the folder), ``seconds`` (``rebuild``,
        ``write``, ``total``).

    Raises
    ------
    RunFolderError
        The run did not complete, the rebuilt network differs from the run's,
        or the folder cannot be written (one line).
    """
    from .nwb import require_complete

    require_complete(run)
    t_all = time.perf_counter()
    final = Path(out_dir if out_dir is not None else run.folder) / NETWORK_DIR
    tmp = final.with_name(f".{final.name}.{os.getpid()}.tmp")
    try:
        tmp.mkdir(parents=True)  # fails at once on a folder that cannot be written
    except OSError as err:
        raise RunFolderError(f"{final}: cannot be written ({err.strerror or str(err).splitlines()[0]})") from None
    try:
        model, engine = _rebuild(run, say)
        t_rebuild = time.perf_counter() - t_all
        t0 = time.perf_counter()
        written = _write_network(tmp, run, model, engine, say)
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
    size = sum(f.stat().st_size for f in final.rglob("*") if f.is_file())
    return {
        "folder": final,
        "circuit_config": final / "circuit_config.json",
        "edges": written,
        "bytes": size,
        "seconds": {
            "rebuild": round(t_rebuild, 3),
            "write": round(time.perf_counter() - t0, 3),
            "total": round(time.perf_counter() - t_all, 3),
        },
    }
