"""Spike statistics: the Elephant calls, the vectorised rates the report keeps pinned to Elephant, and the report's numbers.

Elephant computes the ISI CV, Fano factor and correlations the report shows
(:mod:`spiking.analysis.spiketrains`); the population rate over time and the
per-neuron rates per pattern stay vectorised in the renderer (one streamed
pass over ``spikes.h5``, any run length, no neo object per neuron), and the
tests here pin them to ``elephant.statistics.time_histogram`` and
``mean_firing_rate`` on a real run.
"""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

import spiking
from conftest import run_cli
from spiking.analysis.layers import epoch_pattern_index, run_statistics
from spiking.analysis.spiketrains import (
    counting_windows,
    fano_factors,
    isi_cv,
    pairwise_correlations,
    pattern_bins,
    sample_nodes,
)
from spiking.render import render_run

neo = pytest.importorskip("neo")
pq = pytest.importorskip("quantities")
es = pytest.importorskip("elephant.statistics")
ec = pytest.importorskip("elephant.conversion")
esc = pytest.importorskip("elephant.spike_train_correlation")


def poisson(rng, rate_hz: float, t_ms: float) -> np.ndarray:
    return np.sort(rng.uniform(0.0, t_ms, rng.poisson(rate_hz * t_ms / 1000.0)))


# ---- the Elephant calls, against Elephant used directly and against theory --------------------


def test_isi_cv_is_elephants_per_neuron_and_poisson_is_one():
    rng = np.random.default_rng(1)
    trains = [poisson(rng, r, 2000.0) for r in rng.uniform(1, 40, 60)] + [np.array([5.0, 9.0]), np.zeros(0)]
    cv = isi_cv(trains)
    for t, c in zip(trains, cv):
        if len(t) >= 3:
            assert c == pytest.approx(float(es.cv(es.isi(neo.SpikeTrain(t * pq.ms, t_stop=2000 * pq.ms)))), rel=1e-12)
        else:
            assert np.isnan(c)
    assert isi_cv([np.arange(0.0, 1000.0, 25.0)])[0] == pytest.approx(0.0, abs=1e-12)  # a clock
    # a long Poisson train: CV 1 within 4 standard errors (SE ~ 1/sqrt(n) for n ~ 10,000 intervals)
    (long,) = isi_cv([poisson(rng, 50.0, 200_000.0)])
    assert abs(long - 1.0) < 4 / np.sqrt(10_000)


def test_fano_factor_is_elephants_over_windows_and_poisson_is_one():
    rng = np.random.default_rng(2)
    epochs = [(0.0, 260.0), (500.0, 750.0)]
    windows = counting_windows(epochs, 50.0)
    assert windows.tolist() == [[a, a + 50.0] for a in (0, 50, 100, 150, 200, 500, 550, 600, 650, 700)]
    trains = [poisson(rng, 30.0, 1000.0) for _ in range(20)]
    ff = fano_factors(trains, windows)
    for t, f in zip(trains, ff):
        st = neo.SpikeTrain(t * pq.ms, t_stop=1000 * pq.ms)
        pieces = [st.time_slice(a * pq.ms, b * pq.ms - 1e-9 * pq.ms) for a, b in windows]
        assert f == pytest.approx(es.fanofactor(pieces), rel=1e-12)
    assert np.isnan(fano_factors([np.array([900.0])], windows)[0])  # silent in every window
    # Poisson counts: var / mean = 1, times Elephant's (n - 1) / n for n windows (population variance);
    # 400 windows of a 100 Hz train, 4 standard errors of sqrt(2 / n)
    long = counting_windows([(0.0, 20_000.0)], 50.0)
    (f,) = fano_factors([poisson(rng, 100.0, 20_000.0)], long)
    assert abs(f - (len(long) - 1) / len(long)) < 4 * np.sqrt(2 / len(long))


