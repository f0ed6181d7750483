"""Rates of a run: population rate over time, raster, mean rate per layer and pattern, per-neuron rate maps."""

from __future__ import annotations

import io
import logging
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..analysis.layers import epoch_pattern_index
from ..io.atomic import atomic_write_bytes, atomic_write_csv, new_figure, save_figure
from ..model.geometry import nodes_to_image
from .frames import frame_count, frame_index
from .source import RunSource, pattern_labels
from .spikes import LayerInfo, SpikeBlocks, layer_infos, open_spikes

__all__ = [
    "RATES_DIR",
    "RateRow",
    "LayerRates",
    "rate_bin_ms",
    "epoch_pattern_index",
    "pattern_times",
    "collect_rates",
    "rate_rows",
    "write_rates",
    "ratemap_image",
]

logger = logging.getLogger(__name__)

#: Sub-folder of the run folder that holds the rate plots and tables.
RATES_DIR = "rates"
#: Most neurons per layer drawn in the raster plot, and most points per layer.
RASTER_NEURONS = 400
RASTER_POINTS = 200_000


@dataclass(frozen=True)
class RateRow:
    """One row of ``rates_by_pattern.csv``: a layer's mean rate under a pattern over all its epochs."""

    layer: str
    pattern: str
    mean_rate_hz: float
    spikes: int
    time_ms: float


@dataclass
class LayerRates:
    """What one pass over a layer's spikes gives.

    Attributes
    ----------
    info : LayerInfo
    population : ndarray of int64, shape (n_bins,)
        Spikes of the whole layer per rate bin.
    by_pattern : ndarray of int64, shape (n_patterns, n_nodes)
        Spikes of each node under each pattern.
    raster_nodes : ndarray of int64, shape (m,)
        The nodes drawn in the raster plot (sorted).
    raster_t, raster_row : ndarray, shape (k,)
        Their spikes: time (ms) and position of the node in ``raster_nodes``.
    """

    info: LayerInfo
    population: np.ndarray
    by_pattern: np.ndarray
    raster_nodes: np.ndarray
    raster_t: np.ndarray
    raster_row: np.ndarray


def rate_bin_ms(t_end: float, resolution: float = 0.1) -> float:
    """Bin of the population rate plot: 5 ms, or ``t_end / 2000`` for long runs (a multiple of ``resolution``)."""
    b = max(5.0, t_end / 2000.0)
    if resolution > 0:
        b = math.ceil(b / resolution - 1e-9) * resolution
    return float(b)


def pattern_times(src: RunSource, patterns: list[str]) -> np.ndarray:
    """Time each pattern was shown up to ``t_end``, ms, over all its epochs; shape (n_patterns,)."""
    out = np.zeros(len(patterns))
    for e in src.schedule:
        dt = min(e.stop, src.t_end) - max(e.start, 0.0)
        if dt > 0:
            out[patterns.index(e.pattern)] += dt
    return out


