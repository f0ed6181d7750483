"""Rates and rhythms of the Fig. 3 network, and the check that they are the paper's.

The population rate (1 ms bins) is analysed with Welch's method; a rhythm is
a local maximum of its spectrum inside a band that stands at least
:data:`MIN_PEAK_RATIO` times above the mean of a high-frequency baseline.
Pure numpy and scipy: it reads spike arrays, whichever engine made them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .protocols import frozen
from .simulate import NetworkResult

__all__ = [
    "ALPHA_BAND",
    "GAMMA_BAND",
    "BASELINE_BAND",
    "RATE_RANGE",
    "MIN_PEAK_RATIO",
    "MIN_SEGMENTS",
    "NetworkMetrics",
    "band_peak",
    "network_metrics",
]

#: Frequency bands in Hz: alpha, gamma, and the baseline the peaks are compared with.
ALPHA_BAND = (6.0, 12.0)
GAMMA_BAND = (25.0, 45.0)
BASELINE_BAND = (60.0, 200.0)
#: Acceptance: mean rate range (Hz; the paper reports about 8 Hz).
RATE_RANGE = (5.0, 11.0)
#: Acceptance: a peak's PSD over the baseline's mean PSD.
MIN_PEAK_RATIO = 10.0
#: Acceptance: Welch segments of 1000 bins averaged (3: at least 2 s analysed). One
#: segment's estimate has a relative standard deviation of 1, so a "peak" in it
#: says nothing, and a shorter segment cannot resolve 1 Hz in the 6-12 Hz band.
MIN_SEGMENTS = 3


@dataclass(frozen=True, eq=False)
class NetworkMetrics:
    """Rate and spectral summary of a network run (see :func:`network_metrics`).

    Attributes
    ----------
    mean_rate_hz : float
        Mean firing rate per neuron in Hz over the analysed window.
    bin_times : numpy.ndarray
        Left edges of the rate bins in ms.
    population_rate_hz : numpy.ndarray
        Population rate (spikes per neuron per second) per bin, Hz.
    freqs : numpy.ndarray
        Frequencies of the spectrum in Hz.
    power : numpy.ndarray
        Power spectral density of the population rate, Hz^2/Hz.
    segments : int
        Welch segments averaged.
    alpha_peak_hz, alpha_peak_power : float
        Location and PSD of the largest local maximum of the spectrum in
        :data:`ALPHA_BAND` (6-12 Hz); ``nan`` if the band has none.
    gamma_peak_hz, gamma_peak_power : float
        The same in :data:`GAMMA_BAND` (25-45 Hz).
    baseline_power : float
        Mean PSD in :data:`BASELINE_BAND` (60-200 Hz).
    alpha_ratio, gamma_ratio : float
        Peak PSD / baseline PSD (``nan`` without a peak).
    rate_ok, alpha_ok, gamma_ok, segments_ok, passed : bool
        Acceptance: mean rate in 5-11 Hz; each band has a local maximum at
        least 10 times the baseline; at least :data:`MIN_SEGMENTS` segments;
        all four.
    """

    mean_rate_hz: float
    bin_times: np.ndarray
    population_rate_hz: np.ndarray
    freqs: np.ndarray
    power: np.ndarray
    segments: int
    alpha_peak_hz: float
    alpha_peak_power: float
    gamma_peak_hz: float
    gamma_peak_power: float
    baseline_power: float
    alpha_ratio: float
    gamma_ratio: float
    rate_ok: bool
    alpha_ok: bool
    gamma_ok: bool
    segments_ok: bool
    passed: bool

    def summary(self) -> dict:
        """Scalar results as a plain (JSON serialisable) dict."""
        keys = (
            "mean_rate_hz",
            "alpha_peak_hz",
            "alpha_peak_power",
            "gamma_peak_hz",
            "gamma_peak_power",
            "baseline_power",
            "alpha_ratio",
            "gamma_ratio",
        )
        out = {k: float(getattr(self, k)) for k in keys}
        out["segments"] = int(self.segments)
        for k in ("rate_ok", "alpha_ok", "gamma_ok", "segments_ok", "passed"):
            out[k] = bool(getattr(self, k))
        return out


def band_peak(freqs: np.ndarray, power: np.ndarray, band: tuple[float, float]) -> tuple[float, float]:
    """The largest local maximum of a spectrum whose frequency lies in ``band``.

    A local maximum is a bin strictly above both its neighbours in the
    whole spectrum, so a band whose values only slope towards one edge has
    none (its maximum at the edge is the foot of something outside).

    Parameters
    ----------
    freqs : numpy.ndarray
        Frequencies in Hz, increasing.
    power : numpy.ndarray
        PSD at ``freqs``.
    band : (float, float)
        Closed band in Hz.

    Returns
    -------
    freq : float
        Frequency of the peak in Hz, ``nan`` if there is none.
    power : float
        Its PSD, ``nan`` if there is none.
    """
    f = np.asarray(freqs, dtype=float)
    p = np.asarray(power, dtype=float)
    inner = np.arange(1, p.size - 1)
    is_max = (p[inner] > p[inner - 1]) & (p[inner] > p[inner + 1])
    in_band = (f[inner] >= band[0]) & (f[inner] <= band[1])
    candidates = inner[is_max & in_band]
    if candidates.size == 0:
        return float("nan"), float("nan")
    best = candidates[np.argmax(p[candidates])]
    return float(f[best]), float(p[best])


def _population_rate(times, duration, n_neurons, bin_width, transient):
    span = float(duration) - float(transient)
    n_bins = int(round(span / bin_width))
    if n_bins < 2:
        raise ValueError("analysed window shorter than two bins")
    edges = float(transient) + np.arange(n_bins + 1) * bin_width
    # spikes are stamped at the end of their step, so t = duration is a valid
    # spike time: bins are (left, right].
    in_window = (times > edges[0]) & (times <= edges[-1])
    index = np.ceil((times[in_window] - edges[0]) / bin_width).astype(np.int64) - 1
    counts = np.bincount(np.clip(index, 0, n_bins - 1), minlength=n_bins)
    rate = counts / (n_neurons * bin_width / 1000.0)
    mean_rate = float(counts.sum() / n_neurons / (span / 1000.0))
    return edges, rate, mean_rate


def _welch(rate: np.ndarray, bin_width: float, nperseg: int):
    """Welch PSD of the rate: ``freqs`` (Hz), ``power``, the segment length used and the segments averaged."""
    from scipy import signal

    seg = int(min(nperseg, rate.size))
    segments = 1 + (rate.size - seg) // (seg - seg // 2)  # scipy: noverlap = seg // 2
    freqs, power = signal.welch(rate, fs=1000.0 / bin_width, nperseg=seg, detrend="constant", scaling="density")
    return freqs, power, seg, segments


def network_metrics(
    spikes: NetworkResult | np.ndarray,
    duration: float | None = None,
    n_neurons: int | None = None,
    bin_width: float = 1.0,
    nperseg: int = 1000,
    transient: float = 0.0,
) -> NetworkMetrics:
    """Mean rate, population rate, its spectrum and the rhythm check for a network run.

    The population rate is the spike count in bins of ``bin_width`` ms per
    neuron and second (Hz). Its PSD comes from ``scipy.signal.welch`` (Hann
    window, ``nperseg`` samples, 50 % overlap, mean removed per segment): at
    1 ms bins and ``nperseg = 1000``, 1 Hz resolution and 19 segments in
    10 s. The largest local maximum in 6-12 Hz (alpha) and in 25-45 Hz
    (gamma) (:func:`band_peak`) is compared with the mean PSD over 60-200 Hz.
    The run passes if the mean rate lies in 5-11 Hz, both bands have a peak
    at least 10 times that baseline, and :data:`MIN_SEGMENTS` were averaged.

    Parameters
    ----------
    spikes : NetworkResult or numpy.ndarray
        A network result, or an array of spike times in ms (then
        ``duration`` and ``n_neurons`` are required).
    duration : float, optional
        Simulated time in ms (taken from ``spikes`` if it is a result).
    n_neurons : int, optional
        Number of neurons (taken from ``spikes`` if it is a result).
    bin_width : float, optional
        Bin width of the population rate in ms (default 1 ms).
    nperseg : int, optional
        Welch segment length in bins (default 1000; reduced to the number of
        bins if the run is shorter, which then fails :data:`MIN_SEGMENTS`).
    transient : float, optional
        Initial time in ms excluded from all measures (default 0).

    Returns
    -------
    NetworkMetrics
    """
    if isinstance(spikes, NetworkResult):
        times = spikes.times
        duration = spikes.duration if duration is None else duration
        n_neurons = spikes.n_neurons if n_neurons is None else n_neurons
    else:
        times = np.asarray(spikes, dtype=float)
        if duration is None or n_neurons is None:
            raise ValueError("duration and n_neurons are required with a spike-time array")
    edges, rate, mean_rate = _population_rate(times, duration, n_neurons, bin_width, transient)
    freqs, power, seg, segments = _welch(rate, bin_width, nperseg)
    alpha_hz, alpha_peak = band_peak(freqs, power, ALPHA_BAND)
    gamma_hz, gamma_peak = band_peak(freqs, power, GAMMA_BAND)
    base = power[(freqs >= BASELINE_BAND[0]) & (freqs <= BASELINE_BAND[1])]
    baseline = float(base.mean()) if base.size else float("nan")
    alpha_ratio = alpha_peak / baseline if baseline > 0 else float("nan")
    gamma_ratio = gamma_peak / baseline if baseline > 0 else float("nan")
    rate_ok = RATE_RANGE[0] <= mean_rate <= RATE_RANGE[1]
    alpha_ok = bool(alpha_ratio >= MIN_PEAK_RATIO)  # False for nan
    gamma_ok = bool(gamma_ratio >= MIN_PEAK_RATIO)
    segments_ok = seg == nperseg and segments >= MIN_SEGMENTS
    return NetworkMetrics(
        mean_rate_hz=mean_rate,
        bin_times=frozen(edges[:-1]),
        population_rate_hz=frozen(rate),
        freqs=frozen(freqs),
        power=frozen(power),
        segments=int(segments),
        alpha_peak_hz=alpha_hz,
        alpha_peak_power=alpha_peak,
        gamma_peak_hz=gamma_hz,
        gamma_peak_power=gamma_peak,
        baseline_power=baseline,
        alpha_ratio=float(alpha_ratio),
        gamma_ratio=float(gamma_ratio),
        rate_ok=bool(rate_ok),
        alpha_ok=alpha_ok,
        gamma_ok=gamma_ok,
        segments_ok=bool(segments_ok),
        passed=bool(rate_ok and alpha_ok and gamma_ok and segments_ok),
    )
