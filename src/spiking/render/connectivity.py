"""Connectivity plots from ``connectivity.h5``: one source's targets, and probability against distance.

Per projection ``<n>.<name>``, into ``connectivity/``:

- ``<n>.<name>.png``: both layers' grids, the source nearest the centre, its
  targets, and the mask and kernel drawn around it (the original's
  ``layer/<n>.<projection>.png``);
- ``<n>.<name>-check.png``: the realised connection probability against
  distance over a sample of targets, with the configured kernel drawn over it
  and the chi-square test of the connections per distance bin against the
  kernel (:func:`spiking.validate.kernel.kernel_fit`) in its legend.

Figures are matplotlib ``Figure`` objects (no pyplot state), written
atomically by :func:`spiking.io.atomic.save_figure`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..io.atomic import save_figure
from ..io.connectivity import read_connectivity
from ..model.network import Model
from ..validate.kernel import kernel_fit

__all__ = ["plot_connectivity"]


def _grid_points(ax, layer, color, size, label):
    pos = layer.positions()
    step = max(1, int(np.ceil(layer.side / 60)))  # at most ~60 x 60 markers per layer
    keep = (np.arange(layer.side)[:, None] % step == 0) & (np.arange(layer.side)[None, :] % step == 0)
    sel = pos[keep.ravel()]
    suffix = f" (every {step}th)" if step > 1 else ""
    ax.scatter(
        sel[:, 0], sel[:, 1], s=size, c=color, marker="s", lw=0, label=f"{label} {layer.side}x{layer.side}{suffix}"
    )


def _targets_figure(p, model: Model, d: dict, path: Path) -> Path:
    from matplotlib.figure import Figure
    from matplotlib.patches import Circle

    src, tgt = model.layers[p.source], model.layers[p.target]
    spos, tpos = src.positions(), tgt.positions()
    centre = spos[d["centre_source"]]
    fig = Figure(figsize=(6.4, 6))
    ax = fig.subplots()
    half = src.extent / 2
    if p.mask == "circle":
        # the kernel around the centre source, inside the mask
        g = np.linspace(-p.radius, p.radius, 121)
        xx, yy = np.meshgrid(g, g)
        r = np.hypot(xx, yy)
        k = np.where(p.inside(r), p.probability(r), np.nan)
        ax.imshow(
            k,
            extent=[centre[0] - p.radius, centre[0] + p.radius, centre[1] - p.radius, centre[1] + p.radius],
            origin="lower",
            cmap="Greens",
            vmin=0,
            vmax=1,
            alpha=0.6,
            zorder=0,
        )
        ax.add_patch(Circle(centre, p.radius, fill=False, ec="k", lw=1.2, label=f"mask r = {p.radius:g}", zorder=3))
    _grid_points(ax, tgt, "#9ecae1", 4, f"{p.target}")
    if (src.side, src.name) != (tgt.side, tgt.name):
        _grid_points(ax, src, "#fdae6b", 2, f"{p.source}")
    t = tpos[d["centre_targets"]]
    ax.scatter(
        t[:, 0], t[:, 1], s=10, c="tab:blue", edgecolors="k", linewidths=0.3, zorder=4, label=f"targets ({len(t)})"
    )
    ax.scatter([centre[0]], [centre[1]], s=60, c="tab:red", marker="*", zorder=5, label="source")
    kernel = f"p(0) = {p.p_center:g}" + (f", gaussian sigma = {p.sigma:g}" if p.kernel == "gaussian" else ", constant")
    ax.set_title(f"{p.index}. {p.source} -> {p.target}\n{p.mask} mask, {kernel}, weight {p.weight:g} mV", fontsize=10)
    view = min(half, max(3 * p.radius, 0.1)) if p.mask == "circle" else min(half, 0.15)
    ax.set_xlim(centre[0] - view, centre[0] + view)
    ax.set_ylim(centre[1] - view, centre[1] + view)
    ax.set_aspect("equal")
    ax.set_xlabel("x (units)")
    ax.set_ylabel("y (units)")
    ax.legend(loc="upper right", fontsize=7, framealpha=0.85)
    fig.tight_layout()
    return save_figure(fig, path, dpi=80)


def _check_figure(p, model: Model, d: dict, path: Path) -> Path:
    from matplotlib.figure import Figure

    src, tgt = model.layers[p.source], model.layers[p.target]
    spos, tpos = src.positions(), tgt.positions()
    fig = Figure(figsize=(6.4, 4))
    ax = fig.subplots()
    if p.mask == "one_to_one":
        same = np.count_nonzero(d["sources"] == d["targets"])
        ax.bar(["same element", "other"], [same, len(d["sources"]) - same], color=["tab:blue", "tab:red"])
        ax.set_ylabel(f"connections into {len(d['targets_all'])} sampled targets")
        ax.set_title(f"{p.index}. {p.source} -> {p.target}: one to one")
    else:
        edges = np.linspace(0, p.radius, 13)
        # candidates: every (source, sampled target) pair inside the mask
        cand = np.zeros(len(edges) - 1)
        for k in d["targets_all"]:
            dist = np.linalg.norm(spos - tpos[k], axis=1)
            cand += np.histogram(dist[p.inside(dist)], edges)[0]
        real = np.histogram(np.linalg.norm(spos[d["sources"]] - tpos[d["targets"]], axis=1), edges)[0]
        mid = (edges[:-1] + edges[1:]) / 2
        ok = cand > 0
        phat = np.where(ok, real / np.maximum(cand, 1), np.nan)
        err = np.where(ok, np.sqrt(np.clip(phat * (1 - phat), 1e-12, None) / np.maximum(cand, 1)), np.nan)
        ax.errorbar(
            mid[ok],
            phat[ok],
            yerr=2 * err[ok],
            fmt="o",
            color="tab:blue",
            capsize=3,
            label=f"realised ({len(d['sources'])} synapses into {len(d['targets_all'])} targets, 2 s.e.)",
        )
        r = np.linspace(0, p.radius, 200)
        fit = kernel_fit(p, spos, tpos, d["sources"], d["targets"], target_sample=d["targets_all"])
        test = (
            f"chi-square {fit.chi2:.1f}, {fit.dof} d.o.f., p = {fit.p_value:.2g}" if fit.dof else "no chance involved"
        )
        ax.plot(r, p.probability(r), "k-", label=f"configured kernel ({test})")
        ax.set_xlim(0, p.radius)
        ax.set_ylim(0, max(1.05, np.nanmax(phat) * 1.1 if ok.any() else 1.05))
        ax.set_xlabel("distance (units)")
        ax.set_ylabel("connection probability")
        ax.set_title(f"{p.index}. {p.source} -> {p.target}: probability against distance")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path, dpi=80)


def plot_connectivity(folder, model: Model) -> list[Path]:
    """Draw both plots for every projection found in ``folder/connectivity.h5``.

    Returns the written paths; an empty list when the run sampled no connectivity.
    """
    folder = Path(folder)
    src = folder / "connectivity.h5"
    if not src.exists():
        return []
    data = read_connectivity(src)
    out = folder / "connectivity"
    out.mkdir(exist_ok=True)
    written = []
    by_key = {f"{p.index:02d}.{p.name}": p for p in model.projections}
    for key, d in data.items():
        p = by_key.get(key)
        if p is None:
            continue
        written.append(_targets_figure(p, model, d, out / f"{key}.png"))
        written.append(_check_figure(p, model, d, out / f"{key}-check.png"))
    return written
