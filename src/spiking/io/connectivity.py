"""``connectivity.h5``: each projection as built, sampled (pure numpy + h5py).

For every projection the file holds the targets of the source nearest the
centre of its layer, and every connection into a seeded sample of targets
(sampled by :mod:`spiking.run.connectivity` through the engine), from which
:mod:`spiking.render.connectivity` draws the realised connection probability
against distance.

Layout::

    /<n>.<projection>/centre_source        attr: the source's node index
    /<n>.<projection>/centre_targets       int64: its targets' node indices
    /<n>.<projection>/sample_targets_all   int64: the sampled targets
    /<n>.<projection>/sources, targets     int64: every connection into the sample
"""

from __future__ import annotations

import os
from pathlib import Path

import h5py
import numpy as np

__all__ = ["SAMPLE_TARGETS", "centre_node", "sample_targets", "write_connectivity", "read_connectivity"]

#: Targets sampled per projection for the probability-against-distance check.
SAMPLE_TARGETS = 200


def centre_node(positions: np.ndarray) -> int:
    """Index of the node nearest the origin (the first of ties)."""
    return int(np.argmin(np.einsum("ij,ij->i", positions, positions)))


def sample_targets(n: int, k: int, seed: int) -> np.ndarray:
    """A seeded, sorted sample of ``min(n, k)`` target indices."""
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, min(n, k), replace=False))


def write_connectivity(path, data: dict) -> Path:
    """Write the sampled connectivity atomically."""
    path = Path(path)
    tmp = path.with_name(path.name + ".part")
    with h5py.File(tmp, "w") as h5:
        for key, d in data.items():
            g = h5.create_group(key)
            g.attrs["centre_source"] = int(d["centre_source"])
            g.create_dataset("centre_targets", data=np.asarray(d["centre_targets"], dtype=np.int64))
            g.create_dataset("sample_targets_all", data=np.asarray(d["targets_all"], dtype=np.int64))
            g.create_dataset("sources", data=np.asarray(d["sample_sources"], dtype=np.int64))
            g.create_dataset("targets", data=np.asarray(d["sample_targets"], dtype=np.int64))
    os.replace(tmp, path)
    return path


def read_connectivity(path) -> dict:
    """Read ``connectivity.h5`` back: key ``<n>.<projection>`` -> arrays."""
    out = {}
    with h5py.File(path, "r") as h5:
        for key, g in h5.items():
            out[key] = {
                "centre_source": int(g.attrs["centre_source"]),
                "centre_targets": g["centre_targets"][()],
                "targets_all": g["sample_targets_all"][()],
                "sources": g["sources"][()],
                "targets": g["targets"][()],
            }
    return out