def collect_rates(src: RunSource, h5, info: LayerInfo, bin_ms: float, patterns: list[str]) -> LayerRates:
    """One pass over a layer's spikes, block by block: population counts, counts per pattern and node, raster sample."""
    n = info.n_nodes
    n_bins = frame_count(src.t_end, bin_ms)
    pop = np.zeros(n_bins, dtype=np.int64)
    by_pattern = np.zeros(len(patterns) * n, dtype=np.int64)
    starts = np.array([e.start for e in src.schedule], dtype=float)
    epoch_pat = np.array([patterns.index(e.pattern) for e in src.schedule], dtype=np.int64)
    # raster: evenly spaced nodes, as many as keep the expected points under the cap
    per_node = info.n_spikes / max(1, n)
    m = int(min(n, RASTER_NEURONS, max(1, RASTER_POINTS // max(1.0, per_node))))
    nodes = np.unique(np.linspace(0, n - 1, m).round().astype(np.int64)) if n else np.zeros(0, np.int64)
    row_of = np.full(n + 1, -1, dtype=np.int64)
    row_of[nodes] = np.arange(nodes.size)
    rt, rr = [], []
    kept = 0
    for ids, t in SpikeBlocks(h5, info.name, src.t_end):
        ok = (ids >= 0) & (ids < n) & (t >= 0)
        if not ok.all():
            ids, t = ids[ok], t[ok]
        if n_bins:
            k = frame_index(t, bin_ms, src.t_end)
            pop += np.bincount(k[k >= 0], minlength=n_bins)
        if starts.size:
            e = epoch_pattern_index(t, starts, src.t_end)
            good = e >= 0
            p = epoch_pat[e[good]]
            by_pattern += np.bincount(p * n + ids[good], minlength=by_pattern.size)
        r = row_of[ids]
        sel = r >= 0
        if sel.any() and kept < RASTER_POINTS:
            take = min(int(sel.sum()), RASTER_POINTS - kept)
            rt.append(t[sel][:take])
            rr.append(r[sel][:take])
            kept += take
    return LayerRates(
        info=info,
        population=pop,
        by_pattern=by_pattern.reshape(len(patterns), n),
        raster_nodes=nodes,
        raster_t=np.concatenate(rt) if rt else np.zeros(0),
        raster_row=np.concatenate(rr) if rr else np.zeros(0, np.int64),
    )


# ---- plots ---------------------------------------------------------------------------


def _mpl(text: str) -> str:
    """Text for matplotlib: ``$`` would start mathtext."""
    return str(text).replace("$", r"\$")


def _pattern_colours(patterns: list[str]) -> dict[str, tuple]:
    from matplotlib import colormaps

    cmap = colormaps["tab10"]
    return {p: cmap(i % 10) for i, p in enumerate(patterns)}


def _shade_epochs(ax, src: RunSource, colours: dict, labels: dict | None = None) -> None:
    """Shade each pattern's epochs (one call per pattern) and, if few, write the pattern in each."""
    for p, c in colours.items():
        spans = [
            (e.start, min(e.stop, src.t_end) - e.start) for e in src.schedule if e.pattern == p and e.start < src.t_end
        ]
        if spans:
            ax.broken_barh(
                spans, (0, 1), transform=ax.get_xaxis_transform(), facecolors=[(*c[:3], 0.13)], edgecolors="none"
            )
    if labels is not None:
        shown = [e for e in src.schedule if e.start < src.t_end]
        if len(shown) <= 24:
            for e in shown:
                mid = (e.start + min(e.stop, src.t_end)) / 2
                ax.text(
                    mid,
                    1.02,
                    _mpl(labels[e.pattern]),
                    transform=ax.get_xaxis_transform(),
                    ha="center",
                    va="bottom",
                    fontsize=7,
                    clip_on=False,
                )


def _legend_patches(colours: dict, labels: dict):
    from matplotlib.patches import Patch

    return [Patch(facecolor=(*c[:3], 0.3), label=_mpl(labels[p])) for p, c in colours.items()]


def plot_population(
    src: RunSource, results: list[LayerRates], bin_ms: float, path: Path, patterns: list[str], labels: dict
) -> Path:
    """``population_rates.png``: rate per neuron (Hz) of each layer in bins of ``bin_ms``, epochs shaded."""
    n = max(1, len(results))
    fig = new_figure(figsize=(10, 1.1 + 1.45 * n))
    colours = _pattern_colours(patterns)
    axes = fig.subplots(n, 1, sharex=True, squeeze=False)[:, 0]
    edges = np.arange(0, (results[0].population.size if results else 0) + 1) * bin_ms
    for ax, r, i in zip(axes, results, range(n)):
        widths = np.minimum(edges[1:], src.t_end) - edges[:-1]
        rate = r.population / (max(1, r.info.n_nodes) * np.maximum(widths, 1e-12) / 1000.0)
        _shade_epochs(ax, src, colours, labels if i == 0 else None)
        if rate.size:
            ax.stairs(rate, np.minimum(edges, src.t_end), color="C0", linewidth=0.9)
        ax.set_ylabel(f"{_mpl(r.info.name)}\n(Hz)")
        ax.set_ylim(bottom=0)
        ax.margins(x=0)
        ax.grid(alpha=0.3, linewidth=0.5)
    axes[-1].set_xlabel("time (ms)")
    axes[-1].set_xlim(0, max(src.t_end, 1e-9))
    fig.suptitle(f"Population rate: spikes per neuron per second, {bin_ms:g} ms bins", fontsize=10)
    if colours:
        fig.legend(
            handles=_legend_patches(colours, labels),
            loc="lower center",
            ncol=min(6, len(colours)),
            fontsize=8,
            frameon=False,
            title="pattern shown",
            title_fontsize=8,
        )
    height = 1.1 + 1.45 * n
    fig.subplots_adjust(
        left=0.09, right=0.985, top=1 - 0.55 / height, bottom=(0.95 if colours else 0.5) / height, hspace=0.25
    )
    return save_figure(fig, path, dpi=100)


def plot_raster(src: RunSource, results: list[LayerRates], path: Path, patterns: list[str], labels: dict) -> Path:
    """``raster.png``: spikes of a sample of each layer's neurons over time, layers stacked and labelled."""
    fig = new_figure(figsize=(10, 1.6 + 1.3 * max(1, len(results))))
    ax = fig.add_subplot(1, 1, 1)
    colours = _pattern_colours(patterns)
    _shade_epochs(ax, src, colours, labels)
    y0 = 0.0
    ticks, names = [], []
    for i, r in enumerate(results[::-1]):
        m = max(1, r.raster_nodes.size)
        ax.plot(
            r.raster_t, y0 + r.raster_row / m, ".", ms=1.2, color=f"C{(len(results) - 1 - i) % 10}", rasterized=True
        )
        ticks.append(y0 + 0.5)
        names.append(f"{_mpl(r.info.name)}\n{r.raster_nodes.size:,} of {r.info.n_nodes:,}")
        if i:
            ax.axhline(y0 - 0.05, color="0.5", linewidth=0.5)
        y0 += 1.1
    ax.set_yticks(ticks, names, fontsize=8)
    ax.set_ylim(-0.05, max(y0 - 0.05, 1.0))
    ax.set_xlim(0, max(src.t_end, 1e-9))
    ax.set_xlabel("time (ms)")
    fig.suptitle("Raster: spikes of evenly spaced neurons of each layer (node order)", fontsize=10)
    height = 1.6 + 1.3 * max(1, len(results))
    fig.subplots_adjust(left=0.11, right=0.985, top=1 - 0.62 / height, bottom=0.5 / height)
    return save_figure(fig, path, dpi=100)


def _nice_ticks(vmax: float, n: int = 4) -> list[float]:
    """Round tick values from 0 to ``vmax``: matplotlib's ``MaxNLocator`` (steps of 1, 2, 2.5 or 5 times a power of ten)."""
    if not vmax > 0:
        return [0.0]
    from matplotlib.ticker import MaxNLocator

    ticks = MaxNLocator(nbins=n, steps=[1, 2, 2.5, 5, 10]).tick_values(0.0, vmax)
    return [float(t) for t in ticks if -1e-12 <= t <= vmax * (1 + 1e-9)]


def _tick_text(v: float) -> str:
    return f"{v:.4g}"


def ratemap_image(values: np.ndarray, vmax: float, title: str, subtitle: str = "", extent: float = 0.0):
    """A rate map as a PIL image: the grid (nearest, viridis from 0 to ``vmax`` Hz), a colour bar in Hz, titles.

    Drawn with Pillow rather than matplotlib: the grid is enlarged by a whole factor, coloured by table
    lookup and labelled; no figure is laid out.

    Parameters
    ----------
    values : ndarray, shape (side, side)
        Rates in Hz as an image ``[row, col]``, row 0 at the top.
    vmax : float
        Rate at the top of the colour scale, Hz.
    title, subtitle : str
    extent : float
        Side of the layer in model units, for the axis labels (0: grid indices).

    Returns
    -------
    PIL.Image.Image
        RGB.
    """
    from PIL import Image, ImageDraw, ImageFont

    from .frames import viridis_lut

    side = values.shape[0]
    s = max(1, math.ceil(256 / side))
    m = side * s
    left, top, gap, bar_w, right, bottom = 54, 46, 14, 16, 62, 40
    w, h = left + m + gap + bar_w + right, top + m + bottom
    try:
        font = ImageFont.load_default(size=12)
        small = ImageFont.load_default(size=11)
    except (TypeError, OSError):  # pragma: no cover - Pillow without FreeType
        font = small = ImageFont.load_default()
    vmax = vmax if vmax > 0 else 1.0
    lv = np.clip(np.floor(np.asarray(values, dtype=float) / vmax * 255 + 1e-9), 0, 255).astype(np.uint8)
    rgb = viridis_lut()[lv].repeat(s, axis=0).repeat(s, axis=1)
    canvas = np.full((h, w, 3), 255, dtype=np.uint8)
    canvas[top : top + m, left : left + m] = rgb
    bar = viridis_lut()[np.linspace(255, 0, m).round().astype(np.uint8)]
    x0 = left + m + gap
    canvas[top : top + m, x0 : x0 + bar_w] = bar[:, None, :]
    img = Image.fromarray(canvas, "RGB")
    d = ImageDraw.Draw(img)
    black = (30, 30, 30)
    d.rectangle((left - 1, top - 1, left + m, top + m), outline=black)
    d.rectangle((x0 - 1, top - 1, x0 + bar_w, top + m), outline=black)
    d.text((left, 6), title, fill=black, font=font)
    if subtitle:
        d.text((left, 24), subtitle, fill=(90, 90, 90), font=small)
    for v in _nice_ticks(vmax):
        y = top + m - 1 - round(v / vmax * (m - 1))
        d.line((x0 + bar_w, y, x0 + bar_w + 4, y), fill=black)
        d.text((x0 + bar_w + 7, y - 7), _tick_text(v), fill=black, font=small)
    d.text((x0 + bar_w + 7, top + m + 8), "Hz", fill=black, font=small)
    half = extent / 2 if extent > 0 else None
    marks = [(-half, 0), (0.0, 0.5), (half, 1)] if half else [(0, 0), (side // 2, 0.5), (side - 1, 1)]
    for v, f in marks:
        x = left + round(f * (m - 1))
        y = top + round(f * (m - 1))
        lab = f"{v:g}"
        d.line((x, top + m, x, top + m + 4), fill=black)
        d.text((x - d.textlength(lab, font=small) / 2, top + m + 6), lab, fill=black, font=small)
        ylab = f"{(0.0 - v if half else v):g}"
        d.line((left - 5, y, left - 1, y), fill=black)
        d.text((left - 8 - d.textlength(ylab, font=small), y - 7), ylab, fill=black, font=small)
    xl = "x (model units)" if half else "column"
    d.text((left + (m - d.textlength(xl, font=small)) / 2, top + m + 22), xl, fill=black, font=small)
    d.text((4, top - 16), "y" if half else "row", fill=black, font=small)
    return img


def plot_ratemaps(
    src: RunSource, r: LayerRates, patterns: list[str], labels: dict, times: np.ndarray, folder: Path
) -> dict:
    """``ratemap-<layer>-<pattern>.png``: each neuron's mean rate (Hz) under a pattern, on the layer grid.

    One colour scale per layer (0 to the highest rate over its patterns).
    """
    out = {}
    side = r.info.side
    if side <= 0:
        return out
    shown = [i for i in range(len(patterns)) if times[i] > 0]
    if not shown:
        return out
    rates = r.by_pattern / (np.maximum(times, 1e-12)[:, None] / 1000.0)
    vmax = max(float(rates[shown].max()), 1e-9)
    extent = float((src.manifest.get("sizes") or {}).get("extent", 0) or 0) or math.sqrt(
        src.config.network.hypercolumns
    )
    for i in shown:
        title = f"{r.info.name}, {labels[patterns[i]]}: mean {rates[i].mean():.3g} Hz"
        sub = f"over {times[i]:g} ms; {side}x{side} neurons; top {vmax:.3g} Hz"
        img = ratemap_image(nodes_to_image(rates[i], side), vmax, title, sub, extent)
        buf = io.BytesIO()
        img.save(buf, format="PNG", compress_level=3)
        path = folder / f"ratemap-{r.info.name}-{labels[patterns[i]]}.png"
        out[(r.info.name, patterns[i])] = atomic_write_bytes(path, buf.getvalue())
    return out


# ---- all of it ------------------------------------------------------------------------


def rate_rows(results: list[LayerRates], patterns: list[str], times: np.ndarray) -> list[RateRow]:
    """Each layer's mean rate under each pattern shown (``times`` ms per pattern)."""
    rows = []
    for r in results:
        for i, p in enumerate(patterns):
            if times[i] <= 0:
                continue
            spikes = int(r.by_pattern[i].sum())
            rate = spikes / (max(1, r.info.n_nodes) * times[i] / 1000.0)
            rows.append(RateRow(r.info.name, p, float(rate), spikes, float(times[i])))
    return rows


def write_rates(src: RunSource, *, folder: Path | None = None, progress: bool = False) -> dict:
    """Write the rate plots and tables of a run into ``<run>/rates/``.

    Files: ``population_rates.png`` and ``population_rates.csv`` (time_ms, then
    the rate of each layer in Hz per neuron), ``raster.png``,
    ``rates_by_pattern.csv`` (layer, pattern, mean_rate_hz, spikes, time_ms:
    over all epochs of each pattern up to ``t_end``) and
    ``ratemap-<layer>-<pattern>.png`` for every grid layer and pattern shown.
    Spikes are attributed to the epoch whose ``[start, stop)`` holds them.

    Returns
    -------
    dict
        ``files`` (list of Path), ``rows`` (list of :class:`RateRow`), ``bin_ms``,
        ``ratemaps`` (``(layer, pattern) -> Path``), ``labels`` (pattern -> file label),
        ``layers`` (LayerInfo of each layer), ``counts`` (layer -> spikes per
        pattern and node, ``(n_patterns, n_nodes)``), ``patterns``.
    """
    out_dir = Path(folder) if folder is not None else src.folder / RATES_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    patterns = src.patterns
    labels = pattern_labels(patterns)
    times = pattern_times(src, patterns)
    bin_ms = rate_bin_ms(src.t_end, src.config.run.resolution)
    h5 = open_spikes(src.spikes_path)
    try:
        infos = layer_infos(h5)
        it = infos
        if progress:
            from tqdm import tqdm

            it = tqdm(infos, unit="layer", desc="rates", file=sys.stderr)
        results = [collect_rates(src, h5, i, bin_ms, patterns) for i in it]
    finally:
        h5.close()
    files = []
    rows = rate_rows(results, patterns, times)
    rows_csv = [[r.layer, r.pattern, f"{r.mean_rate_hz:.6g}", r.spikes, f"{r.time_ms:g}"] for r in rows]
    files.append(
        atomic_write_csv(
            out_dir / "rates_by_pattern.csv", ["layer", "pattern", "mean_rate_hz", "spikes", "time_ms"], rows_csv
        )
    )

    n_bins = results[0].population.size if results else 0
    edges = np.arange(n_bins + 1) * bin_ms
    widths = np.minimum(edges[1:], src.t_end) - edges[:-1]
    cols = [r.population / (max(1, r.info.n_nodes) * np.maximum(widths, 1e-12) / 1000.0) for r in results]
    head = ["time_ms"] + [f"{r.info.name}_hz" for r in results]
    table = [[f"{edges[k]:g}"] + [f"{c[k]:.6g}" for c in cols] for k in range(n_bins)]
    files.append(atomic_write_csv(out_dir / "population_rates.csv", head, table))

    files.append(plot_population(src, results, bin_ms, out_dir / "population_rates.png", patterns, labels))
    files.append(plot_raster(src, results, out_dir / "raster.png", patterns, labels))
    ratemaps = {}
    for r in results:
        ratemaps.update(plot_ratemaps(src, r, patterns, labels, times, out_dir))
    files.extend(ratemaps.values())
    # drop rate maps of an earlier render that this one did not draw (other patterns or layers)
    for old in out_dir.glob("ratemap-*.png"):
        if old not in files:
            try:
                old.unlink()
            except OSError as err:
                logger.warning(
                    "%s: a rate map of an earlier render could not be removed (%s)", old, err.strerror or err
                )
    return {
        "files": files,
        "rows": rows,
        "bin_ms": bin_ms,
        "ratemaps": ratemaps,
        "labels": labels,
        "layers": [r.info for r in results],
        "counts": {r.info.name: r.by_pattern for r in results},
        "patterns": patterns,
    }
