"""Preview of the stimulus and the retina's ON/OFF rate maps, without building a network."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..config import Config
from ..io.atomic import save_figure
from ..io.images import upscale_factor, write_grey_png
from ..model.network import build_model
from ..model.retina import retina_kernel
from ..model.stimulus import pattern_label

__all__ = ["write_preview"]


def write_preview(config: Config, folder) -> list[Path]:
    """Write, for every distinct pattern, the placed stimulus and its ON/OFF rate maps.

    Files: ``<pattern>-stimulus.png``, ``<pattern>-on.png``, ``<pattern>-off.png``
    (grey, rates from ``min_rate`` black to ``max_rate`` white) and ``preview.png``,
    one figure with every pattern, the rates in Hz with colour bars, and the
    Gabor kernel.

    Returns
    -------
    list of Path
        The files written.
    """
    from matplotlib.figure import Figure

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model = build_model(config)
    lo, hi = config.retina.min_rate, config.retina.max_rate
    side = model.sizes.retina_side
    scale = upscale_factor(side)
    written = []
    labels = {}
    for name, s in model.stimuli.items():
        label = pattern_label(name)
        if label in labels.values():
            label = f"{label}-{len(labels)}"
        labels[name] = label
        written.append(write_grey_png(folder / f"{label}-stimulus.png", s.image, 0.0, 1.0, scale))
        written.append(write_grey_png(folder / f"{label}-on.png", s.rates_on, lo, hi, scale))
        written.append(write_grey_png(folder / f"{label}-off.png", s.rates_off, lo, hi, scale))

    g = config.retina.gabor
    k = retina_kernel(config.retina)
    n = len(model.stimuli)
    fig = Figure(figsize=(13, 3.2 * n))
    axes = fig.subplots(n, 4, squeeze=False)
    half = model.sizes.extent / 2
    ext = [-half, half, -half, half]
    for row, (name, s) in enumerate(model.stimuli.items()):
        ax = axes[row]
        im = ax[0].imshow(s.image, cmap="gray", vmin=0, vmax=1, extent=ext)
        ax[0].set_title(f"{labels[name]}: stimulus")
        fig.colorbar(im, ax=ax[0], label="grey level")
        for j, (rates, title) in enumerate(((s.rates_on, "ON rates"), (s.rates_off, "OFF rates")), 1):
            im = ax[j].imshow(rates, cmap="gray", vmin=lo, vmax=hi, extent=ext)
            ax[j].set_title(f"{labels[name]}: {title}")
            fig.colorbar(im, ax=ax[j], label="rate (Hz)")
        im = ax[3].imshow(k, cmap="RdBu_r", vmin=-np.abs(k).max(), vmax=np.abs(k).max())
        ax[3].set_title("ON kernel")
        fig.colorbar(im, ax=ax[3], label="weight")
        for a in ax[:3]:
            a.set_xlabel("x (model units)")
            a.set_ylabel("y (model units)")
        ax[3].set_xlabel("pixel")
    if config.retina.filter == "dog":
        d = config.retina.dog
        kernel = (
            f"centre-surround ksize={d.ksize} sigma_centre={d.sigma_centre} sigma_surround={d.sigma_surround} "
            f"surround_weight={d.surround_weight} gain={d.gain}"
        )
    else:
        kernel = f"Gabor ksize={g.ksize} sigma={g.sigma} theta={g.theta} lambda={g.lambda_} gamma={g.gamma} psi={g.psi}"
    fig.suptitle(f"retina {side}x{side}, pattern side {model.sizes.pattern_side}; {kernel}")
    fig.tight_layout()
    path = folder / "preview.png"
    save_figure(fig, path, dpi=80)
    written.append(path)
    return written
