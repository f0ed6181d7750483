"""Figures of the reproductions: matplotlib ``Figure`` objects (no pyplot state), saved atomically.

``*_figure`` functions build figures; :func:`plot_types` and
:func:`plot_network` save them with :func:`spiking.io.atomic.save_figure`,
so a reader never sees half a PNG.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..io.atomic import new_figure, save_figure
from . import params as P
from .metrics import ALPHA_BAND, BASELINE_BAND, GAMMA_BAND, NetworkMetrics
from .simulate import NetworkResult, TypeTrace

__all__ = [
    "types_figure",
    "raster_figure",
    "rate_figure",
    "spectrum_figure",
    "plot_types",
    "plot_network",
]

DPI = 110


def types_figure(result: Mapping[str, TypeTrace]):
    """The Fig. 2 traces, one panel per class.

    Each panel shows ``v`` (mV) against time (ms), with spikes drawn as
    vertical strokes to the 30 mV cut-off (the recorded trace is already
    reset within the spiking step), and the injected current (pA, grey step,
    right axis). The title gives the class and its (a, b, c, d).

    Parameters
    ----------
    result : mapping of str to TypeTrace
        Output of :func:`~spiking.izhikevich.simulate.simulate_types`.

    Returns
    -------
    matplotlib.figure.Figure
    """
    names = list(result)
    fig = new_figure(figsize=(9, 1.9 * len(names) + 0.6), constrained_layout=True)
    axes = fig.subplots(len(names), 1, sharex=True, squeeze=False)[:, 0]
    for ax, name in zip(axes, names):
        tr = result[name]
        t = np.concatenate([[0.0], tr.times])
        v = np.concatenate([[tr.v0], tr.v])
        idx = np.searchsorted(t, tr.spike_times)
        v[idx[idx < t.size]] = P.V_PEAK
        ax.plot(t, v, color="k", lw=0.7)
        ax.set_ylabel("V (mV)")
        ax.set_ylim(-115, 40)
        long_name = P.CLASS_NAMES.get(name, name)
        ax.set_title(
            f"{name} ({long_name}): (a, b, c, d) = ({tr.a:g}, {tr.b:g}, {tr.c:g}, {tr.d:g})", fontsize=9, loc="left"
        )
        ax2 = ax.twinx()
        i_t = np.array([0.0, tr.step_onset, tr.step_onset, tr.duration])
        i_v = np.array([0.0, 0.0, tr.current, tr.current])
        ax2.plot(i_t, i_v, color="tab:gray", lw=1.2, ls="-", alpha=0.8)
        top = max(abs(tr.current), 1.0)
        # current drawn in the bottom strip, below the voltage trace
        ax2.set_ylim(-0.1 * top, 7.0 * top)
        ax2.set_yticks([0.0, tr.current])
        ax2.set_ylabel("I (pA)", color="tab:gray", fontsize=8)
        ax2.tick_params(axis="y", labelcolor="tab:gray", labelsize=7)
    axes[-1].set_xlabel("time (ms)")
    axes[-1].set_xlim(0, max(result[n].duration for n in names))
    return fig


def raster_figure(result: NetworkResult, metrics: NetworkMetrics, window: tuple[float, float]):
    """Spike raster over ``window`` (ms): excitatory neurons blue (indices 0 .. n_exc - 1), inhibitory red."""
    t0, t1 = window
    fig = new_figure(figsize=(10, 5.5), constrained_layout=True)
    ax = fig.subplots()
    in_win = (result.times >= t0) & (result.times <= t1)
    exc = result.spike_is_excitatory
    for mask, color, label in (
        (in_win & exc, "tab:blue", f"excitatory ({result.n_exc})"),
        (in_win & ~exc, "tab:red", f"inhibitory ({result.n_inh})"),
    ):
        ax.scatter(
            result.times[mask],
            result.senders[mask],
            s=1.5,
            c=color,
            marker=".",
            linewidths=0,
            rasterized=True,
            label=label,
        )
    ax.set_xlim(t0, t1)
    ax.set_ylim(-0.5, result.n_neurons - 0.5)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("neuron index")
    ax.set_title(
        f"Izhikevich (2003) network on {result.engine}, seed {result.seed}: mean rate "
        f"{metrics.mean_rate_hz:.2f} Hz over {result.duration:g} ms (raster {t0:g}-{t1:g} ms)",
        fontsize=10,
    )
    ax.legend(loc="upper right", markerscale=8, fontsize=8, framealpha=0.9)
    return fig


def rate_figure(metrics: NetworkMetrics, window: tuple[float, float]):
    """Population rate in Hz per neuron against time in ms: the whole run on top, ``window`` below."""
    bins = metrics.bin_times
    width = float(bins[1] - bins[0]) if bins.size > 1 else 1.0
    fig = new_figure(figsize=(10, 5.5), constrained_layout=True)
    ax_full, ax_zoom = fig.subplots(2, 1)
    for ax, (lo, hi) in ((ax_full, (bins[0], bins[-1] + width)), (ax_zoom, window)):
        ax.plot(bins, metrics.population_rate_hz, color="k", lw=0.5)
        ax.set_xlim(lo, hi)
        ax.set_xlabel("time (ms)")
        ax.set_ylabel("population rate (Hz)")
    ax_full.set_title(f"population rate ({width:g} ms bins), mean {metrics.mean_rate_hz:.2f} Hz", fontsize=10)
    return fig


def spectrum_figure(metrics: NetworkMetrics):
    """Welch PSD of the population rate (Hz^2/Hz, log axis) against frequency (Hz), bands shaded, peaks marked."""
    fig = new_figure(figsize=(7, 4.5), constrained_layout=True)
    ax = fig.subplots()
    sel = metrics.freqs > 0
    ax.semilogy(metrics.freqs[sel], metrics.power[sel], color="k", lw=0.8)
    for band, color, ratio in (
        (ALPHA_BAND, "tab:orange", metrics.alpha_ratio),
        (GAMMA_BAND, "tab:green", metrics.gamma_ratio),
    ):
        ax.axvspan(*band, color=color, alpha=0.3, label=f"{band[0]:g}-{band[1]:g} Hz: peak/baseline {ratio:.1f}")
    for hz, power in (
        (metrics.alpha_peak_hz, metrics.alpha_peak_power),
        (metrics.gamma_peak_hz, metrics.gamma_peak_power),
    ):
        if np.isfinite(hz):
            ax.plot([hz], [power], "v", color="k", ms=6)
    ax.axvspan(
        *BASELINE_BAND,
        color="tab:gray",
        alpha=0.15,
        label=f"baseline band {BASELINE_BAND[0]:g}-{BASELINE_BAND[1]:g} Hz",
    )
    ax.hlines(metrics.baseline_power, *BASELINE_BAND, colors="tab:gray", linestyles="--", label="baseline mean PSD")
    ax.set_xlim(0, min(250.0, float(metrics.freqs[-1])))
    ax.set_xlabel("frequency (Hz)")
    ax.set_ylabel("PSD of population rate (Hz$^2$/Hz)")
    ax.set_title("Welch spectrum of the population rate (peaks: local maxima)", fontsize=10)
    ax.legend(fontsize=8, loc="upper right")
    return fig


def plot_types(result: Mapping[str, TypeTrace], path: str | Path) -> Path:
    """Save :func:`types_figure` as a PNG at ``path`` (parent folders are created); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return save_figure(types_figure(result), path, dpi=DPI)


