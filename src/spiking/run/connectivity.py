"""Sampling the connectivity as built for ``connectivity.h5``: from the drawn network, or through the engine."""

from __future__ import annotations

import numpy as np

from ..io.connectivity import SAMPLE_TARGETS, centre_node, sample_targets
from ..model.network import Model

__all__ = ["collect_connectivity", "sample_network"]


def sample_network(network, model: Model) -> dict:
    """The same sample as :func:`collect_connectivity`, read from the model's drawn network (no engine asked)."""
    out = {}
    for p in model.projections:
        e = network.edges(p)
        samples = sample_targets(model.layers[p.target].size, SAMPLE_TARGETS, model.seed)
        centre = centre_node(model.layers[p.source].positions())
        offsets = np.asarray(e.offsets)
        counts = offsets[samples + 1] - offsets[samples]
        sample_sources = np.concatenate([np.asarray(e.sources[offsets[t] : offsets[t + 1]]) for t in samples])
        centre_targets = e.targets[np.asarray(e.sources) == centre]
        out[f"{p.index:02d}.{p.name}"] = {
            "centre_source": centre,
            "centre_targets": np.sort(centre_targets).astype(np.int64),
            "targets_all": samples,
            "sample_sources": sample_sources.astype(np.int64),
            "sample_targets": np.repeat(samples, counts).astype(np.int64),
        }
    return out


def collect_connectivity(engine, model: Model, parallel) -> dict | None:
    """Sample every projection through the engine; merged over processes on the root (None elsewhere).

    One query per target layer (the connections into its sampled targets) and
    one per source layer (the targets of its centre node) serve all projections.
    """
    empty = np.zeros(0, dtype=np.int64)
    incoming, outgoing, samples, centres = {}, {}, {}, {}
    for name, layer in model.layers.items():
        samples[name] = sample_targets(layer.size, SAMPLE_TARGETS, model.seed)
        centres[name] = centre_node(layer.positions())
    for name in {p.target for p in model.projections}:
        incoming[name] = engine.incoming(name, samples[name])
    for name in {p.source for p in model.projections}:
        outgoing[name] = engine.outgoing(name, centres[name])
    parts = parallel.gather((incoming, outgoing))
    if parts is None:
        return None
    out = {}
    for p in model.projections:
        into = [part[0].get(p.target, {}).get(p.source, (empty, empty)) for part in parts]
        out_of = [part[1].get(p.source, {}).get(p.target, empty) for part in parts]
        out[f"{p.index:02d}.{p.name}"] = {
            "centre_source": centres[p.source],
            "centre_targets": np.sort(np.concatenate(out_of)),
            "targets_all": samples[p.target],
            "sample_sources": np.concatenate([a for a, _ in into]),
            "sample_targets": np.concatenate([b for _, b in into]),
        }
    return out
