"""Tests of the Fig. 3 network of Izhikevich (2003): its drawing, its numerics on NEST and Brian2, its metrics.

Seeded throughout; tolerances are stated next to each assertion.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import signal

from spiking.izhikevich import metrics, plots, protocols, simulate

SEED = 12345
OTHER_SEED = 777


# ---------------------------------------------------------------------------
# the drawn network (numpy only)
# ---------------------------------------------------------------------------


def test_draw_network_is_the_papers():
    n_exc, n_inh = 80, 20
    p = protocols.draw_network(SEED, 2000.0, n_exc, n_inh)
    n = n_exc + n_inh
    assert p.weights.shape == (n, n) and p.noise.shape == (2000, n) and p.n_steps == 2000
    w = p.weights
    assert np.all((w[:, :n_exc] >= 0) & (w[:, :n_exc] < 0.5))  # 0.5 U(0, 1)
    assert np.all((w[:, n_exc:] <= 0) & (w[:, n_exc:] > -1.0))  # -U(0, 1)
    # excitatory: c in [-65, -50], d in [2, 8], c and d tied by the same r
    r2 = (p.c[:n_exc] + 65.0) / 15.0
    np.testing.assert_allclose(p.d[:n_exc], 8 - 6 * r2, atol=1e-12)
    assert np.all((r2 >= 0) & (r2 <= 1)) and np.all(p.a[:n_exc] == 0.02) and np.all(p.b[:n_exc] == 0.2)
    # inhibitory: a = 0.02 + 0.08 r, b = 0.25 - 0.05 r with the same r
    r = (p.a[n_exc:] - 0.02) / 0.08
    np.testing.assert_allclose(p.b[n_exc:], 0.25 - 0.05 * r, atol=1e-12)
    assert np.all(p.c[n_exc:] == -65.0) and np.all(p.d[n_exc:] == 2.0)


def test_thalamic_noise_is_independent_gaussian():
    p = protocols.draw_network(SEED, 10000.0)
    exc, inh = p.noise[:, : p.n_exc], p.noise[:, p.n_exc :]
    # 8e6 and 2e6 samples: the sample sd is within 0.2 % of 5 and 2 pA (> 5 sd of the estimate)
    assert exc.std() == pytest.approx(5.0, rel=2e-3) and inh.std() == pytest.approx(2.0, rel=2e-3)
    assert abs(exc.mean()) < 0.01 and abs(inh.mean()) < 0.01  # pA; sd of the mean 0.002
    # independent per neuron: neighbours' correlation over 10 000 steps is within 4.5 / sqrt(1e4)
    c = np.corrcoef(p.noise[:, :50].T)[np.triu_indices(50, 1)]
    assert np.max(np.abs(c)) < 0.045


def test_draw_network_is_seeded_and_prefix_stable():
    a, b = protocols.draw_network(SEED, 3000.0, 50, 10), protocols.draw_network(SEED, 1000.0, 50, 10)
    # a shorter run gets the same network and the start of the same input
    assert np.array_equal(a.weights, b.weights) and np.array_equal(a.c, b.c)
    assert np.array_equal(a.noise[:1000], b.noise)
    other = protocols.draw_network(OTHER_SEED, 1000.0, 50, 10)
    assert not np.array_equal(other.weights, b.weights) and not np.array_equal(other.noise, b.noise)


def test_draw_network_refuses_partial_steps():
    with pytest.raises(ValueError, match="duration: must be a non-negative multiple of the resolution 1 ms, got 10.5"):
        protocols.draw_network(SEED, 10.5)


# ---------------------------------------------------------------------------
# the network on the engines
# ---------------------------------------------------------------------------


@pytest.mark.nest
def test_network_construction_small():
    import nest

    n_exc, n_inh = 8, 4
    res = simulate.simulate_network(duration=50.0, seed=SEED, n_exc=n_exc, n_inh=n_inh)
    drawn = protocols.draw_network(SEED, 50.0, n_exc, n_inh)
    n = n_exc + n_inh
    assert nest.resolution == 1.0
    nodes = nest.GetNodes({"model": "izhikevich"})
    assert len(nodes) == n
    assert not any(nodes.get("consistent_integration"))  # the paper's numerics
    conns = nest.GetConnections(source=nodes, target=nodes)
    assert len(conns) == n * n  # all-to-all including autapses
    st = conns.get(["source", "target", "weight", "delay"])
    src = np.asarray(st["source"]) - nodes[0].global_id
    tgt = np.asarray(st["target"]) - nodes[0].global_id
    assert np.sum(src == tgt) == n  # one autapse per neuron
    assert np.all(np.asarray(st["delay"]) == 1.0)
    # NEST holds exactly the drawn weights[post, pre]
    assert np.array_equal(np.asarray(st["weight"]), drawn.weights[tgt, src])
    assert np.array_equal(res.params["c"], drawn.c)
    assert list(res.is_excitatory) == [True] * n_exc + [False] * n_inh


def _assert_genuine_peaks(m):
    # the reported peaks are local maxima of the spectrum inside their bands
    for hz, band in ((m.alpha_peak_hz, metrics.ALPHA_BAND), (m.gamma_peak_hz, metrics.GAMMA_BAND)):
        assert band[0] <= hz <= band[1], m.summary()
        i = int(np.flatnonzero(m.freqs == hz)[0])
        assert m.power[i] > m.power[i - 1] and m.power[i] > m.power[i + 1], m.summary()


# ---------------------------------------------------------------------------
# network_metrics on synthetic spike trains (no simulator)
# ---------------------------------------------------------------------------


def _synthetic_spikes(rng, rate_hz, n, duration_ms, modulations=()):
    """Inhomogeneous Poisson population: rate(t) = rate (1 + sum m sin(2 pi f t))."""
    t = np.arange(int(duration_ms)) + 0.5  # 1 ms bin centres
    r = np.full(t.size, rate_hz)
    for depth, freq in modulations:
        r = r + rate_hz * depth * np.sin(2 * np.pi * freq * t / 1000.0)
    counts = rng.poisson(np.clip(r, 0, None) * n / 1000.0)
    return np.repeat(t, counts)


def test_metrics_find_imposed_rhythms():
    rng = np.random.default_rng(SEED)
    times = _synthetic_spikes(rng, 8.0, 1000, 10000.0, modulations=((0.5, 10.0), (0.3, 35.0)))
    m = metrics.network_metrics(times, duration=10000.0, n_neurons=1000)
    # Poisson: expected 80 000 spikes, sd ~ 283 -> 8 Hz within 0.2 Hz (7 sd)
    assert m.mean_rate_hz == pytest.approx(8.0, abs=0.2)
    # peaks at the imposed frequencies (Welch resolution 1 Hz)
    assert m.alpha_peak_hz == pytest.approx(10.0, abs=1.0)
    assert m.gamma_peak_hz == pytest.approx(35.0, abs=1.0)
    assert m.passed
    # population-rate series: 10 000 bins of 1 ms, mean equal to the mean rate
    assert m.population_rate_hz.size == 10000
    assert m.population_rate_hz.mean() == pytest.approx(m.mean_rate_hz, rel=1e-12)


def test_metrics_reject_flat_poisson():
    rng = np.random.default_rng(SEED)
    times = _synthetic_spikes(rng, 8.0, 1000, 10000.0)
    m = metrics.network_metrics(times, duration=10000.0, n_neurons=1000)
    # white spectrum: a band maximum over ~7-21 Welch bins (19 averaged
    # segments, relative sd ~ 0.23) is below 3x the mean
    assert not (m.alpha_ratio >= 3.0) and not (m.gamma_ratio >= 3.0)
    assert not m.passed


def test_band_peak_is_a_local_maximum():
    f = np.arange(0.0, 30.0)
    falling = 100.0 / (1.0 + f)
    assert np.isnan(metrics.band_peak(f, falling, (6.0, 12.0))[0])  # only the foot of a low peak
    bump = falling + 50.0 * np.exp(-0.5 * (f - 9.0) ** 2)
    assert metrics.band_peak(f, bump, (6.0, 12.0))[0] == 9.0
    # a maximum at the band's edge counts only if the spectrum falls on both sides
    edge = falling + 80.0 * np.exp(-0.5 * ((f - 6.0) / 0.5) ** 2)
    assert metrics.band_peak(f, edge, (6.0, 12.0))[0] == 6.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_metrics_reject_the_skirt_of_a_slower_rhythm(seed):
    # A 4 Hz resonance (AR(2), pole radius 0.995) whose skirt covers 6-12 Hz
    # plus a 35 Hz rhythm: the band's maximum (at its 6 Hz edge) is over 10x
    # the baseline, but it is no peak, so there is no alpha rhythm.
    rng = np.random.default_rng(seed)
    a1, a2 = 2 * 0.995 * np.cos(2 * np.pi * 4.0 / 1000), -(0.995**2)
    x = signal.lfilter([1.0], [1, -a1, -a2], rng.standard_normal(12000))[2000:]
    t = np.arange(10000) + 0.5
    rate = 8.0 * (1 + 0.6 * x / x.std() + 0.3 * np.sin(2 * np.pi * 35 * t / 1000))
    times = np.repeat(t, rng.poisson(np.clip(rate, 0, None)))
    m = metrics.network_metrics(times, duration=10000.0, n_neurons=1000)
    in_band = (m.freqs >= 6.0) & (m.freqs <= 12.0)
    assert m.power[in_band].max() / m.baseline_power >= 10.0
    assert m.freqs[in_band][np.argmax(m.power[in_band])] == 6.0
    assert m.gamma_ok and not m.alpha_ok and not m.passed


def test_metrics_need_three_segments():
    # the same strong rhythms: 1.5 s gives 2 Welch segments (fails), 2 s gives 3 (passes)
    for duration, segments, ok in ((1500.0, 2, False), (2000.0, 3, True)):
        rng = np.random.default_rng(SEED)
        times = _synthetic_spikes(rng, 8.0, 1000, duration, modulations=((0.5, 10.0), (0.5, 35.0)))
        m = metrics.network_metrics(times, duration=duration, n_neurons=1000)
        assert m.segments == segments and m.segments_ok is ok and m.passed is ok, m.summary()
        assert m.alpha_ok and m.gamma_ok and m.rate_ok


# ---------------------------------------------------------------------------
# plots
# ---------------------------------------------------------------------------


def _assert_png(path):
    import matplotlib.image as mpimg

    path = Path(path)
    assert path.is_file() and path.stat().st_size > 0
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    img = mpimg.imread(path)
    assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100


@pytest.mark.nest
def test_plot_types_writes_png(tmp_path):
    res = simulate.simulate_types(duration=100.0, step_onset=10.0, probes=False)
    out = plots.plot_types(res, tmp_path / "sub" / "types.png")
    assert out == tmp_path / "sub" / "types.png"
    _assert_png(out)
    assert [p.name for p in out.parent.iterdir()] == ["types.png"]  # no temporary left behind


@pytest.mark.nest
def test_plot_network_writes_pngs(tmp_path):
    res = simulate.simulate_network(duration=1000.0, seed=SEED, n_exc=80, n_inh=20)
    m = metrics.network_metrics(res)
    paths = plots.plot_network(res, m, tmp_path / "net")
    assert set(paths) == {"raster", "population_rate", "spectrum"}
    assert {p.name for p in paths.values()} == {"raster.png", "population_rate.png", "spectrum.png"}
    for p in paths.values():
        _assert_png(p)
