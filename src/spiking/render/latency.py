"""With latency coding: when each neuron first responds to each stimulus, as maps and as the order in which layers respond.

For every recorded layer and the first epoch of every pattern, each neuron's
first spike after the epoch starts (ms after its onset): ``rates/first_spikes.csv``
(per layer and epoch: neurons, how many responded, the first, median and
10th and 90th percentile of their latencies) and ``rates/first_spikes.png``
(a map per layer and pattern, and the share of each layer that has responded
against time after onset). Reads ``spikes.h5`` alone.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..io.atomic import atomic_write_csv, new_figure, save_figure
from ..io.spikefile import load_spikes
from ..model.geometry import nodes_to_image
from .source import RunSource, pattern_labels

__all__ = ["FIRST_SPIKES_CSV", "FIRST_SPIKES_PNG", "first_spikes", "write_first_spikes"]

FIRST_SPIKES_CSV = "first_spikes.csv"
FIRST_SPIKES_PNG = "first_spikes.png"


def first_spikes(node_ids: np.ndarray, times: np.ndarray, n_nodes: int, start: float, stop: float) -> np.ndarray:
    """Each node's first spike in ``(start, stop]`` as ms after ``start`` (NaN: none)."""
    keep = (times > start) & (times <= stop)
    first = np.full(n_nodes, np.inf)
    np.minimum.at(first, node_ids[keep], times[keep] - start)
    return np.where(np.isfinite(first), first, np.nan)


def write_first_spikes(src: RunSource, folder: Path) -> dict:
    """The table and the figure of first spikes into ``folder``; what was written (empty without latency coding)."""
    if src.config.retina.coding != "latency":
        return {}
    spikes = load_spikes(src.spikes_path)
    epochs = {}
    for e in src.schedule:
        if e.pattern not in epochs and e.start < src.t_end:
            epochs[e.pattern] = e
    layers = [name for name in spikes if spikes[name].side > 0]
    labels = pattern_labels(list(epochs))
    rows, maps, curves = [], {}, {}
    for name in layers:
        s = spikes[name]
        for pattern, e in epochs.items():
            lat = first_spikes(s.node_ids, s.times, s.n_nodes, e.start, min(e.stop, src.t_end))
            got = lat[np.isfinite(lat)]
            q = np.percentile(got, [10, 50, 90]) if got.size else [np.nan] * 3
            rows.append(
                [name, f"{e.start:g}", pattern, s.n_nodes, int(got.size)]
                + [f"{x:.4g}" for x in (got.min() if got.size else np.nan, *q)]
            )
            maps[(name, pattern)] = nodes_to_image(lat, s.side)
            curves[(name, pattern)] = np.sort(got)
    folder.mkdir(parents=True, exist_ok=True)
    csv_path = atomic_write_csv(
        folder / FIRST_SPIKES_CSV,
        ["layer", "epoch_start_ms", "pattern", "neurons", "responded", "first_ms", "q10_ms", "median_ms", "q90_ms"],
        rows,
    )
    png = _figure(folder / FIRST_SPIKES_PNG, layers, epochs, labels, maps, curves, src)
    return {"files": [csv_path, png], "rows": rows, "figure": png}


def _figure(path: Path, layers, epochs, labels, maps, curves, src: RunSource) -> Path:
    cols = max(1, len(epochs))
    width = 3.0 * cols + 4.0
    fig = new_figure(figsize=(width, 2.6 * len(layers) + 0.6))
    grid = fig.add_gridspec(max(1, len(layers)), cols + 1, width_ratios=[1.0] * cols + [1.6])
    longest = max((e.stop - e.start for e in epochs.values()), default=1.0)
    seen = np.concatenate([c for c in curves.values() if c.size] or [np.zeros(1)])
    lo, hi = float(np.percentile(seen, 1)), float(np.percentile(seen, 99))
    hi = min(longest, max(hi, lo + 1.0))
    im = None
    for i, name in enumerate(layers):
        for j, pattern in enumerate(epochs):
            ax = fig.add_subplot(grid[i, j])
            img = np.ma.masked_invalid(maps[(name, pattern)])
            im = ax.imshow(img, cmap="viridis_r", vmin=lo, vmax=hi, interpolation="nearest")
            im.cmap.set_bad("0.85")
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(f"{labels[pattern]}", fontsize=8)
            if j == 0:
                ax.set_ylabel(name)
        ax = fig.add_subplot(grid[i, cols])
        for pattern in epochs:
            c = curves[(name, pattern)]
            n = maps[(name, pattern)].size
            if c.size:
                ax.step(np.concatenate([[0.0], c]), np.arange(c.size + 1) / n, where="post", label=labels[pattern])
        ax.set_xlim(0, min(longest, 1.15 * hi + 1.0))
        ax.set_ylim(0, 1)
        ax.set_ylabel("share responded")
        if i == len(layers) - 1:
            ax.set_xlabel("ms after the pattern's onset")
        ax.legend(fontsize=6, loc="lower right")
    r = src.config.retina
    fig.suptitle(
        f"First spike after each pattern's onset (ms; grey: none). Retina: one spike per pixel, "
        f"{r.latency_min:g} to {r.latency_max:g} ms",
        fontsize=9,
    )
    fig.tight_layout()
    if im is not None:
        fig.colorbar(im, ax=fig.axes[: len(layers) * (cols + 1)], shrink=0.5, label="first spike (ms after onset)")
    return save_figure(fig, path, dpi=80)
