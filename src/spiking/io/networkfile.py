"""The drawn network as a folder of raw arrays: what engines instantiate, what the network cache keeps.

Layout of a network folder::

    network.json      {"format": "spiking-network", "version": 1, "key": ..., "seed": ...,
                       "resolution": ms, "projections": [{"name", "index", "source", "target",
                       "n_sources", "n_targets", "edges", "delay_steps"}, ...]}
    NN.offsets        int64, n_targets + 1: the edges of target k are offsets[k]:offsets[k + 1]
    NN.sources        int32, one per edge: the source node (grouped by target)
    NN.delays         int32, one per edge, only where the delay depends on distance
                      ("delay_steps": null); otherwise "delay_steps" holds the one value

``NN`` is the projection's number (01-18); arrays are little-endian, without
header, so a compiled program reads them as they are (Brian2's does). A folder
is written under a temporary name and renamed into place when complete, so a
reader never meets half of one. Weights and plasticity are not stored: they
come from the model (:meth:`NetworkFolder.edges`), so a network is reused for
any weight.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ..errors import RunFolderError
from ..model.connections import ProjectionEdges
from ..model.network import ProjectionSpec

__all__ = ["META", "FORMAT", "NetworkFolder", "write_network", "array_names"]

#: The folder's description.
META = "network.json"
#: What ``format`` says in it.
FORMAT = "spiking-network"
_VERSION = 1


def array_names(index: int) -> dict[str, str]:
    """File names of a projection's arrays: ``offsets``, ``sources``, ``delays``."""
    return {k: f"{index:02d}.{k}" for k in ("offsets", "sources", "delays")}


class NetworkFolder:
    """A network folder opened for reading (arrays are memory-mapped on demand).

    Raises :class:`~spiking.errors.RunFolderError` for a folder that is not one.
    """

    def __init__(self, folder):
        self.folder = Path(folder)
        try:
            meta = json.loads((self.folder / META).read_text())
        except (OSError, ValueError) as err:
            raise RunFolderError(f"{self.folder}: not a network folder ({META}: {err})") from None
        if meta.get("format") != FORMAT or meta.get("version") != _VERSION:
            raise RunFolderError(f"{self.folder}: not a network folder of this version ({META})")
        self.meta = meta
        self.key: str = meta.get("key", "")
        self.projections: dict[str, dict] = {p["name"]: p for p in meta["projections"]}

    def counts(self) -> dict[str, int]:
        """Edges per projection."""
        return {name: int(p["edges"]) for name, p in self.projections.items()}

    def _array(self, name: str, dtype, count: int) -> np.ndarray:
        path = self.folder / name
        if count == 0:
            return np.zeros(0, dtype=dtype)
        arr = np.memmap(path, dtype=dtype, mode="r")
        if arr.size != count:
            raise RunFolderError(f"{path}: {arr.size} values where {count} were written")
        return arr

    def path(self, index: int, kind: str) -> Path:
        """The file of one array of projection ``index`` (``offsets``, ``sources`` or ``delays``)."""
        return self.folder / array_names(index)[kind]

    def edges(self, p: ProjectionSpec) -> ProjectionEdges:
        """The edges of projection ``p`` (weight and plasticity from ``p``; arrays memory-mapped, read-only)."""
        meta = self.projections.get(p.name)
        if meta is None:
            raise RunFolderError(f"{self.folder}: no projection {p.name}")
        names = array_names(int(meta["index"]))
        n = int(meta["edges"])
        offsets = self._array(names["offsets"], np.int64, int(meta["n_targets"]) + 1)
        sources = self._array(names["sources"], np.int32, n)
        steps = meta["delay_steps"]
        delays = int(steps) if steps is not None else self._array(names["delays"], np.int32, n)
        return ProjectionEdges(
            name=p.name,
            index=int(meta["index"]),
            source=meta["source"],
            target=meta["target"],
            n_sources=int(meta["n_sources"]),
            n_targets=int(meta["n_targets"]),
            sources=sources,
            offsets=offsets,
            delay_steps=delays,
            weight=float(p.weight),
            resolution=float(self.meta["resolution"]),
            plastic=p.plasticity is not None,
        )

    def touch(self) -> None:
        """Mark the folder used now (the cache forgets the least recently used first)."""
        try:
            os.utime(self.folder / META)
        except OSError:
            pass


def write_network(folder, key: str, seed: int, resolution: float, edges: Iterable[ProjectionEdges]) -> NetworkFolder:
    """Write projections as they come into a new network folder ``folder`` (atomically: all or nothing).

    When ``folder`` appears meanwhile (another process wrote the same network),
    the new copy is dropped and that one is returned.
    """
    folder = Path(folder)
    tmp = folder.with_name(f".{folder.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        metas = []
        for e in edges:
            names = array_names(e.index)
            np.ascontiguousarray(e.offsets, dtype="<i8").tofile(tmp / names["offsets"])
            np.ascontiguousarray(e.sources, dtype="<i4").tofile(tmp / names["sources"])
            constant = e.delay_is_constant
            if not constant:
                np.ascontiguousarray(e.delay_steps, dtype="<i4").tofile(tmp / names["delays"])
            metas.append(
                {
                    "name": e.name,
                    "index": e.index,
                    "source": e.source,
                    "target": e.target,
                    "n_sources": e.n_sources,
                    "n_targets": e.n_targets,
                    "edges": len(e),
                    "delay_steps": int(e.delay_steps) if constant else None,
                }
            )
        meta = {
            "format": FORMAT,
            "version": _VERSION,
            "key": key,
            "seed": int(seed),
            "resolution": float(resolution),
            "projections": metas,
        }
        (tmp / META).write_text(json.dumps(meta, indent=1) + "\n")
        try:
            os.rename(tmp, folder)
        except OSError:
            if not (folder / META).is_file():
                raise
            shutil.rmtree(tmp, ignore_errors=True)  # another process was quicker
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return NetworkFolder(folder)
