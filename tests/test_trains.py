"""The retina's spikes as pre-drawn Poisson trains: statistics, determinism, injection into NEST, and equivalence.

Pure numpy tests of :mod:`spiking.model.trains` first, then the trains on the
real NEST kernel, then both formulations of the input compared over seeds.
"""

import numpy as np
import pytest
from scipy import stats

from conftest import connect, tiny
from spiking.config import from_mapping
from spiking.model.network import build_model
from spiking.model.stimulus import ScheduledEpoch
from spiking.model.trains import BLOCK_MS, RetinaTrains


def _trains(rates_a, rates_b, delay=1.0, seed=7, res=0.1, epochs=((0.0, 400.0, "a"), (400.0, 1000.0, "b"))):
    schedule = [ScheduledEpoch(s, e, p) for s, e, p in epochs]
    rates = {"a": {"retina_on": rates_a, "retina_off": rates_b}, "b": {"retina_on": rates_b, "retina_off": rates_a}}
    return RetinaTrains(schedule, rates, res, {"lgn_on": delay, "lgn_off": delay}, seed)


def test_windows_compose_and_do_not_depend_on_how_they_are_cut():
    """Any cut of (0, T] into windows gives the same spikes as one window (blocks of 100 ms are crossed)."""
    rng = np.random.default_rng(0)
    rates = rng.uniform(5, 100, 50)
    whole = _trains(rates, rates[::-1]).window("lgn_on", 0.0, 1001.0)
    for cuts in ([0, 1001.0], [0, 50, 100, 333.3, 401.0, 1001.0], list(np.arange(0, 1001.5, 7.3)) + [1001.0]):
        tr = _trains(rates, rates[::-1])
        parts = [tr.window("lgn_on", a, b) for a, b in zip(cuts[:-1], cuts[1:])]
        ids = np.concatenate([p[0] for p in parts])
        times = np.concatenate([p[1] for p in parts])
        assert np.array_equal(ids, whole[0]) and np.allclose(times, whole[1], atol=1e-9)
    assert np.all(np.diff(whole[1]) >= -1e-12)  # sorted by time


def test_trains_depend_on_seed_layer_and_nothing_else():
    rates = np.full(30, 50.0)
    a = _trains(rates, rates, seed=1).window("lgn_on", 0, 1001)
    b = _trains(rates, rates, seed=1).window("lgn_on", 0, 1001)
    c = _trains(rates, rates, seed=2).window("lgn_on", 0, 1001)
    d = _trains(rates, rates, seed=1).window("lgn_off", 0, 1001)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1]) and not np.array_equal(a[1], d[1])


def test_spikes_follow_each_epochs_rates_with_poisson_statistics():
    """Per epoch and node, counts are Poisson(rate x duration).

    Totals per epoch within 4 standard deviations; the per-node counts pass a
    chi-square dispersion test (index of dispersion; p > 0.001); and, given
    its count, a Poisson process places its spikes independently and
    uniformly over the epoch, so the spike times pass a KS test against the
    uniform distribution (p > 0.001). (Intervals inside a finite epoch are not
    exponential: long ones are cut off.) Spike times are stamped at the end of
    their 0.1 ms step: moving each back by a uniform fraction of a step gives
    back a continuous process. Seeded, so the test is deterministic.
    """
    jitter = np.random.default_rng(99)
    rng = np.random.default_rng(3)
    n = 400
    ra, rb = rng.uniform(5, 100, n), rng.uniform(5, 100, n)
    delay = 1.0
    tr = _trains(ra, rb, delay=delay)
    for layer, rates_by_epoch in (("lgn_on", (ra, rb)), ("lgn_off", (rb, ra))):
        ids, t = tr.window(layer, 0.0, 1000.0 + delay)
        for (start, stop), rates in zip(((0.0, 400.0), (400.0, 1000.0)), rates_by_epoch):
            inside = (t > start + delay + 1e-9) & (t <= stop + delay + 1e-9)
            counts = np.bincount(ids[inside], minlength=n)
            expected = rates * (stop - start) / 1000.0
            assert abs(counts.sum() - expected.sum()) <= 4 * np.sqrt(expected.sum())
            chi2 = ((counts - expected) ** 2 / expected).sum()
            assert stats.chi2.sf(chi2, n) > 0.001 and stats.chi2.cdf(chi2, n) > 0.001
            u = (t[inside] - jitter.uniform(0.0, 0.1, inside.sum()) - start - delay) / (stop - start)
            assert stats.kstest(u, "uniform").pvalue > 0.001
        # the first spike of a retina step is stamped at the step's end, then relayed
        assert t.min() >= delay + 0.1 - 1e-9 and t.max() <= 1000.0 + delay + 1e-9
        assert np.allclose(t / 0.1, np.round(t / 0.1))  # on the time grid


def test_two_spikes_may_share_a_step_as_with_poisson_generators():
    """At 1 kHz, P(two spikes in one 0.1 ms step) = 0.0047 of steps: such pairs must occur."""
    tr = _trains(np.full(20, 1000.0), np.full(20, 1000.0), epochs=((0.0, 1000.0, "a"),))
    ids, t = tr.window("lgn_on", 0, 1001)
    keys = ids * 100000 + np.round(t * 10).astype(np.int64)
    dup = keys.size - np.unique(keys).size
    expected = 20 * 10000 * (1 - np.exp(-0.1) * (1 + 0.1))
    assert abs(dup - expected) <= 4 * np.sqrt(expected)


def test_block_length_is_fixed():
    assert BLOCK_MS == 100.0  # changing it changes every run's input for the same seed


# ---- on NEST --------------------------------------------------------------------------


