"""The spike statistics of a run's report: ISI CV, Fano factor and pairwise correlations per layer, table and figure.

The neurons are picked from the spike counts of the rate pass
(:func:`spiking.analysis.layers.plan_layer`), then only their spikes are read
from ``spikes.h5``, block by block, and handed to Elephant
(:mod:`spiking.analysis.spiketrains`). Files, in ``rates/``:
``spike_statistics.csv`` and ``spike_statistics.png``.
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path

import numpy as np

from ..analysis.layers import LayerStatistics, layer_statistics, pattern_epochs, plan_layer
from ..analysis.spiketrains import (
    CORRELATION_BIN_MS,
    CORRELATION_NEURONS,
    FANO_WINDOW_MS,
    MIN_SPIKES,
    SAMPLE_NEURONS,
)
from ..io.atomic import atomic_write_csv, new_figure, save_figure
from ..io.spikefile import SpikeBlocks, open_spikes
from .html import esc, img, num, table, url
from .source import RunSource

__all__ = [
    "STATISTICS_CSV",
    "STATISTICS_PNG",
    "collect_statistics",
    "statistics_rows",
    "write_statistics",
    "read_statistics_rows",
    "statistics_html",
    "preload_elephant",
]

logger = logging.getLogger(__name__)

STATISTICS_CSV = "spike_statistics.csv"
STATISTICS_PNG = "spike_statistics.png"
_HEAD = ["layer", "statistic", "pattern", "n", "mean", "sd", "median", "q25", "q75"]


def preload_elephant() -> None:
    """Import Elephant (which imports scikit-learn) ahead of :func:`write_statistics`; errors surface there."""
    try:
        import elephant.conversion  # noqa: F401
        import elephant.spike_train_correlation  # noqa: F401
        import elephant.statistics  # noqa: F401
    except Exception:  # noqa: BLE001 - write_statistics imports it again and says what is wrong
        pass


def _layer_spikes(h5, layer: str, n: int, nodes: np.ndarray, t_end: float) -> dict[int, np.ndarray]:
    """Spike times (ms, sorted) of ``nodes`` of a layer, read forward in blocks."""
    want = np.zeros(n + 1, dtype=bool)
    want[nodes] = True
    ids_parts, t_parts = [], []
    for ids, t in SpikeBlocks(h5, layer, t_end):
        sel = (ids >= 0) & (ids < n) & (t >= 0)
        sel &= want[np.clip(ids, 0, n)]
        if sel.any():
            ids_parts.append(ids[sel])
            t_parts.append(t[sel])
    if not ids_parts:
        return {}
    ids, t = np.concatenate(ids_parts), np.concatenate(t_parts)
    order = np.argsort(ids, kind="stable")  # times stay sorted within a node
    ids, t = ids[order], t[order]
    cuts = np.flatnonzero(np.diff(ids)) + 1
    return {int(chunk[0]): times for chunk, times in zip(np.split(ids, cuts), np.split(t, cuts))}


def collect_statistics(src: RunSource, rates: dict) -> list[LayerStatistics]:
    """The statistics of every recorded layer, from the counts :func:`~spiking.render.rates.write_rates` returned."""
    patterns = rates["patterns"]
    epochs = pattern_epochs(src.schedule, src.t_end)
    seed = int(src.manifest.get("seed", src.config.run.seed))
    out = []
    empty = np.zeros(0)
    with open_spikes(src.spikes_path) as h5:
        for index, info in enumerate(rates["layers"]):
            plan = plan_layer(info.name, rates["counts"][info.name], patterns, seed, index)
            trains = _layer_spikes(h5, info.name, info.n_nodes, plan.nodes(), src.t_end)
            out.append(layer_statistics(plan, lambda nodes, tr=trains: [tr.get(int(k), empty) for k in nodes], epochs))
    return out


def _summary(values: np.ndarray) -> list:
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return [0, "", "", "", "", ""]
    q25, med, q75 = np.percentile(v, [25, 50, 75])
    return [int(v.size), float(v.mean()), float(v.std()), float(med), float(q25), float(q75)]


def statistics_rows(stats: list[LayerStatistics]) -> list[list]:
    """Rows of ``spike_statistics.csv``: layer, statistic, pattern ("" for the whole run), n, mean, sd, median, q25, q75.

    ``n`` counts neurons (``isi_cv``, ``fano_factor``) or pairs (``correlation``).
    """
    rows = []
    for s in stats:
        rows.append([s.layer, "isi_cv", "", *_summary(s.cv)])
        for p, v in s.fano.items():
            rows.append([s.layer, "fano_factor", p, *_summary(v)])
        for p, v in s.correlations.items():
            rows.append([s.layer, "correlation", p, *_summary(v)])
    return rows


def _plot(stats: list[LayerStatistics], patterns: list[str], labels: dict, path: Path) -> Path:
    """Box plots of the ISI CVs, Fano factors and correlations of each layer (and pattern)."""
    fig = new_figure(figsize=(12, 3.6))
    axes = fig.subplots(1, 3)
    names = [s.layer for s in stats]
    pos = np.arange(len(stats))

    def finite(v):
        v = np.asarray(v, dtype=float)
        return v[np.isfinite(v)]

    axes[0].boxplot([finite(s.cv) for s in stats], positions=pos, widths=0.6, showfliers=False)
    axes[0].axhline(1.0, color="0.5", lw=0.8, ls="--")
    axes[0].set_title("ISI CV (1: Poisson)", fontsize=10)
    width = 0.8 / max(1, len(patterns))
    for ax, key, title in (
        (axes[1], "fano", f"Fano factor, {FANO_WINDOW_MS:g} ms windows (1: Poisson)"),
        (axes[2], "correlations", f"pairwise correlation, {CORRELATION_BIN_MS:g} ms bins"),
    ):
        for i, p in enumerate(patterns):
            data = [finite(getattr(s, key).get(p, [])) for s in stats]
            x = pos - 0.4 + width * (i + 0.5)
            bp = ax.boxplot(data, positions=x, widths=width * 0.85, showfliers=False, patch_artist=True)
            for box in bp["boxes"]:
                box.set_facecolor(f"C{i % 10}")
                box.set_alpha(0.5)
            ax.plot([], [], "s", color=f"C{i % 10}", alpha=0.5, label=labels.get(p, p))
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=7, frameon=False)
    axes[1].axhline(1.0, color="0.5", lw=0.8, ls="--")
    axes[2].axhline(0.0, color="0.5", lw=0.8, ls="--")
    for ax in axes:
        ax.set_xticks(pos, names, fontsize=8)
        ax.grid(alpha=0.3, linewidth=0.5, axis="y")
    fig.tight_layout()
    return save_figure(fig, path, dpi=100)


def write_statistics(src: RunSource, rates: dict, folder: Path) -> dict:
    """Compute the statistics and write ``spike_statistics.csv`` and ``.png`` into ``folder``.

    Returns
    -------
    dict
        ``files`` (list of Path), ``statistics`` (list of LayerStatistics), ``rows`` (the CSV rows).
    """
    stats = collect_statistics(src, rates)
    rows = statistics_rows(stats)
    cells = ([f"{v:.6g}" if isinstance(v, float) else v for v in r] for r in rows)
    files = [atomic_write_csv(folder / STATISTICS_CSV, _HEAD, cells)]
    if stats:
        files.append(_plot(stats, rates["patterns"], rates.get("labels", {}), folder / STATISTICS_PNG))
    return {"files": files, "statistics": stats, "rows": rows}


def read_statistics_rows(path: Path) -> list[list]:
    """The rows of a ``spike_statistics.csv`` (numbers as float, ``n`` as int; empty cells as "")."""
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
    except FileNotFoundError:
        return []
    except (OSError, csv.Error) as err:
        logger.warning("%s cannot be read (%s): the report has no spike statistics", path, err)
        return []
    if not rows or rows[0] != _HEAD:
        return []
    out = []
    for r in rows[1:]:
        try:
            out.append([r[0], r[1], r[2], int(r[3]), *[float(x) if x else "" for x in r[4:]]])
        except (ValueError, IndexError):
            continue
    return out


def _cell(rows: dict, key: tuple, what: str) -> str:
    r = rows.get(key)
    if not r or not r[3]:
        return "<small>none</small>"
    return f"{num(float(r[4]))} ± {num(float(r[5]))}<br><small>{num(int(r[3]))} {what}</small>"


def statistics_html(src: RunSource, rows: list[list] | None = None) -> str:
    """The report's spike-statistics section: what was computed and how, a table per layer, the figure."""
    d = src.folder / "rates"
    if rows is None:
        rows = read_statistics_rows(d / STATISTICS_CSV)
    if not rows:
        return "<p>No spike statistics in this folder.</p>"
    by = {(r[0], r[1], r[2]): r for r in rows}
    layers = list(dict.fromkeys(r[0] for r in rows))
    patterns = list(dict.fromkeys(r[2] for r in rows if r[1] == "correlation"))
    body = []
    for layer in layers:
        line = [esc(layer), _cell(by, (layer, "isi_cv", ""), "neurons")]
        line += [_cell(by, (layer, "fano_factor", p), "neurons") for p in patterns]
        line += [_cell(by, (layer, "correlation", p), "pairs") for p in patterns]
        body.append(line)
    head = ["layer", "ISI CV"] + [f"Fano factor: {p}" for p in patterns] + [f"correlation: {p}" for p in patterns]
    text = (
        "<p>Computed with Elephant (the spike-train analysis library) on a sample of each layer "
        f"(mean ± standard deviation; n neurons or pairs). <strong>ISI CV</strong>: the coefficient of variation of "
        f"each neuron's inter-spike intervals over the run, for up to {SAMPLE_NEURONS} neurons drawn among those "
        f"with at least {MIN_SPIKES} spikes (1 for a Poisson process, 0 for a clock). <strong>Fano factor</strong>: "
        f"variance over mean of the same neurons' spike counts in {FANO_WINDOW_MS:g} ms windows inside the "
        f"pattern's epochs. <strong>Correlation</strong>: Pearson's correlation of spike counts in "
        f"{CORRELATION_BIN_MS:g} ms bins over the pattern's epochs, for every pair of up to "
        f"{CORRELATION_NEURONS} neurons drawn among those that fired under the pattern. The samples are seeded by "
        f'the run\'s seed. <a href="{url("rates/" + STATISTICS_CSV)}">{STATISTICS_CSV}</a> has the medians and '
        "quartiles too.</p>"
    )
    out = text + table(head, body, "num rates")
    png = d / STATISTICS_PNG
    if png.is_file():
        out += f"<figure>{img(src.folder, png, 'ISI CV, Fano factor and correlations per layer', 'plot')}</figure>"
    return out
