"""Reading a network the project wrote as SONATA (``spiking export --sonata-network``) back into a network folder.

``spiking run --network DIR`` runs the edges of ``DIR/circuit_config.json``
instead of drawing them. The file must be this project's layout for the very
config being run: a node population per layer of the model, of its size and
kind; an edge population per projection, between the right populations, with
every edge inside the projection's mask, its delays those of the projection's
rule on the time grid, and the weights of static projections the config's (a
plastic projection's ``syn_weight`` holds the weights a run ended with; the
run starts from the config's). Anything else is refused in one line
(:class:`~spiking.errors.NetworkFileError`). The edges are written, grouped by
target, into a network folder (:mod:`spiking.io.networkfile`) that the engines
instantiate as they do a drawn one.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import h5py
import numpy as np

from ..errors import NetworkFileError
from ..model.connections import ProjectionEdges
from ..model.network import Model
from .networkfile import NetworkFolder, write_network

__all__ = ["read_sonata_network"]


def _resolve(path: str, manifest: dict, base: Path) -> Path:
    """A circuit config path with its ``$VARIABLES`` replaced, relative to the config's folder."""
    for _ in range(10):
        if not path.startswith("$"):
            break
        key = next((k for k in sorted(manifest, key=len, reverse=True) if path.startswith(k)), None)
        if key is None:
            raise NetworkFileError(f"{base}: circuit config path {path!r} names no variable of its manifest")
        path = str(manifest[key]) + path[len(key) :]
    return (base / path).resolve()


def _circuit(directory: Path) -> tuple[dict[str, Path], dict[str, Path]]:
    """The node and edge populations of a circuit config: population name -> h5 file."""
    config_path = directory / "circuit_config.json" if directory.is_dir() else directory
    try:
        config = json.loads(config_path.read_text())
    except OSError as err:
        raise NetworkFileError(f"{config_path}: cannot be read ({err.strerror or err})") from None
    except ValueError as err:
        raise NetworkFileError(f"{config_path}: not a SONATA circuit config ({err})") from None
    base = config_path.parent
    manifest = dict(config.get("manifest") or {})
    manifest.setdefault("$BASE_DIR", ".")
    nodes, edges = {}, {}
    try:
        for entry in config["networks"]["nodes"]:
            for pop in entry["populations"]:
                nodes[pop] = _resolve(entry["nodes_file"], manifest, base)
        for entry in config["networks"].get("edges", []):
            for pop in entry["populations"]:
                edges[pop] = _resolve(entry["edges_file"], manifest, base)
    except (KeyError, TypeError) as err:
        raise NetworkFileError(f"{config_path}: not a SONATA circuit config (no {err})") from None
    return nodes, edges


def _check_nodes(model: Model, nodes: dict[str, Path]) -> None:
    if set(nodes) != set(model.layers):
        raise NetworkFileError(
            f"the network's node populations ({', '.join(sorted(nodes))}) are not the config's layers "
            f"({', '.join(sorted(model.layers))})"
        )
    for name, layer in model.layers.items():
        try:
            with h5py.File(nodes[name], "r") as h5:
                g = h5[f"nodes/{name}"]
                size, kind = g["node_type_id"].shape[0], g.attrs.get("kind")
        except (OSError, KeyError) as err:
            raise NetworkFileError(f"{nodes[name]}: no node population {name} ({err})") from None
        if size != layer.size:
            raise NetworkFileError(f"node population {name} has {size} nodes, the config's layer {layer.size}")
        if kind is not None and str(kind) != layer.kind:
            raise NetworkFileError(f"node population {name} is a {kind} layer, the config's is {layer.kind}")


