"""What plastic projections learned, drawn: weight histograms over time, receptive fields and pattern selectivity.

From ``weights.h5`` and ``spikes.h5`` alone (no simulator). Files, relative to
the run folder::

    plasticity/weights-<projection>.png          the distribution of the weights at each recorded time
    plasticity/fields-<projection>.png           LGN -> V1: a sample of V1 neurons' weights on the retina grid,
                                                 at the start and the end, next to the patterns' rates
    plasticity/selectivity-<layer>.png           each neuron's selectivity index before and after learning
    plasticity/selectivity.csv                   layer, node, index and rates before and after, included
    plasticity/selectivity_summary.csv           per layer: neurons compared, mean index before and after,
                                                 their ratio, the Wilcoxon test

The selectivity index and its test are those of :mod:`spiking.analysis.selectivity`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..analysis.selectivity import MIN_SPIKES, SelectivityChange, pattern_counts, window_bounds
from ..io.atomic import atomic_write_csv, new_figure, save_figure
from ..io.weightfile import WEIGHTS_NAME, WeightProjection, open_weights, read_projections
from .source import RunSource, pattern_labels, stimulus_images
from .spikes import SpikeBlocks, layer_infos, open_spikes

__all__ = ["PLASTICITY_DIR", "FIELD_NEURONS", "write_plasticity", "selectivity_changes", "field_sample"]

#: Sub-folder of the run folder that holds the plasticity figures and tables.
PLASTICITY_DIR = "plasticity"
#: V1 neurons whose receptive fields are drawn per projection.
FIELD_NEURONS = 6
#: Bins of the weight histograms.
WEIGHT_BINS = 40
_RETINA = {"lgn_on": 1, "lgn_off": 2}  # index into stimulus_images' (image, on, off)
_OUTSIDE = "#c9dbe9"  # pixels outside a neuron's inputs (or the grid)


def selectivity_window(config) -> float:
    """``render.selectivity_window`` of a run, ms: when 0, the time before learning starts (the earliest
    ``stdp.start`` when every plastic projection has one), else a quarter of the run."""
    starts = [p.stdp.start for p in config.projections.values() if p.plasticity == "stdp"]
    learning_start = min(starts) if starts else 0.0
    return config.render.window(config.run.simulation_time, learning_start)


def selectivity_changes(src: RunSource, layers: list[str]) -> dict[str, SelectivityChange]:
    """Selectivity before and after learning of each recorded layer in ``layers`` (windows: ``render.selectivity_window``)."""
    windows = window_bounds(src.t_end, selectivity_window(src.config))
    out = {}
    with open_spikes(src.spikes_path) as h5:
        infos = {i.name: i for i in layer_infos(h5)}
        for layer in layers:
            if layer not in infos:
                continue
            blocks = SpikeBlocks(h5, layer, src.t_end)
            counts, time_ms = pattern_counts(blocks, infos[layer].n_nodes, src.schedule, src.patterns, windows)
            out[layer] = SelectivityChange.from_counts(counts, time_ms)
    return out


def _histograms(h5, proj: WeightProjection) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fraction of synapses per weight bin at each time (one row read at a time), bin edges (mV), mean weight."""
    ds = h5["edges"][proj.name]["weights"]
    w_max = proj.rule.w_max
    edges = np.linspace(min(0.0, w_max), max(0.0, w_max), WEIGHT_BINS + 1)
    hist = np.zeros((ds.shape[0], WEIGHT_BINS))
    mean = np.zeros(ds.shape[0])
    for k in range(ds.shape[0]):
        w = ds[k, :]
        hist[k] = np.histogram(w, edges)[0] / max(1, w.size)
        mean[k] = w.mean() if w.size else np.nan
    return hist, edges, mean


def plot_weights(h5, proj: WeightProjection, path: Path) -> tuple[Path, np.ndarray]:
    """The weight distribution over time: a colour per fraction of synapses, the mean weight on top; and that mean (mV)."""
    from matplotlib.colors import LogNorm

    hist, edges, mean = _histograms(h5, proj)
    t = proj.times / 1000.0
    fig = new_figure(figsize=(7.5, 3.6))
    ax = fig.add_subplot(1, 1, 1)
    if t.size > 1:
        mids = (t[1:] + t[:-1]) / 2
        t_edges = np.concatenate([[t[0] - (mids[0] - t[0])], mids, [t[-1] + (t[-1] - mids[-1])]])
    else:
        t_edges = np.array([t[0] - 0.5, t[0] + 0.5]) if t.size else np.array([0.0, 1.0])
    shown = np.where(hist > 0, hist, np.nan)
    lo = np.nanmin(shown) if np.isfinite(shown).any() else 1e-4
    mesh = ax.pcolormesh(t_edges, edges, shown.T, cmap="viridis", norm=LogNorm(vmin=max(lo, 1e-5), vmax=1.0))
    ax.plot(t, mean, color="tab:red", lw=1.5, label="mean weight")
    r = proj.rule
    if r.start > 0:
        ax.axvline(r.start / 1000.0, color="0.3", ls="--", lw=1, label="learning starts")
    ax.set_xlabel("model time (s)")
    ax.set_ylabel("weight (mV)")
    ax.set_title(
        f"{proj.name}: {proj.sources.size:,} synapses, {r.dependence} STDP, "
        f"a+ = {r.a_plus:g}, a- = {r.a_minus:g}, w_max = {r.w_max:g} mV",
        fontsize=9,
    )
    ax.legend(loc="upper right", fontsize=8, framealpha=0.6)
    fig.colorbar(mesh, ax=ax, label="fraction of synapses")
    fig.tight_layout()
    return save_figure(fig, path, dpi=100), mean