def plot_network(
    result: NetworkResult,
    metrics: NetworkMetrics,
    directory: str | Path,
    window: tuple[float, float] | None = None,
) -> dict[str, Path]:
    """Save the Fig. 3 figures as ``raster.png``, ``population_rate.png`` and ``spectrum.png`` in ``directory``.

    Parameters
    ----------
    result : NetworkResult
        Output of :func:`~spiking.izhikevich.simulate.simulate_network`.
    metrics : NetworkMetrics
        Output of :func:`~spiking.izhikevich.metrics.network_metrics` for ``result``.
    directory : str or pathlib.Path
        Output folder (created if needed).
    window : (float, float), optional
        Time window in ms of the raster and the zoomed rate panel (default
        the first 1000 ms, the span of the paper's Fig. 3; a 10 s raster of
        70 000 spikes is unreadable).

    Returns
    -------
    dict of str to pathlib.Path
        ``{"raster": ..., "population_rate": ..., "spectrum": ...}``.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if window is None:
        window = (0.0, min(1000.0, result.duration))
    window = (float(window[0]), float(window[1]))
    figures = {
        "raster": raster_figure(result, metrics, window),
        "population_rate": rate_figure(metrics, window),
        "spectrum": spectrum_figure(metrics),
    }
    return {name: save_figure(fig, directory / f"{name}.png", dpi=DPI) for name, fig in figures.items()}