def test_correlations_are_elephants_on_epochs_laid_end_to_end():
    rng = np.random.default_rng(3)
    epochs = [(0.0, 205.0), (400.0, 600.0)]  # 20 and 20 whole bins of 10 ms
    starts, stops, length = pattern_bins(epochs, 10.0)
    assert starts.tolist() == [0.0, 400.0] and stops.tolist() == [200.0, 600.0] and length == 400.0
    common = poisson(rng, 40.0, 1000.0)
    trains = [np.sort(np.concatenate([common, poisson(rng, 20.0, 1000.0)])) for _ in range(6)]
    trains.append(np.zeros(0))  # silent: its pairs are left out
    r = pairwise_correlations(trains, epochs, 10.0)
    # the same by hand: cut each train to the binned parts, shift them end to end, bin and correlate with Elephant
    shifted = []
    for t in trains[:6]:
        a = t[(t >= 0) & (t < 200)]
        b = t[(t >= 400) & (t < 600)] - 400 + 200
        shifted.append(neo.SpikeTrain(np.concatenate([a, b]) * pq.ms, t_stop=400 * pq.ms))
    binned = ec.BinnedSpikeTrain(shifted, bin_size=10 * pq.ms)
    expected = esc.correlation_coefficient(binned)[np.triu_indices(6, k=1)]
    assert np.allclose(r, expected)
    assert r.size == 15 and r.mean() > 0.3  # a shared drive correlates every pair
    same = pairwise_correlations([common, common.copy()], epochs, 10.0)
    assert same == pytest.approx([1.0])
    independent = pairwise_correlations([poisson(rng, 40.0, 20_000.0) for _ in range(30)], [(0.0, 20_000.0)], 10.0)
    # 435 pairs of independent trains over 2000 bins: mean 0 within 4 standard errors of 1/sqrt(2000 * 435)
    assert abs(independent.mean()) < 4 / np.sqrt(2000 * independent.size)


def test_samples_are_seeded_and_respect_the_threshold():
    counts = np.array([0, 5, 1, 3, 9, 2, 3, 0, 4])
    a = sample_nodes(counts, 3, (7, 0, 0), min_spikes=3)
    assert a.tolist() == sample_nodes(counts, 3, (7, 0, 0), min_spikes=3).tolist()
    assert set(a) <= {1, 3, 4, 6, 8} and len(a) == 3 and np.all(np.diff(a) > 0)
    assert sample_nodes(counts, 10, 1, min_spikes=3).tolist() == [1, 3, 4, 6, 8]


# ---- the report's numbers on a real run ------------------------------------------------------


@pytest.fixture(scope="module")
def rendered(formats_run, tmp_path_factory):
    import shutil

    folder = tmp_path_factory.mktemp("rendered") / formats_run.name
    shutil.copytree(formats_run, folder)
    proc = run_cli("render", folder, "--no-movies")
    assert proc.returncode == 0, proc.stderr
    return folder


