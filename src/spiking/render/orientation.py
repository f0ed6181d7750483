"""Figures of the orientation experiment: example tuning curves, OSI and preferred orientations, orientation maps."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..analysis.orientation import LayerTuning
from ..analysis.tuning import orientation_map
from ..io.atomic import new_figure, save_figure

__all__ = ["plot_tuning", "plot_orientation_maps", "EXAMPLES"]

#: Example neurons drawn in ``tuning.png``.
EXAMPLES = 4


def _examples(layers: list[LayerTuning], n: int) -> list[tuple[LayerTuning, int]]:
    """The most significantly responsive neurons (smallest p-value, then largest OSI), spread over the layers;
    silent ones never."""
    picks = []
    for t in layers:
        ok = np.flatnonzero(t.responsive & np.isfinite(t.osi))
        if not ok.size:
            ok = np.flatnonzero(np.isfinite(t.osi))
        order = ok[np.lexsort((-t.osi[ok], t.p_value[ok]))]
        picks.append([(t, int(k)) for k in order])
    out = []
    while len(out) < n and any(picks):
        for p in picks:
            if p and len(out) < n:
                out.append(p.pop(0))
    return out


def plot_tuning(layers: list[LayerTuning], path, skip_ms: float = 0.0) -> Path:
    """``tuning.png``: a few tuning curves (mean +/- SEM at the preferred sf), the OSI histogram and the
    preferred orientations of the responsive neurons, per layer."""
    fig = new_figure(figsize=(15, 4.2))
    ax_curves, ax_osi, ax_pref = fig.subplots(1, 3)
    examples = _examples(layers, EXAMPLES)
    for t, k in examples:
        mean, sem = t.curves_at_preferred_sf
        ax_curves.errorbar(
            t.angles,
            mean[:, k],
            yerr=np.nan_to_num(sem[:, k]),
            marker="o",
            capsize=3,
            label=f"{t.layer} #{k}: sf {t.preferred_sf[k]:g}, OSI {t.osi[k]:.2f}"
            + ("" if t.responsive[k] else " (not responsive)"),
        )
    ax_curves.set_xlabel("orientation (deg)")
    ax_curves.set_ylabel("rate (Hz), mean ± SEM")
    ax_curves.set_title(
        "most significant responses" + (f" (first {skip_ms:g} ms of trials skipped)" if skip_ms else "")
    )
    if examples:
        ax_curves.legend(fontsize=7)
    else:
        ax_curves.text(0.5, 0.5, "no neuron fired", ha="center", va="center", transform=ax_curves.transAxes)
    bins = np.linspace(0, 1, 21)
    angles = layers[0].angles if layers else np.array([0.0, 90.0])
    step = angles[1] - angles[0] if angles.size > 1 else 180.0
    width = step / (len(layers) + 1)
    for i, t in enumerate(layers):
        r = t.responsive
        values = t.osi[r & np.isfinite(t.osi)]
        ax_osi.hist(values, bins=bins, histtype="step", label=f"{t.layer} ({values.size} responsive)")
        counts = [int(np.sum(t.preferred_orientation[r] == a)) for a in t.angles]
        ax_pref.bar(t.angles + (i - (len(layers) - 1) / 2) * width, counts, width=width, label=t.layer)
    ax_osi.set_xlabel("OSI at the preferred sf")
    ax_osi.set_ylabel("responsive neurons")
    ax_osi.set_title("orientation selectivity")
    ax_pref.set_xticks(angles)
    ax_pref.set_xlabel("preferred orientation (deg; 0 = vertical bars)")
    ax_pref.set_ylabel("responsive neurons")
    ax_pref.set_title("preferred orientations")
    if layers:
        ax_osi.legend(fontsize=7)
        ax_pref.legend(fontsize=7)
    fig.tight_layout()
    return save_figure(fig, Path(path), dpi=90)


def plot_orientation_maps(layers: list[LayerTuning], path) -> Path:
    """``orientation_map.png``: each layer's preferred orientation (vector angle, hue) and gOSI (brightness)."""
    n = max(1, len(layers))
    fig = new_figure(figsize=(3.6 * n + 1.2, 4.0))
    axes = np.atleast_1d(fig.subplots(1, n))
    for ax, t in zip(axes, layers, strict=False):
        m = orientation_map(t.gosi_orientation, t.gosi, t.side)
        half = (t.positions[:, 0].max() - t.positions[:, 0].min()) / 2 * t.side / max(1, t.side - 1)
        ax.imshow(m.rgb, extent=[-half, half, -half, half], interpolation="nearest")
        ax.set_title(f"{t.layer}: hue orientation, brightness gOSI", fontsize=9)
        ax.set_xlabel("x (model units)")
        ax.set_ylabel("y (model units)")
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import ListedColormap, Normalize, hsv_to_rgb

    hues = np.linspace(0, 1, 180, endpoint=False)
    key = ListedColormap(hsv_to_rgb(np.column_stack([hues, np.ones(180), np.ones(180)])))
    fig.tight_layout()
    fig.colorbar(
        ScalarMappable(Normalize(0, 180), key),
        ax=list(axes),
        label="preferred orientation (deg)",
        ticks=[0, 45, 90, 135, 180],
    )
    return save_figure(fig, Path(path), dpi=90)