def field_sample(
    proj: WeightProjection, change: SelectivityChange | None, n: int = FIELD_NEURONS, seed: int = 1
) -> np.ndarray:
    """The V1 neurons whose fields are drawn: a seeded sample of those compared for selectivity (else of all targets).

    Returns node indices sorted by their selectivity after learning (most selective first) when known.
    """
    targets = np.unique(proj.targets)
    pool = targets
    if change is not None:
        compared = np.nonzero(change.included)[0]
        pool = np.intersect1d(compared, targets) if np.intersect1d(compared, targets).size else targets
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(pool, size=min(n, pool.size), replace=False)) if pool.size else pool
    if change is not None and pick.size:
        pick = pick[np.argsort(-np.nan_to_num(change.after[pick], nan=-1.0), kind="stable")]
    return pick


def plot_fields(
    h5, proj: WeightProjection, src: RunSource, nodes: np.ndarray, change: SelectivityChange | None, path: Path
) -> Path | None:
    """Each sampled neuron's weights from the LGN on the retina grid, at the start and the end, beside the patterns."""
    from matplotlib import colormaps

    images = stimulus_images(src)
    side = _side(src, proj.source)
    if side is None or not nodes.size:
        return None
    patterns = [p for p in src.patterns if images.get(p) is not None][:2]
    labels = pattern_labels(src.patterns)
    ds = h5["edges"][proj.name]["weights"]
    first, last = 0, ds.shape[0] - 1
    cols = len(patterns) + 2
    fig = new_figure(figsize=(1.9 * cols + 0.6, 1.9 * nodes.size + 0.5))
    lo_w, hi_w = sorted((0.0, proj.rule.w_max))
    inputs = [np.nonzero(proj.targets == node)[0] for node in nodes]
    # one crop size for every neuron: its inputs' extent on the grid, and a pixel around
    half = max([int(np.ceil(np.ptp(proj.sources[i] // side) / 2)) + 1 for i in inputs if i.size] + [1])
    for r, node in enumerate(nodes):
        idx = inputs[r]
        col, row = proj.sources[idx] // side, proj.sources[idx] % side
        r_mid = int(round(row.mean())) if idx.size else side // 2
        c_mid = int(round(col.mean())) if idx.size else side // 2
        panels = []
        rate_range = (src.config.retina.min_rate, src.config.retina.max_rate)
        for p in patterns:
            rates = images[p][_RETINA.get(proj.source, 1)]
            panels.append((_crop(rates, r_mid, c_mid, half), f"{labels[p]} (Hz)", "gray", rate_range))
        for k, when in ((first, "start"), (last, "end")):
            grid = np.full((side, side), np.nan)
            grid[row, col] = ds[k, idx] if idx.size else []
            panels.append((_crop(grid, r_mid, c_mid, half), f"weights, {when} (mV)", "magma", (lo_w, hi_w)))
        for c, (img, title, cmap, lim) in enumerate(panels):
            ax = fig.add_subplot(nodes.size, cols, r * cols + c + 1)
            im = ax.imshow(img, cmap=colormaps[cmap].with_extremes(bad=_OUTSIDE), vmin=lim[0], vmax=lim[1])
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(title, fontsize=8)
            if c == 0:
                si = ""
                if change is not None:
                    si = f"\nSI {change.before[node]:.2f} -> {change.after[node]:.2f}"
                ax.set_ylabel(f"{proj.target} {node}{si}", fontsize=7)
            if c == cols - 1:
                fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04).ax.tick_params(labelsize=6)
    fig.suptitle(f"{proj.name}: receptive fields of {nodes.size} V1 neurons", fontsize=9)
    fig.tight_layout()
    return save_figure(fig, path, dpi=100)


def _crop(img: np.ndarray, r: int, c: int, half: int) -> np.ndarray:
    """The ``2 half + 1`` square of ``img`` centred on ``(r, c)``, NaN outside the grid."""
    out = np.full((2 * half + 1, 2 * half + 1), np.nan)
    r0, c0 = r - half, c - half
    rs, cs = slice(max(r0, 0), min(r + half + 1, img.shape[0])), slice(max(c0, 0), min(c + half + 1, img.shape[1]))
    out[rs.start - r0 : rs.stop - r0, cs.start - c0 : cs.stop - c0] = img[rs, cs]
    return out


def _side(src: RunSource, layer: str) -> int | None:
    """Grid side of an LGN layer (the retina's)."""
    side = (src.manifest.get("sizes") or {}).get("retina_side")
    return int(side) if layer in _RETINA and side else None


def plot_selectivity(layer: str, change: SelectivityChange, window: float, path: Path) -> Path:
    """Each compared neuron's index after against before, and the two distributions."""
    fig = new_figure(figsize=(8.0, 3.6))
    a1, a2 = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    b, a = change.before[change.included], change.after[change.included]
    a1.scatter(b, a, s=6, alpha=0.5, color="#1f77b4", edgecolors="none")
    a1.plot([0, 1], [0, 1], color="0.5", lw=1, ls="--")
    a1.set_xlim(0, 1)
    a1.set_ylim(0, 1)
    a1.set_aspect("equal")
    a1.set_xlabel(f"index before (first {window / 1000:g} s)")
    a1.set_ylabel(f"index after (last {window / 1000:g} s)")
    bins = np.linspace(0, 1, 21)
    a2.hist(b, bins, alpha=0.6, label=f"before, mean {change.mean_before:.3f}", color="0.5")
    a2.hist(a, bins, alpha=0.6, label=f"after, mean {change.mean_after:.3f}", color="#d62728")
    a2.set_xlabel("selectivity index (r_max - r_min) / (r_max + r_min)")
    a2.set_ylabel("neurons")
    a2.legend(fontsize=8)
    fig.suptitle(
        f"{layer}: {change.n} neurons with >= {MIN_SPIKES} spikes in each window\nmean index x{change.ratio:.2f}, "
        f"Wilcoxon signed-rank (after > before) p = {change.p_value:.2g}",
        fontsize=9,
    )
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return save_figure(fig, path, dpi=100)


def _selectivity_tables(folder: Path, changes: dict, patterns: list[str], window: float) -> list[Path]:
    labels = pattern_labels(patterns)
    head = ["layer", "node", "index_before", "index_after", "included"]
    head += [f"rate_before_{labels[p]}_hz" for p in patterns] + [f"rate_after_{labels[p]}_hz" for p in patterns]
    rows = []
    for layer, ch in changes.items():
        for node in range(ch.before.size):
            rows.append(
                [layer, node, f"{ch.before[node]:.6g}", f"{ch.after[node]:.6g}", int(ch.included[node])]
                + [f"{x:.6g}" for x in ch.rates_before[:, node]]
                + [f"{x:.6g}" for x in ch.rates_after[:, node]]
            )
    summary = [
        [layer, ch.n, f"{ch.mean_before:.6g}", f"{ch.mean_after:.6g}", f"{ch.ratio:.6g}"]
        + [f"{ch.statistic:.6g}", f"{ch.p_value:.6g}", f"{window:g}", MIN_SPIKES]
        for layer, ch in changes.items()
    ]
    summary_head = ["layer", "neurons", "mean_before", "mean_after", "ratio", "wilcoxon_statistic", "p_value"]
    return [
        atomic_write_csv(folder / "selectivity.csv", head, rows),
        atomic_write_csv(folder / "selectivity_summary.csv", [*summary_head, "window_ms", "min_spikes"], summary),
    ]


def write_plasticity(src: RunSource, folder: Path | None = None) -> dict:
    """Draw what the plastic projections learned into ``plasticity/``; ``{}`` for a run without ``weights.h5``.

    Returns
    -------
    dict
        ``files`` (written), ``projections`` (name -> :class:`WeightProjection`), ``selectivity``
        (layer -> :class:`SelectivityChange`), ``window_ms``, and per projection ``fields`` (the nodes
        drawn) and ``mean_weights`` (mV at the first and the last time).
    """
    path = src.folder / WEIGHTS_NAME
    if not path.is_file():
        return {}
    folder = folder or src.folder / PLASTICITY_DIR
    folder.mkdir(parents=True, exist_ok=True)
    window = min(selectivity_window(src.config), src.t_end / 2)
    files: list[Path] = []
    fields: dict[str, list[int]] = {}
    means: dict[str, tuple[float, float]] = {}
    with open_weights(path) as h5:
        projections = read_projections(h5)
        feed = sorted({p.target for p in projections.values() if p.source in _RETINA})
        changes = selectivity_changes(src, feed) if src.t_end > 0 else {}
        for name, proj in projections.items():
            if proj.times.size:
                out, mean = plot_weights(h5, proj, folder / f"weights-{name}.png")
                files.append(out)
                means[name] = (float(mean[0]), float(mean[-1]))
            if proj.source in _RETINA and proj.times.size:
                nodes = field_sample(proj, changes.get(proj.target))
                out = plot_fields(h5, proj, src, nodes, changes.get(proj.target), folder / f"fields-{name}.png")
                if out is not None:
                    files.append(out)
                    fields[name] = [int(x) for x in nodes]
    for layer, ch in changes.items():
        files.append(plot_selectivity(layer, ch, window, folder / f"selectivity-{layer}.png"))
    if changes:
        files += _selectivity_tables(folder, changes, src.patterns, window)
    return {
        "files": files,
        "projections": projections,
        "selectivity": changes,
        "window_ms": window,
        "fields": fields,
        "mean_weights": means,
    }
