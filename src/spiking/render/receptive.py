"""Figure of the receptive-field experiment: example fields per layer and where the fields lie against the neurons."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..analysis.receptive import FIELD_SNR, LayerFields
from ..io.atomic import new_figure, save_figure

__all__ = ["plot_fields", "EXAMPLES"]

#: Example neurons per layer in ``receptive_fields.png``.
EXAMPLES = 3


def plot_fields(layers: list[LayerFields], path) -> Path:
    """``receptive_fields.png``: per layer, the linear field ``(ON - OFF) / 2`` of its neurons of highest SNR
    (red: a white square drives the neuron, blue: a black one), then the fields' centres against the
    neurons' own positions (x; a retinotopic layer lies on the diagonal)."""
    rows = max(1, len(layers))
    fig = new_figure(figsize=(3.0 * (EXAMPLES + 1), 2.9 * rows))
    axes = np.atleast_2d(fig.subplots(rows, EXAMPLES + 1, squeeze=False))
    for r, t in enumerate(layers):
        snr = np.nan_to_num(t.snr, nan=-1.0)
        best = np.argsort(-snr)[:EXAMPLES]
        for c in range(EXAMPLES):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c >= len(best) or snr[best[c]] < 0:
                ax.set_title(f"{t.layer}: no spikes", fontsize=8)
                continue
            k = int(best[c])
            linear = (t.on[k].astype(float) - t.off[k].astype(float)) / 2
            lim = float(np.nanmax(np.abs(linear))) or 1.0
            im = ax.imshow(linear, cmap="RdBu_r", vmin=-lim, vmax=lim)
            fig.colorbar(im, ax=ax, fraction=0.046, label="spikes / frame")
            flag = "" if t.has_field[k] else f" (< {FIELD_SNR:g})"
            ax.set_title(f"{t.layer} #{k}: SNR {t.snr[k]:.1f}{flag}", fontsize=8)
        ax = axes[r, EXAMPLES]
        has = t.has_field & np.isfinite(t.centre[:, 0])
        if has.any():
            ax.plot(t.positions[has, 0], t.centre[has, 0], ".", ms=2)
            lo = float(min(t.positions[has, 0].min(), t.centre[has, 0].min()))
            hi = float(max(t.positions[has, 0].max(), t.centre[has, 0].max()))
            ax.plot([lo, hi], [lo, hi], "k:", lw=0.8)
        ax.set_xlabel("neuron x (extents)", fontsize=8)
        ax.set_ylabel("field centre x", fontsize=8)
        ax.set_title(f"{t.layer}: {int(t.has_field.sum())} of {t.has_field.size} with a field", fontsize=8)
    fig.tight_layout()
    path = Path(path)
    save_figure(fig, path, dpi=80)
    return path
