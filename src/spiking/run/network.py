"""The network of a run: drawn by the model once, kept in a cache keyed by what shapes it, handed to the engine.

The edges of every projection are drawn with numpy
(:mod:`spiking.model.connections`) and written, projection by projection,
into a network folder (:mod:`spiking.io.networkfile`) that the engine
instantiates. The folder lives in the network cache
(``$SPIKING_CACHE/networks/<key>``, default ``~/.cache/spiking/networks``),
keyed by everything that decides the edges: the seed, the layers, each
projection's mask, kernel and delays, the time step and the drawing's
version (:func:`network_key`). A later run of the same network reads it
instead of drawing. The cache keeps at most ``$SPIKING_NETWORK_CACHE_GB``
gigabytes (default 4; 0 switches it off, and each run then draws into a
scratch folder removed when the run ends), forgetting the least recently used
networks first.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import describe
from ..io.networkfile import META, NetworkFolder, write_network
from ..machine import release_free_memory
from ..model.connections import WIRING_VERSION, draw_network
from ..model.network import Model

__all__ = ["NetworkInfo", "network_key", "network_cache_root", "cache_limit_bytes", "obtain_network"]

logger = logging.getLogger(__name__)

#: Default size of the network cache, GB (``$SPIKING_NETWORK_CACHE_GB``).
DEFAULT_CACHE_GB = 4.0


def network_key(model: Model) -> str:
    """A short hash of everything that decides the drawn edges (not weights, plasticity, stimulus or model time)."""
    desc = {
        "version": WIRING_VERSION,
        "seed": int(model.seed),
        "resolution": float(model.resolution),
        "layers": {n: [layer.side, float(layer.extent)] for n, layer in model.layers.items()},
        "projections": [
            [
                p.index,
                p.name,
                p.source,
                p.target,
                p.mask,
                float(p.radius),
                p.kernel,
                float(p.p_center),
                float(p.sigma),
                float(p.delay),
                float(p.delay_per_unit),
                bool(p.allow_autapses),
            ]
            for p in model.projections
        ],
    }
    return hashlib.sha256(json.dumps(desc, sort_keys=True).encode()).hexdigest()[:24]


def network_cache_root() -> Path:
    """``$SPIKING_CACHE/networks``, or ``~/.cache/spiking/networks``."""
    base = os.environ.get("SPIKING_CACHE") or str(Path.home() / ".cache" / "spiking")
    return Path(base).expanduser() / "networks"


def cache_limit_bytes() -> float:
    """The network cache's size limit (``$SPIKING_NETWORK_CACHE_GB``, default 4; 0: no cache)."""
    return max(0.0, _cache_gb(os.environ.get("SPIKING_NETWORK_CACHE_GB", ""))) * 1e9


@functools.lru_cache(maxsize=8)
def _cache_gb(text: str) -> float:
    """The value of ``$SPIKING_NETWORK_CACHE_GB`` (a value that is not a number said once: the default)."""
    try:
        return float(text) if text.strip() else DEFAULT_CACHE_GB
    except ValueError:
        logger.warning(
            "SPIKING_NETWORK_CACHE_GB=%r is not a number: the default, %g GB, is used", text, DEFAULT_CACHE_GB
        )
        return DEFAULT_CACHE_GB


@dataclass
class NetworkInfo:
    """Where a run's network came from, for the manifest.

    Attributes
    ----------
    key : str
    source : str
        ``drawn`` (now), ``cache`` (read from the cache) or ``file`` (``--network``).
    seconds : float
        Drawing (and writing) the network, s.
    synapses : dict
        Edges per projection.
    per_projection_s : dict
        Drawing time of each projection, s.
    scratch : Path or None
        A folder made for the network when the cache could not take it: the caller removes it.
    """

    key: str
    source: str
    seconds: float = 0.0
    synapses: dict = field(default_factory=dict)
    per_projection_s: dict = field(default_factory=dict)
    scratch: Path | None = None

    def to_dict(self) -> dict:
        return {
            "key": self.key,
            "source": self.source,
            "seconds": round(self.seconds, 3),
            "synapses_total": int(sum(self.synapses.values())),
        }


def _size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.iterdir() if f.is_file())


def _evict(root: Path, keep: Path, limit: float) -> None:
    """Forget the least recently used networks until the cache holds at most ``limit`` bytes (``keep`` stays)."""
    entries = []
    for d in root.iterdir():
        if d.name.startswith("."):
            # a folder being written; one left by a killed process goes once it is a day old
            try:
                if time.time() - d.stat().st_mtime > 86400:
                    shutil.rmtree(d, ignore_errors=True)
            except OSError:
                pass
            continue
        meta = d / META
        try:
            entries.append((meta.stat().st_mtime, _size(d), d))
        except OSError:
            shutil.rmtree(d, ignore_errors=True)  # no description: a broken entry
    total = sum(size for _, size, _ in entries)
    for _, size, d in sorted(entries):
        if total <= limit:
            break
        if d == keep:
            continue
        shutil.rmtree(d, ignore_errors=True)
        total -= size


def obtain_network(
    model: Model, threads: int = 1, scratch: Path | None = None, say=None
) -> tuple[NetworkFolder, NetworkInfo]:
    """The model's network as a folder: from the cache, or drawn now (into the cache, or into ``scratch``).

    ``scratch`` (a folder that exists) takes the network when the cache is
    off; the caller removes it. ``say(line)`` hears each projection drawn.
    """
    key = network_key(model)
    limit = cache_limit_bytes()
    root = network_cache_root()
    if limit > 0:
        folder = root / key
        if (folder / META).is_file():
            try:
                net = NetworkFolder(folder)
                net.touch()
                return net, NetworkInfo(key, "cache", 0.0, net.counts())
            except Exception as err:  # noqa: BLE001 - a broken entry is drawn again
                logger.warning(
                    "the cached network %s cannot be read (%s): it is removed and drawn again",
                    folder,
                    describe(err),
                    exc_info=logger.isEnabledFor(logging.DEBUG),
                )
                shutil.rmtree(folder, ignore_errors=True)
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            logger.warning(
                "the network cache %s cannot be created (%s): the network is drawn and not kept for later runs",
                root,
                describe(err),
            )
            limit = 0.0
    info = NetworkInfo(key, "drawn")
    if limit <= 0:
        if scratch is None:
            scratch = info.scratch = Path(tempfile.mkdtemp(prefix="spiking-network-"))
        folder = scratch / key

    def heard(edges, seconds: float) -> None:
        info.per_projection_s[edges.name] = round(seconds, 4)
        if say is not None:
            say(f"  {edges.name:22s} {len(edges):>11,} edges  {seconds:6.2f} s")

    t0 = time.perf_counter()
    net = write_network(folder, key, model.seed, model.resolution, draw_network(model, threads, heard))
    info.seconds = time.perf_counter() - t0
    info.synapses = net.counts()
    release_free_memory()  # the drawing's arrays are gone: the engine builds in their room
    if limit > 0:
        _evict(root, folder, limit)
    return net, info
