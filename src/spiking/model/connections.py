"""The network's connections, drawn once by the model (pure numpy).

Every projection's edges (source and target node, weight, delay, plastic or not)
are drawn here, with numpy, from random streams keyed by the run's seed, the
projection and a block of :data:`TARGET_BLOCK` targets: the same edges for any
number of threads, processes or engines, which only instantiate them. The rule a
draw follows is the projection's own, stated once in
:class:`~spiking.model.network.ProjectionSpec` (:meth:`~ProjectionSpec.inside`,
:meth:`~ProjectionSpec.probability`, :meth:`~ProjectionSpec.delay_steps`) on the
grid positions of :mod:`spiking.model.geometry`: every (source, target) pair
inside the mask connects, independently of the others, with probability
``p(d)``; delays are ``delay + delay_per_unit * d`` on the time grid.

How it is drawn, exactly and at a cost that grows with the edges made (not with
sources x targets):

* The sources around a target are enumerated on a *stencil*: the grid offsets
  from the source node nearest to the target (its anchor) that can lie inside
  the mask. Each offset carries ``q``, the kernel at the smallest distance the
  offset can have whatever the target's position within its anchor's grid
  element (the kernel decreases with distance), so ``q >= p(d)`` for every
  candidate; where both layers share one grid, ``q = p(d)``.
* Offsets are grouped in bins of ``q`` within a factor of two (and one bin for
  everything below 2^-9). In a bin whose largest ``q`` is ``p_b``, the
  candidates (targets of the block x offsets of the bin, in that order) are
  picked with probability ``p_b`` each, by geometric skipping, or, for
  ``p_b >= 1/4``, by a uniform number per candidate; a pick with uniform ``u``
  in ``[0, p_b)`` is kept when ``u < p(d)`` at its true distance. Each
  candidate is therefore connected with probability ``p(d)`` exactly, and only
  picks cost anything beyond the bin's count.

A projection's edges are held as :class:`ProjectionEdges`: sources grouped by
target (CSR), int32 node indices, delays in steps (one value, or one per edge
when they depend on distance). Within a target, sources come in the order of
the draw (by bin, then by offset): deterministic, not sorted.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from .geometry import grid_positions
from .network import LayerSpec, Model, ProjectionSpec

__all__ = [
    "TARGET_BLOCK",
    "WIRING_VERSION",
    "Edges",
    "ProjectionEdges",
    "Stencil",
    "stencil",
    "draw_block",
    "draw_projection",
    "draw_network",
    "candidates",
]

#: Targets drawn from one random stream (a fixed cut of every target layer).
TARGET_BLOCK = 2048
_BLOCK_BITS = 11  # TARGET_BLOCK == 2**_BLOCK_BITS
#: Part of every key of a drawn network: changes whenever the same seed would draw other edges.
WIRING_VERSION = 1
#: Tag that keeps these streams apart from other uses of the run's seed.
_STREAM_TAG = 0xED6E5
#: Offsets with ``q`` below ``2**-_TAIL_BIN`` share one bin.
_TAIL_BIN = 9
#: Bins whose largest ``q`` is at least this draw a uniform per candidate instead of skipping.
_DIRECT_P = 0.25


@dataclass(frozen=True)
class Edges:
    """Connections of one projection: parallel arrays, one entry per synapse.

    Attributes
    ----------
    sources, targets : ndarray of int64
        Node index within the source and the target layer.
    weights : ndarray of float64
        mV (the jump of the target's membrane potential).
    delays : ndarray of float64
        ms.
    """

    sources: np.ndarray
    targets: np.ndarray
    weights: np.ndarray
    delays: np.ndarray

    def __len__(self) -> int:
        return int(self.sources.size)


@dataclass(frozen=True)
class ProjectionEdges:
    """One projection's edges as drawn: sources grouped by target.

    Attributes
    ----------
    name : str
    index : int
        The projection's number (1-18).
    source, target : str
        Layer names.
    n_sources, n_targets : int
        Nodes of the source and target layer.
    sources : ndarray of int32, shape (n,)
        Source node of each edge; the edges of target ``k`` are ``offsets[k]:offsets[k + 1]``.
    offsets : ndarray of int64, shape (n_targets + 1,)
    delay_steps : int or ndarray of int32, shape (n,)
        The delay in time steps: one value for the whole projection, or one per edge.
    weight : float
        mV; the initial weight of a plastic projection.
    resolution : float
        The time step, ms.
    plastic : bool
    """

    name: str
    index: int
    source: str
    target: str
    n_sources: int
    n_targets: int
    sources: np.ndarray
    offsets: np.ndarray
    delay_steps: int | np.ndarray
    weight: float
    resolution: float
    plastic: bool = False

    def __len__(self) -> int:
        return int(self.sources.size)

    @classmethod
    def of(
        cls, p: ProjectionSpec, model: Model, sources: np.ndarray, offsets: np.ndarray, delay_steps
    ) -> ProjectionEdges:
        """The edges of projection ``p`` of ``model``: its names, sizes, weight and plasticity, with these arrays."""
        return cls(
            name=p.name,
            index=p.index,
            source=p.source,
            target=p.target,
            n_sources=model.layers[p.source].size,
            n_targets=model.layers[p.target].size,
            sources=sources,
            offsets=offsets,
            delay_steps=delay_steps,
            weight=float(p.weight),
            resolution=float(model.resolution),
            plastic=p.plasticity is not None,
        )

    @property
    def targets(self) -> np.ndarray:
        """Target node of each edge (int32), derived from the offsets."""
        counts = np.diff(self.offsets)
        return np.repeat(np.arange(self.n_targets, dtype=np.int32), counts)

    @property
    def delay_is_constant(self) -> bool:
        return np.ndim(self.delay_steps) == 0

    def delays(self) -> np.ndarray:
        """Delay of each edge, ms (steps times the resolution)."""
        steps = np.broadcast_to(np.asarray(self.delay_steps, dtype=np.int64), self.sources.shape)
        return steps * self.resolution

    def to_edges(self) -> Edges:
        """The edges as parallel int64 / float64 arrays."""
        return Edges(
            self.sources.astype(np.int64),
            self.targets.astype(np.int64),
            np.full(self.sources.size, float(self.weight)),
            self.delays(),
        )


@dataclass(frozen=True)
class Stencil:
    """The candidate offsets of one projection, and what drawing over them needs.

    ``di, dj`` (column and row offsets from the anchor) are grouped by bin:
    bin ``k`` is ``bins[k][0]:bins[k][1]`` with largest bound ``bins[k][2]``.
    ``padmap`` maps a source grid padded by ``pad`` elements on every side
    (``(col + pad) * padded + row + pad``) to the source node, or -1 outside
    the grid; ``lin`` is each offset's step in that padded index.
    """

    di: np.ndarray
    dj: np.ndarray
    q: np.ndarray
    lin: np.ndarray
    bins: tuple
    pad: int
    padded: int
    padmap: np.ndarray
    same_grid: bool


def stencil(p: ProjectionSpec, source: LayerSpec, target: LayerSpec) -> Stencil:
    """The stencil of a projection with a ``circle`` mask (see the module)."""
    if p.mask != "circle":
        raise ValueError(f"projection {p.name}: a stencil needs a circle mask, not {p.mask}")
    hs = source.extent / source.side
    same = source.side == target.side and source.extent == target.extent
    radius = p.mask_radius
    w = min(int(math.ceil(radius / hs)) + 1, source.side)
    i, j = np.meshgrid(np.arange(-w, w + 1), np.arange(-w, w + 1), indexing="ij")
    i, j = i.ravel(), j.ravel()
    if same:
        d_low = hs * np.sqrt(i * i + j * j)
    else:  # the target lies within half a source element of its anchor, in x and in y
        mx = np.maximum(0.0, (np.abs(i) - 0.5) * hs)
        my = np.maximum(0.0, (np.abs(j) - 0.5) * hs)
        d_low = np.sqrt(mx * mx + my * my) * (1.0 - 1e-9)
    keep = d_low <= radius * (1.0 + 1e-6)
    i, j, d_low = i[keep], j[keep], d_low[keep]
    q = np.minimum(1.0, p.probability(d_low) * (1.0 + 1e-12))
    i, j, q = i[q > 0], j[q > 0], q[q > 0]
    b = np.minimum(_TAIL_BIN, np.floor(-np.log2(q))).astype(np.int64)
    order = np.lexsort((j, i, b))
    i, j, q, b = i[order], j[order], q[order], b[order]
    bins = []
    for k in np.unique(b):
        lo, hi = np.searchsorted(b, k, "left"), np.searchsorted(b, k, "right")
        bins.append((int(lo), int(hi), float(q[lo:hi].max())))
    padded = source.side + 2 * w
    padmap = np.full((padded, padded), -1, dtype=np.int32)
    padmap[w : w + source.side, w : w + source.side] = np.arange(source.size, dtype=np.int32).reshape(
        source.side, source.side
    )
    return Stencil(
        di=i.astype(np.int64),
        dj=j.astype(np.int64),
        q=q,
        lin=(i * padded + j).astype(np.int32 if padded * padded < 2**31 else np.int64),
        bins=tuple(bins),
        pad=w,
        padded=padded,
        padmap=padmap.ravel(),
        same_grid=same,
    )


def _anchors(source: LayerSpec, target: LayerSpec, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column and row of the source node nearest to each target node ``t``."""
    nt, ns = target.side, source.side
    if ns == nt and source.extent == target.extent:
        return t // nt, t % nt
    e = source.extent
    ht, hs = target.extent / nt, e / ns
    x = -target.extent / 2 + (t // nt + 0.5) * ht
    y = target.extent / 2 - (t % nt + 0.5) * ht
    col = np.clip(np.rint((x + e / 2) / hs - 0.5), 0, ns - 1).astype(np.int64)
    row = np.clip(np.rint((e / 2 - y) / hs - 0.5), 0, ns - 1).astype(np.int64)
    return col, row


def _picks(rng: np.random.Generator, m: int, p: float) -> np.ndarray:
    """Indices in ``0 .. m - 1`` each picked with probability ``p`` (geometric skipping), ascending."""
    lp = math.log1p(-p)
    parts, last = [], -1
    while True:
        n = int(m * p + 4.0 * math.sqrt(m * p) + 32)
        gaps = np.floor(np.log(1.0 - rng.random(n)) / lp).astype(np.int64) + 1
        at = np.cumsum(gaps) + last
        if at[-1] >= m:
            parts.append(at[: np.searchsorted(at, m)])
            break
        parts.append(at)
        last = int(at[-1])
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


@dataclass(frozen=True)
class _Geometry:
    """Positions of both layers (as in :func:`grid_positions`), shared by every block of a projection."""

    sx: np.ndarray
    sy: np.ndarray
    tx: np.ndarray
    ty: np.ndarray


def _geometry(source: LayerSpec, target: LayerSpec) -> _Geometry:
    sp, tp = grid_positions(source.side, source.extent), grid_positions(target.side, target.extent)
    return _Geometry(sp[:, 0].copy(), sp[:, 1].copy(), tp[:, 0].copy(), tp[:, 1].copy())


def draw_block(
    p: ProjectionSpec,
    source: LayerSpec,
    target: LayerSpec,
    st: Stencil,
    seed: int,
    block: int,
    resolution: float,
    geometry: _Geometry | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The edges into targets ``block * TARGET_BLOCK ...`` of a projection (see the module).

    Returns
    -------
    targets : ndarray of int32
        Target node of each edge, ascending.
    sources : ndarray of int32
    delay_steps : ndarray of int32, or None
        Per edge when the delay depends on distance.
    """
    g = geometry or _geometry(source, target)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), _STREAM_TAG, int(p.index), int(block)]))
    t0 = block * TARGET_BLOCK
    t = np.arange(t0, min(t0 + TARGET_BLOCK, target.size), dtype=np.int64)
    col, row = _anchors(source, target, t)
    base = np.full(TARGET_BLOCK, 0, dtype=np.int64)
    base[: t.size] = (col + st.pad) * st.padded + (row + st.pad)
    # int32 indices where the block's candidates and the padded grid allow (half the memory traffic)
    index = np.int32 if TARGET_BLOCK * st.di.size < 2**31 and st.padmap.size < 2**31 else np.int64
    base = base.astype(index)
    no_autapse = p.source == p.target and not p.allow_autapses
    kept_t, kept_s, kept_d = [], [], []
    n = t.size
    for lo, hi, pb in st.bins:
        m = (hi - lo) << _BLOCK_BITS  # candidates offset-major: f = (offset - lo) * TARGET_BLOCK + target in block
        if pb >= _DIRECT_P:
            f = np.arange(m, dtype=index)
            u = rng.random(m)
        else:
            f = _picks(rng, m, pb).astype(index, copy=False)
            u = rng.random(f.size) * pb
        tl = f & (TARGET_BLOCK - 1)
        o = f >> _BLOCK_BITS
        o += lo
        sid = st.padmap[base[tl] + st.lin[o]]
        first = np.flatnonzero((sid >= 0) & (u < st.q[o]) & (tl < n))
        tl, sid, u = tl[first], sid[first], u[first]
        tt = tl + t0
        dx = g.sx[sid] - g.tx[tt]
        dy = g.sy[sid] - g.ty[tt]
        d = np.sqrt(dx * dx + dy * dy)
        keep = p.inside(d) & (u < p.probability(d))
        if no_autapse:
            keep &= sid != tt
        kept_t.append(tl[keep])
        kept_s.append(sid[keep])
        if p.delay_per_unit > 0:
            kept_d.append(d[keep])
    tl = np.concatenate(kept_t) if kept_t else np.zeros(0, np.int64)
    order = np.argsort(tl.astype(np.uint16), kind="stable")  # by target; TARGET_BLOCK < 2**16
    targets = (tl[order] + t0).astype(np.int32)
    sources = (np.concatenate(kept_s) if kept_s else np.zeros(0, np.int32))[order].astype(np.int32)
    steps = None
    if p.delay_per_unit > 0:
        steps = p.delay_steps(np.concatenate(kept_d)[order], resolution).astype(np.int32)
    return targets, sources, steps


def _csr(targets: np.ndarray, n_targets: int) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(np.bincount(targets, minlength=n_targets))]).astype(np.int64)


def draw_projection(p: ProjectionSpec, model: Model, threads: int = 1) -> ProjectionEdges:
    """Draw every edge of one projection (blocks of targets on up to ``threads`` threads; the same edges for any)."""
    source, target = model.layers[p.source], model.layers[p.target]
    h = model.resolution
    if p.mask == "one_to_one":
        if source.side != target.side:
            raise ValueError(f"projection {p.name}: one_to_one needs layers of equal size")
        n = target.size
        one = np.arange(n + 1)
        return ProjectionEdges.of(p, model, one[:n].astype(np.int32), one.astype(np.int64), int(p.delay_steps(0.0, h)))
    st = stencil(p, source, target)
    g = _geometry(source, target)
    blocks = range((target.size + TARGET_BLOCK - 1) // TARGET_BLOCK)

    def one(b: int):
        return draw_block(p, source, target, st, model.seed, b, h, g)

    if threads > 1 and len(blocks) > 1:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            parts = list(pool.map(one, blocks))
    else:
        parts = [one(b) for b in blocks]
    targets = np.concatenate([x[0] for x in parts])
    sources = np.concatenate([x[1] for x in parts])
    if p.delay_per_unit > 0:
        steps: int | np.ndarray = np.concatenate([x[2] for x in parts])
    else:
        steps = int(p.delay_steps(0.0, h))
    del parts
    return ProjectionEdges.of(p, model, sources, _csr(targets, target.size), steps)


def draw_network(
    model: Model, threads: int = 1, on_projection: Callable[[ProjectionEdges, float], None] | None = None
) -> Iterator[ProjectionEdges]:
    """Draw the model's projections one at a time (memory: one projection), in the model's order.

    ``on_projection(edges, seconds)`` is called after each is drawn.
    """
    import time

    for p in model.projections:
        t0 = time.perf_counter()
        edges = draw_projection(p, model, threads)
        if on_projection is not None:
            on_projection(edges, time.perf_counter() - t0)
        yield edges


def candidates(
    p: ProjectionSpec, source: LayerSpec, target: LayerSpec, targets: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every candidate pair of the given targets: inside the mask, by the one rule (no chance involved).

    Returns
    -------
    targets : ndarray of int64
        The target of each candidate (each of ``targets`` repeated for its candidates).
    sources : ndarray of int64
    distances : ndarray of float64
        Model units; the connection probability of a candidate is ``p.probability(distance)``.
    """
    targets = np.asarray(targets, dtype=np.int64)
    if p.mask == "one_to_one":
        return targets, targets.copy(), np.zeros(targets.size)
    st = stencil(p, source, target)
    g = _geometry(source, target)
    col, row = _anchors(source, target, targets)
    base = (col + st.pad) * st.padded + (row + st.pad)
    sid = st.padmap[base[:, None] + st.lin[None, :]].astype(np.int64)
    tt = np.broadcast_to(targets[:, None], sid.shape)
    ok = sid >= 0
    sid, tt = sid[ok], tt[ok]
    dx, dy = g.sx[sid] - g.tx[tt], g.sy[sid] - g.ty[tt]
    d = np.sqrt(dx * dx + dy * dy)
    inside = p.inside(d)
    if p.source == p.target and not p.allow_autapses:
        inside &= sid != tt
    return tt[inside], sid[inside], d[inside]
