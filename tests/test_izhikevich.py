"""Tests of the Izhikevich (2003) reproductions on the real NEST kernel.

Everything is seeded or deterministic.  Tolerances are stated next to each
assertion.  The expectations come from the paper (firing patterns, rate,
rhythms) or from the model equations (fixed points, linearisation, the
update scheme), not from recorded outputs of the code under test.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from spiking.izhikevich import core as izh

ROOT = Path(__file__).resolve().parents[1]
SEED = 12345
OTHER_SEED = 777


# ---------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def types_result():
    """The seven Fig. 2 classes, I = 10 pA step at 20 ms, 500 ms at 0.1 ms."""
    return izh.simulate_types(duration=500.0, current=10.0, resolution=0.1, step_onset=20.0)


@pytest.fixture(scope="module")
def network_runs():
    """The full 10 s Fig. 3 network: twice with SEED, once with OTHER_SEED."""
    runs = {}
    timings = {}
    for key, seed in (("a", SEED), ("b", SEED), ("other", OTHER_SEED)):
        t0 = time.perf_counter()
        res = izh.simulate_network(duration=10000.0, seed=seed, threads=1)
        timings[key] = time.perf_counter() - t0
        runs[key] = (res, izh.network_metrics(res))
    runs["timings"] = timings
    return runs


# ---------------------------------------------------------------------------
# module hygiene
# ---------------------------------------------------------------------------


def test_module_imports_without_nest():
    # importing the module must not import NEST (it is imported lazily)
    code = "import sys, spiking.izhikevich.core as m; assert 'nest' not in sys.modules, 'nest imported'"
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_neuron_types_are_the_papers():
    # Fig. 2 of Izhikevich (2003), in the paper's order
    assert list(izh.NEURON_TYPES) == ["RS", "IB", "CH", "FS", "LTS", "TC", "RZ"]
    assert izh.NEURON_TYPES["IB"] == (0.02, 0.2, -55.0, 4.0)
    assert izh.NEURON_TYPES["TC"] == (0.02, 0.25, -65.0, 0.05)
    assert izh.NEURON_TYPES["RZ"] == (0.1, 0.26, -65.0, 2.0)


# ---------------------------------------------------------------------------
# single neurons (Fig. 2)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("b", [0.2, 0.25, 0.26])
def test_resting_state_is_a_fixed_point(b):
    v, u = izh.resting_state(b)
    # both derivatives vanish (tolerance 1e-9 mV/ms: round-off of the root formula)
    assert abs(0.04 * v * v + 5 * v + 140 - u) < 1e-9
    assert abs(u - b * v) < 1e-12
    # and it is the lower (stable) root: the Jacobian's trace is negative
    assert 0.08 * v + 5 - 0.02 < 0


def test_nest_neuron_stays_at_rest_without_input(types_result):
    # before the step onset (20 ms) every class sits at its resting state;
    # tolerance 1e-6 mV allows only round-off drift of the Euler update
    for tr in types_result.values():
        before = tr.v[tr.times <= tr.step_onset]
        assert before.size > 100
        assert np.max(np.abs(before - tr.v0)) < 1e-6, tr.name
        assert not np.any(tr.spike_times <= tr.step_onset), tr.name


def test_simulate_types_trace_shape(types_result):
    for tr in types_result.values():
        # one sample per 0.1 ms step, 0.1 .. 500 ms (multimeter: state after each step)
        assert tr.times.size == 5000
        assert tr.times[0] == pytest.approx(0.1) and tr.times[-1] == pytest.approx(500.0)
        # the recorded (post-reset) potential never reaches the 30 mV cut-off
        assert tr.v.max() < izh.V_PEAK
        assert tr.spike_times.size > 5


@pytest.mark.parametrize("name", list(izh.NEURON_TYPES))
def test_class_check_passes_on_nest(types_result, name):
    passed, measured = izh.CHECKS[name](types_result[name])
    assert passed, f"{name}: {measured}"


def test_check_types_table(types_result):
    rows = izh.check_types(types_result)
    assert [r.name for r in rows] == list(izh.NEURON_TYPES)
    for r in rows:
        assert r.passed, izh.format_check_table([r])
        assert r.check and r.measured
        assert all(isinstance(v, float) for v in r.measured.values())
    assert "PASS" in izh.format_check_table(rows)


def test_checks_are_specific(types_result):
    # Each check must reject the classes whose firing pattern contradicts it.
    # The only cross-acceptances allowed are TC and RZ by the FS check: at
    # I = 10 pA both really fire tonically above 100 Hz without adaptation
    # (their defining features, rebound burst and resonance, are tested by
    # their own checks).
    allowed = {"FS": {"FS", "TC", "RZ"}}
    for check_name, check in izh.CHECKS.items():
        accepted = {n for n, tr in types_result.items() if check(tr)[0]}
        assert accepted == allowed.get(check_name, {check_name}), check_name


def test_rz_frequency_prediction_is_linear_theory():
    # RZ at rest: v_r = -62.5 mV, Jacobian [[0, -1], [0.026, -0.1]]:
    # omega^2 = 0.026 - 0.0025 -> f = sqrt(0.0235)/(2 pi) kHz = 24.40 Hz (to 0.01 Hz)
    assert izh.linear_oscillation_frequency(0.1, 0.26) == pytest.approx(
        math.sqrt(0.0235) / (2 * math.pi) * 1000, abs=0.01
    )
    # RS is an integrator: real eigenvalues, no subthreshold oscillation
    assert math.isnan(izh.linear_oscillation_frequency(0.02, 0.2))


# ---------------------------------------------------------------------------
# independent NumPy integration vs NEST
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["RS", "FS", "CH", "TC"])
def test_numpy_reference_matches_nest_euler(types_result, name):
    tr = types_result[name]
    ref = izh.numpy_reference(
        *tr.params, current=tr.current, duration=tr.duration, dt=tr.resolution, step_onset=tr.step_onset
    )
    # same number of spikes, each in the same integration step
    # (tolerance: half a step, so any one-step shift fails)
    assert ref.spike_times.size == tr.spike_times.size
    assert np.max(np.abs(ref.spike_times - tr.spike_times)) < 0.5 * tr.resolution
    # same sample times; V and U agree to 1e-9 (both do the same IEEE operations)
    np.testing.assert_allclose(ref.times, tr.times, rtol=0, atol=1e-9)
    np.testing.assert_allclose(ref.v, tr.v, rtol=0, atol=1e-9)
    np.testing.assert_allclose(ref.u, tr.u, rtol=0, atol=1e-9)


@pytest.mark.parametrize("name", ["RS", "CH", "FS"])
def test_numpy_reference_matches_nest_paper_scheme(name):
    # the network's numerics: consistent_integration=False at 1 ms
    params = izh.NEURON_TYPES[name]
    (nest_run,) = izh.simulate_current_steps(
        [params], [(20.0, 0.0), (480.0, 10.0)], resolution=1.0, consistent_integration=False
    )
    ref = izh.numpy_reference(
        *params, current=10.0, duration=500.0, dt=1.0, step_onset=20.0, consistent_integration=False
    )
    # spikes in the same 1 ms step (tolerance half a step); V to 1e-9 mV
    assert ref.spike_times.size == nest_run["spike_times"].size > 5
    assert np.max(np.abs(ref.spike_times - nest_run["spike_times"])) < 0.5
    np.testing.assert_allclose(ref.v, nest_run["v"], rtol=0, atol=1e-9)


def test_reference_comparison_detects_wrong_scheme(types_result):
    # negative control: the paper's two-half-step scheme at 0.1 ms is a
    # different integrator, so its spike train must differ from NEST's Euler one
    # by more than half a step somewhere (or in count)
    tr = types_result["RS"]
    wrong = izh.numpy_reference(
        *tr.params,
        current=tr.current,
        duration=tr.duration,
        dt=tr.resolution,
        step_onset=tr.step_onset,
        consistent_integration=False,
    )
    same = wrong.spike_times.size == tr.spike_times.size and np.all(
        np.abs(wrong.spike_times - tr.spike_times) < 0.5 * tr.resolution
    )
    assert not same


@pytest.mark.parametrize("consistent", [True, False])
def test_spike_weight_enters_as_in_the_documentation(consistent):
    # A spike of weight w: Euler scheme adds w to V_m; paper scheme adds w to
    # the input current of both half-steps.  Compare with the formulas
    # (tolerance 1e-9 mV).
    import nest

    nest.verbosity = nest.VerbosityLevel.WARNING
    nest.ResetKernel()
    nest.resolution = 1.0
    w = 5.0
    src = nest.Create("spike_generator", params={"spike_times": [10.0]})
    parrot = nest.Create("parrot_neuron")
    v0, u0 = izh.resting_state(0.2)
    pair = nest.Create("izhikevich", 2, params={"consistent_integration": consistent, "V_m": v0, "U_m": u0})
    nest.Connect(src, parrot)
    nest.Connect(parrot, pair[0], syn_spec={"weight": w, "delay": 1.0})
    mm = nest.Create("multimeter", params={"record_from": ["V_m"], "interval": 1.0})
    nest.Connect(mm, pair)
    nest.Simulate(20.0)
    ev = mm.events
    hit = ev["V_m"][ev["senders"] == pair[0].global_id]
    quiet = ev["V_m"][ev["senders"] == pair[1].global_id]
    dv = hit - quiet
    k = int(np.argmax(np.abs(dv) > 1e-12))  # first affected sample
    assert np.all(np.abs(dv[:k]) < 1e-12)
    f = lambda v: 0.04 * v * v + 5 * v + 140 - u0  # noqa: E731 (rest: I = 0)
    if consistent:
        expected = w
    else:
        v1 = v0 + 0.5 * (f(v0) + w)
        expected = v1 + 0.5 * (f(v1) + w) - v0
    assert dv[k] == pytest.approx(expected, abs=1e-9)


# ---------------------------------------------------------------------------
# network (Fig. 3)
# ---------------------------------------------------------------------------


def test_network_construction_small():
    import nest

    n_exc, n_inh = 8, 4
    res = izh.simulate_network(duration=50.0, seed=SEED, n_exc=n_exc, n_inh=n_inh)
    n = n_exc + n_inh
    assert nest.resolution == 1.0
    nodes = nest.GetNodes({"model": "izhikevich"})
    assert len(nodes) == n
    assert not any(nodes.get("consistent_integration"))
    conns = nest.GetConnections(source=nodes, target=nodes)
    assert len(conns) == n * n  # all-to-all including autapses
    st = conns.get(["source", "target", "weight", "delay"])
    src = np.asarray(st["source"]) - nodes[0].global_id
    tgt = np.asarray(st["target"]) - nodes[0].global_id
    wgt = np.asarray(st["weight"])
    assert np.sum(src == tgt) == n  # one autapse per neuron
    assert np.all(np.asarray(st["delay"]) == 1.0)
    exc = src < n_exc
    assert np.all((wgt[exc] >= 0) & (wgt[exc] < 0.5))  # 0.5 U(0, 1)
    assert np.all((wgt[~exc] <= 0) & (wgt[~exc] > -1.0))  # -U(0, 1)
    p = res.params
    # excitatory: c in [-65, -50], d in [2, 8], c and d tied by the same r
    r2 = (p["c"][:n_exc] + 65.0) / 15.0
    np.testing.assert_allclose(p["d"][:n_exc], 8 - 6 * r2, atol=1e-12)
    assert np.all((r2 >= 0) & (r2 <= 1))
    # inhibitory: a = 0.02 + 0.08 r, b = 0.25 - 0.05 r with the same r
    r = (p["a"][n_exc:] - 0.02) / 0.08
    np.testing.assert_allclose(p["b"][n_exc:], 0.25 - 0.05 * r, atol=1e-12)
    assert np.all(p["c"][n_exc:] == -65.0) and np.all(p["d"][n_exc:] == 2.0)
    assert list(res.is_excitatory) == [True] * n_exc + [False] * n_inh


def test_noise_generator_is_independent_per_target():
    # the thalamic input relies on one noise_generator giving every target its
    # own Gaussian sequence: two identical neurons must diverge
    import nest

    nest.verbosity = nest.VerbosityLevel.WARNING
    nest.ResetKernel()
    nest.resolution = 1.0
    nest.rng_seed = 3
    pair = nest.Create("izhikevich", 2, params={"consistent_integration": False})
    noise = nest.Create("noise_generator", params={"mean": 0.0, "std": 5.0, "dt": 1.0})
    nest.Connect(noise, pair, syn_spec={"delay": 1.0})
    mm = nest.Create("multimeter", params={"record_from": ["V_m"], "interval": 1.0})
    nest.Connect(mm, pair)
    nest.Simulate(50.0)
    ev = mm.events
    v1 = ev["V_m"][ev["senders"] == pair[0].global_id]
    v2 = ev["V_m"][ev["senders"] == pair[1].global_id]
    assert np.max(np.abs(v1 - v2)) > 1.0  # mV; identical input would give 0


def test_network_reproduces_paper_rhythms(network_runs):
    res, m = network_runs["a"]
    # the paper's network fires at ~ 8 Hz: accept 5-11 Hz
    assert 5.0 <= m.mean_rate_hz <= 11.0, m.summary()
    # alpha (6-12 Hz) and gamma (25-45 Hz) peaks at least 10x the 60-200 Hz baseline
    assert m.alpha_ratio >= 10.0, m.summary()
    assert m.gamma_ratio >= 10.0, m.summary()
    assert m.passed
    # genuine peaks: the band maxima are not at a band edge (sloping spectrum)
    assert m.alpha_interior and m.gamma_interior, m.summary()
    assert res.times.size > 0 and res.times.max() <= res.duration
    assert res.senders.min() >= 0 and res.senders.max() < res.n_neurons


def test_network_same_seed_same_numbers(network_runs):
    (ra, ma), (rb, mb) = network_runs["a"], network_runs["b"]
    # bit-identical spikes and metrics (tolerance 0) for the same seed and threads
    assert np.array_equal(ra.times, rb.times)
    assert np.array_equal(ra.senders, rb.senders)
    assert ma.summary() == mb.summary()


def test_network_other_seed_other_numbers(network_runs):
    (ra, ma), (ro, mo) = network_runs["a"], network_runs["other"]
    assert ra.times.size != ro.times.size or not np.array_equal(ra.times, ro.times)
    assert ma.mean_rate_hz != mo.mean_rate_hz
    # the other seed must reproduce the paper too (same acceptance as above)
    assert mo.passed, mo.summary()


def test_network_runtime_is_reported(network_runs):
    # not an assertion on speed: make the measured times visible with -rA / -s
    for key, seconds in network_runs["timings"].items():
        print(f"network run {key}: {seconds:.1f} s")
    assert all(s > 0 for s in network_runs["timings"].values())


# ---------------------------------------------------------------------------
# network_metrics on synthetic spike trains (independent of NEST)
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
    m = izh.network_metrics(times, duration=10000.0, n_neurons=1000)
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
    m = izh.network_metrics(times, duration=10000.0, n_neurons=1000)
    # white spectrum: a band maximum over ~7-21 Welch bins (19 averaged
    # segments, relative sd ~ 0.23) is below 3x the mean
    assert m.alpha_ratio < 3.0 and m.gamma_ratio < 3.0
    assert not m.passed


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


def test_plot_types_writes_png(tmp_path):
    res = izh.simulate_types(duration=100.0, step_onset=10.0)
    out = izh.plot_types(res, tmp_path / "sub" / "types.png")
    assert out == tmp_path / "sub" / "types.png"
    _assert_png(out)


def test_plot_network_writes_pngs(tmp_path):
    res = izh.simulate_network(duration=1000.0, seed=SEED, n_exc=80, n_inh=20)
    m = izh.network_metrics(res)
    paths = izh.plot_network(res, m, tmp_path / "net")
    assert set(paths) == {"raster", "population_rate", "spectrum"}
    assert {p.name for p in paths.values()} == {"raster.png", "population_rate.png", "spectrum.png"}
    for p in paths.values():
        _assert_png(p)