def _model(**kw):
    data = tiny(
        run={"simulation_time": 300.0, "seed": 21, "chunk": 50.0, **kw.pop("run", {})},
        retina={"source": "trains"},
        **kw,
    )
    return build_model(from_mapping(data))


def test_injectors_emit_exactly_the_trains(monkeypatch):
    """The injector layer's spikes, recorded by NEST itself, are the pre-drawn trains, fed window by window."""
    from spiking.engines.nest.engine import NestEngine

    model = _model(recording={"layers": ["lgn_on", "ex_on"]}, run={"threads": 2})
    monkeypatch.setattr(NestEngine, "feed_window", 70.0)  # several feeds, not aligned with the chunks
    eng = NestEngine()
    eng.setup(model, 2)
    eng.build()
    connect(eng, model)
    nest = eng.nest
    sr = nest.Create("spike_recorder")
    nest.Connect(eng.nodes["lgn_on"], sr)
    eng.simulate(lambda t, spikes: None, model.chunk)
    ev = sr.get("events")
    got = sorted(zip(np.asarray(ev["senders"]) - eng.first_id["lgn_on"], np.round(ev["times"], 6)))
    ids, t = model.trains().window("lgn_on", 0.0, model.simulation_time)
    want = sorted(zip(ids, np.round(t, 6)))
    assert len(want) > 1000 and got == want


def test_relay_spikes_are_the_same_for_any_number_of_threads(tmp_path):
    """The relay's spikes written to spikes.h5 depend on the seed only, not on threads."""
    import h5py

    from spiking.run import run

    out = {}
    for threads in (1, 2):
        cfg = from_mapping(
            tiny(
                run={"threads": threads, "simulation_time": 200.0, "output_dir": str(tmp_path / str(threads))},
                recording={"layers": ["lgn_on", "lgn_off", "ex_on"]},
                retina={"source": "trains"},
            )
        )
        res = run(cfg, progress=False, quiet=True)
        with h5py.File(res.folder / "spikes.h5") as h5:
            out[threads] = {
                k: (h5[f"spikes/{k}/node_ids"][()], h5[f"spikes/{k}/timestamps"][()]) for k in ("lgn_on", "lgn_off")
            }
    for k in ("lgn_on", "lgn_off"):
        assert len(out[1][k][0]) > 100
        assert np.array_equal(out[1][k][0], out[2][k][0]) and np.array_equal(out[1][k][1], out[2][k][1])


# ---- latency coding -----------------------------------------------------------------------------


def test_latency_coding_fires_each_pixel_once_per_epoch_the_strongest_first():
    """``retina.coding = "latency"``: one spike per pixel and epoch at ``latency_min + (latency_max - latency_min)
    (1 - r) / (1 - threshold)`` ms after the onset (end of its step, plus the relay delay), none below the threshold
    or past the epoch's end; any cut into windows gives the same spikes."""
    from spiking.config import RetinaConfig
    from spiking.model.retina import latency

    retina = RetinaConfig(source="trains", coding="latency", latency_min=1.0, latency_max=120.0, latency_threshold=0.2)
    rng = np.random.default_rng(4)
    resp = {"a": rng.uniform(0, 1, 300), "b": rng.uniform(0, 1, 300)}
    lat = {p: {"retina_on": latency(r, retina), "retina_off": latency(1 - r, retina)} for p, r in resp.items()}
    schedule = [ScheduledEpoch(0.0, 100.0, "a"), ScheduledEpoch(100.0, 350.0, "b")]
    rates = {p: {"retina_on": np.zeros(300), "retina_off": np.zeros(300)} for p in resp}
    tr = RetinaTrains(schedule, rates, 0.1, {"lgn_on": 1.5, "lgn_off": 1.5}, 3, latencies=lat)
    ids, t = tr.window("lgn_on", 0.0, 360.0)
    for ep, r in zip(schedule, (resp["a"], resp["b"])):
        inside = (t > ep.start) & (t <= ep.stop + 1.5)
        got = dict(zip(ids[inside].tolist(), t[inside].tolist()))
        want_lat = 1.0 + 119.0 * (1 - r) / 0.8
        fires = (r >= 0.2) & (np.floor(want_lat / 0.1 + 1e-9) * 0.1 < ep.stop - ep.start)
        assert set(got) == set(np.flatnonzero(fires).tolist())  # once each, none below the threshold or too late
        for n, time in got.items():
            assert time == pytest.approx(ep.start + (np.floor(want_lat[n] / 0.1 + 1e-9) + 1) * 0.1 + 1.5, abs=1e-9)
        order = sorted(got, key=got.get)
        assert np.all(np.diff(r[order]) <= 1e-9 + 0.1 / 119.0 * 0.8)  # the stronger first (to a step)
    a, b = tr.window("lgn_on", 0.0, 97.3), tr.window("lgn_on", 97.3, 360.0)
    assert np.array_equal(np.concatenate([a[0], b[0]]), ids) and np.allclose(np.concatenate([a[1], b[1]]), t)


def test_latency_coding_needs_pre_drawn_trains_and_an_order_of_latencies():
    from spiking.errors import ConfigError

    with pytest.raises(ConfigError, match='retina.coding: latency needs retina.source = "trains"'):
        from_mapping(tiny(retina={"coding": "latency", "source": "generators"}))
    with pytest.raises(ConfigError, match="retina.latency_max: must be >= retina.latency_min"):
        from_mapping(tiny(retina={"coding": "latency", "latency_min": 20.0, "latency_max": 10.0}))
    model = build_model(from_mapping(tiny(retina={"coding": "latency"})))
    s = next(iter(model.stimuli.values()))
    assert s.latency_on.shape == s.image.shape and np.isinf(s.latency_on).any() and np.isfinite(s.latency_on).any()