def test_population_rate_is_elephants_time_histogram(rendered):
    """rates/population_rates.csv (streamed np.bincount) equals elephant.statistics.time_histogram / neurons.

    One convention differs at the very end: Elephant's bins are [a, b) and drop
    a spike at exactly t_stop; the renderer counts it in the last bin (NEST
    stamps a spike at the end of the step it happened in).
    """
    run = spiking.open_run(rendered)
    with open(rendered / "rates" / "population_rates.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    bin_ms = float(rows[1]["time_ms"]) - float(rows[0]["time_ms"])
    for name in run.layers:
        s = run.spikes[name]
        pooled = neo.SpikeTrain(s.times * pq.ms, t_stop=run.t_stop * pq.ms)
        hist = es.time_histogram([pooled], bin_size=bin_ms * pq.ms, output="rate")
        expected = hist.rescale(pq.Hz).magnitude.ravel() / s.n_nodes
        at_end = np.count_nonzero(s.times >= run.t_stop)
        expected[-1] += at_end / (s.n_nodes * bin_ms / 1000.0)
        got = np.array([float(r[f"{name}_hz"]) for r in rows])
        assert got.size == expected.size and got.sum() > 0
        assert np.allclose(got, expected, rtol=1e-5, atol=1e-9), name  # the CSV keeps 6 significant digits


def test_rates_per_pattern_are_elephants_mean_firing_rates(rendered):
    """rates/rates_by_pattern.csv equals the mean over neurons of elephant's mean_firing_rate over each pattern's epochs."""
    run = spiking.open_run(rendered)
    with open(rendered / "rates" / "rates_by_pattern.csv", newline="") as fh:
        rows = {(r["layer"], r["pattern"]): float(r["mean_rate_hz"]) for r in csv.DictReader(fh)}
    for name in run.layers:
        trains = [neo.SpikeTrain(t * pq.ms, t_stop=run.t_stop * pq.ms) for t in run.spikes[name].by_node()]
        for p in run.patterns:
            eps = [e for e in run.schedule if e.pattern == p]
            # each epoch is [start, stop), the last one [start, t_stop] (as the renderer attributes spikes)
            ends = [e.stop if e.stop >= run.t_stop else e.stop - 1e-9 for e in eps]
            per_neuron = [
                sum(
                    float(es.mean_firing_rate(st.time_slice(e.start * pq.ms, b * pq.ms)).rescale(pq.Hz)) * (b - e.start)
                    for e, b in zip(eps, ends)
                )
                / sum(b - e.start for e, b in zip(eps, ends))
                for st in trains
            ]
            assert rows[(name, p)] == pytest.approx(np.mean(per_neuron), rel=1e-5), (name, p)


def test_report_statistics_equal_the_api_and_show_poisson_where_it_is(rendered):
    """The streamed report numbers equal run_statistics on the same run; the LGN relays Poisson trains."""
    run = spiking.open_run(rendered)
    stats = run_statistics(run)
    with open(rendered / "rates" / "spike_statistics.csv", newline="") as fh:
        rows = {(r["layer"], r["statistic"], r["pattern"]): r for r in csv.DictReader(fh)}
    for name, s in stats.items():
        cv = s.cv[np.isfinite(s.cv)]
        r = rows[(name, "isi_cv", "")]
        assert int(r["n"]) == cv.size and float(r["mean"]) == pytest.approx(cv.mean(), rel=1e-5)
        for p in run.patterns:
            c = rows[(name, "correlation", p)]
            assert int(c["n"]) == s.correlations[p].size
            assert float(c["mean"]) == pytest.approx(s.correlations[p].mean(), rel=1e-5, abs=1e-9)
            f = s.fano[p][np.isfinite(s.fano[p])]
            assert float(rows[(name, "fano_factor", p)]["mean"]) == pytest.approx(f.mean(), rel=1e-5)
    lgn = stats["lgn_on"]
    # Poisson generators relayed 1:1: ISI CV about 1 (the rate steps between epochs add a little),
    # and independent trains: correlations about 0 (4,950 pairs, SE ~ 0.003 each)
    assert lgn.cv.size == 200 and 0.85 < np.nanmean(lgn.cv) < 1.15
    for p in run.patterns:
        assert lgn.correlations[p].size == 4950 and abs(lgn.correlations[p].mean()) < 0.03
    # V1 fires in synchronous volleys (notebook 6): its pairs correlate more than the LGN's
    assert np.mean([stats["ex_on"].correlations[p].mean() for p in run.patterns]) > np.mean(
        [lgn.correlations[p].mean() for p in run.patterns]
    )


def test_report_says_engine_retina_input_and_statistics(rendered):
    m = json.loads((rendered / "manifest.json").read_text())
    page = (rendered / "index.html").read_text()
    assert f'<span id="engine">nest {m["engine"]["version"]} (2 threads x 1 process)</span>' in page
    assert '<span id="retina-source">generators: Poisson generators relayed by parrot neurons</span>' in page
    assert '<section id="statistics">' in page and "spike_statistics.png" in page
    assert (rendered / "rates" / "spike_statistics.png").stat().st_size > 10_000
    assert set(m["render"]["timings_s"]) >= {"rates", "statistics", "report", "total"}


def test_report_says_when_the_retina_input_was_pre_drawn_trains(tmp_path):
    from test_render import make_run_folder

    folder = make_run_folder(tmp_path / "run", manifest_extra={"retina_source": "trains"})
    render_run(folder, movies=False)
    page = (folder / "index.html").read_text()
    assert "trains: pre-drawn Poisson trains injected as the LGN relay&#x27;s spikes" in page


def test_epoch_index_gives_a_spike_at_the_end_to_the_last_epoch():
    starts = np.array([0.0, 100.0, 200.0])
    times = np.array([0.0, 99.9, 100.0, 200.0, 300.0])
    assert epoch_pattern_index(times, starts, 300.0).tolist() == [0, 0, 1, 2, 2]
    assert epoch_pattern_index(times[:4], starts, 200.0).tolist() == [0, 0, 1, 1]