def _edges_of(model: Model, p, path: Path) -> ProjectionEdges:
    """One projection's edges from the file, checked against the config's rule, grouped by target."""
    h = model.resolution
    src_layer, tgt_layer = model.layers[p.source], model.layers[p.target]
    try:
        with h5py.File(path, "r") as h5:
            g = h5[f"edges/{p.name}"]
            s_pop = g["source_node_id"].attrs.get("node_population")
            t_pop = g["target_node_id"].attrs.get("node_population")
            sources = g["source_node_id"][()].astype(np.int64)
            targets = g["target_node_id"][()].astype(np.int64)
            weights = g["0/syn_weight"][()]
            delays = g["0/delay"][()]
    except (OSError, KeyError) as err:
        raise NetworkFileError(f"{path}: no edge population {p.name} in this project's layout ({err})") from None
    as_text = [x.decode() if isinstance(x, bytes) else str(x) for x in (s_pop, t_pop)]
    if as_text != [p.source, p.target]:
        raise NetworkFileError(
            f"edge population {p.name} joins {as_text[0]} to {as_text[1]}, the config {p.source} to {p.target}"
        )
    if sources.size and (sources.min() < 0 or sources.max() >= src_layer.size or targets.max() >= tgt_layer.size):
        raise NetworkFileError(f"edge population {p.name} names nodes outside its layers")
    if p.plasticity is None and sources.size and not np.all(weights == p.weight):
        raise NetworkFileError(
            f"edge population {p.name}: weights {float(np.min(weights)):g} to {float(np.max(weights)):g} mV, "
            f"the config's {p.weight:g} mV"
        )
    steps = np.floor(delays / h + 0.5).astype(np.int64)
    if sources.size and np.max(np.abs(steps * h - delays)) > 1e-6 * h:
        raise NetworkFileError(f"edge population {p.name}: delays off the {h:g} ms time grid")
    if p.mask == "one_to_one":
        d = np.zeros(sources.size)
        inside = sources == targets
    else:
        sp, tp = src_layer.positions(), tgt_layer.positions()
        d = np.linalg.norm(sp[sources] - tp[targets], axis=1)
        inside = p.inside(d)
    if not np.all(inside):
        raise NetworkFileError(f"edge population {p.name}: {int((~inside).sum())} edges outside the config's mask")
    want = p.delay_steps(d, h)
    if not np.array_equal(steps, want):
        raise NetworkFileError(
            f"edge population {p.name}: {int((steps != want).sum())} delays differ from the config's "
            f"{p.delay:g} + {p.delay_per_unit:g} * distance ms"
        )
    key = targets.astype(np.uint16) if tgt_layer.size <= 1 << 16 else targets
    order = np.argsort(key, kind="stable")
    targets, sources, steps = targets[order], sources[order], steps[order]
    offsets = np.concatenate([[0], np.cumsum(np.bincount(targets, minlength=tgt_layer.size))]).astype(np.int64)
    steps_out = int(p.delay_steps(0.0, h)) if p.delay_per_unit == 0 else steps.astype(np.int32)
    return ProjectionEdges.of(p, model, sources.astype(np.int32), offsets, steps_out)


def read_sonata_network(directory, model: Model, folder) -> NetworkFolder:
    """Check a SONATA network against the model and write its edges into the new network folder ``folder``.

    ``directory`` is the folder of ``circuit_config.json`` (or the file).
    Raises :class:`~spiking.errors.NetworkFileError` (one line) when it is not
    this project's layout or does not match the model.
    """
    directory = Path(directory)
    nodes, edges = _circuit(directory)
    _check_nodes(model, nodes)
    names = {p.name for p in model.projections}
    if set(edges) != names:
        extra, lacking = sorted(set(edges) - names), sorted(names - set(edges))
        raise NetworkFileError(
            "the network's edge populations are not the config's projections"
            + (f"; not in the config: {', '.join(extra)}" if extra else "")
            + (f"; missing: {', '.join(lacking)}" if lacking else "")
        )
    digest = hashlib.sha256(str(directory.resolve()).encode()).hexdigest()[:16]
    drawn = (_edges_of(model, p, edges[p.name]) for p in model.projections)
    return write_network(folder, f"file-{digest}", model.seed, model.resolution, drawn)
