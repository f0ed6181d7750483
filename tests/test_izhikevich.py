"""Tests of the Izhikevich (2003) reproductions on the real NEST kernel and on Brian2.

Everything is seeded or deterministic. Tolerances are stated next to each
assertion. The expectations come from the paper (firing patterns, rate,
rhythms) or from the model equations (fixed points, linearisation, the
update scheme), not from recorded outputs of the code under test.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from spiking.izhikevich import checks, params, protocols, reference, simulate
from spiking.model import cells

ROOT = Path(__file__).resolve().parents[1]
ENGINES = [pytest.param("nest", marks=pytest.mark.nest), pytest.param("brian2", marks=pytest.mark.brian2)]


# ---------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def types_result():
    """The seven Fig. 2 classes on NEST, I = 10 pA step at 20 ms, 500 ms at 0.1 ms."""
    return simulate.simulate_types(duration=500.0, current=10.0, resolution=0.1, step_onset=20.0)


# ---------------------------------------------------------------------------
# module hygiene
# ---------------------------------------------------------------------------


def test_package_imports_no_simulator():
    # the reproductions reach a simulator only through spiking.engines.<name>.izhikevich
    code = (
        "import sys, spiking.izhikevich.runs, spiking.izhikevich.plots, spiking.cli;"
        "bad = {'nest', 'brian2'} & set(sys.modules); assert not bad, bad"
    )
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_simulators_imported_only_in_engines():
    pattern = re.compile(r"^\s*(import|from)\s+(nest|brian2)\b", re.MULTILINE)
    engines = ROOT / "src" / "spiking" / "engines"
    offenders = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "src" / "spiking").rglob("*.py")
        if engines not in p.parents and pattern.search(p.read_text())
    ]
    assert offenders == []


def test_neuron_types_are_the_papers():
    # Fig. 2 of Izhikevich (2003), in the paper's order; one table for the package
    assert params.IZHIKEVICH_CLASSES is cells.IZHIKEVICH_CLASSES and params.V_PEAK == cells.V_PEAK == 30.0
    assert list(params.IZHIKEVICH_CLASSES) == ["RS", "IB", "CH", "FS", "LTS", "TC", "RZ"]
    assert params.IZHIKEVICH_CLASSES["IB"] == (0.02, 0.2, -55.0, 4.0)
    assert params.IZHIKEVICH_CLASSES["TC"] == (0.02, 0.25, -65.0, 0.05)
    assert params.IZHIKEVICH_CLASSES["RZ"] == (0.1, 0.26, -65.0, 2.0)


def test_unknown_engine_is_refused():
    with pytest.raises(ValueError, match=r"engine: must be one of nest, brian2, got 'neuron'"):
        protocols.get_simulator("neuron")


# ---------------------------------------------------------------------------
# single neurons (Fig. 2)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("b", [0.2, 0.25, 0.26])
def test_resting_state_is_a_fixed_point(b):
    v, u = params.resting_state(b)
    # both derivatives vanish (tolerance 1e-9 mV/ms: round-off of the root formula)
    assert abs(0.04 * v * v + 5 * v + 140 - u) < 1e-9
    assert abs(u - b * v) < 1e-12
    # and it is the lower (stable) root: the Jacobian's trace is negative
    assert 0.08 * v + 5 - 0.02 < 0


@pytest.mark.nest
def test_nest_neuron_stays_at_rest_without_input(types_result):
    # before the step onset (20 ms) every class sits at its resting state;
    # tolerance 1e-6 mV allows only round-off drift of the Euler update
    for tr in types_result.values():
        before = tr.v[tr.times <= tr.step_onset]
        assert before.size > 100
        assert np.max(np.abs(before - tr.v0)) < 1e-6, tr.name
        assert not np.any(tr.spike_times <= tr.step_onset), tr.name


@pytest.mark.nest
def test_simulate_types_trace_shape(types_result):
    for tr in types_result.values():
        # one sample per 0.1 ms step, 0.1 .. 500 ms (state after each step)
        assert tr.times.size == 5000
        assert tr.times[0] == pytest.approx(0.1) and tr.times[-1] == pytest.approx(500.0)
        # the recorded (post-reset) potential never reaches the 30 mV cut-off
        assert tr.v.max() < params.V_PEAK
        assert tr.spike_times.size > 5


@pytest.mark.nest
@pytest.mark.parametrize("name", list(params.IZHIKEVICH_CLASSES))
def test_class_check_passes_on_nest(types_result, name):
    passed, measured = checks.CHECKS[name](types_result[name])
    assert passed, f"{name}: {measured}"


@pytest.mark.nest
def test_check_types_table(types_result):
    rows = checks.check_types(types_result)
    assert [r.name for r in rows] == list(params.IZHIKEVICH_CLASSES)
    for r in rows:
        assert r.passed, checks.format_check_table([r])
        assert r.check and r.measured
        assert all(isinstance(v, float) for v in r.measured.values())
    assert "PASS" in checks.format_check_table(rows)


@pytest.mark.nest
def test_checks_are_specific(types_result):
    # Each check must reject the classes whose firing pattern contradicts it.
    # The only cross-acceptances allowed are TC and RZ by the FS check: at
    # I = 10 pA both really fire tonically above 100 Hz without adaptation
    # (their defining features, rebound burst and resonance, are tested by
    # their own checks).
    allowed = {"FS": {"FS", "TC", "RZ"}}
    for check_name, check in checks.CHECKS.items():
        accepted = {n for n, tr in types_result.items() if check(tr)[0]}
        assert accepted == allowed.get(check_name, {check_name}), check_name


def test_rz_frequency_prediction_is_linear_theory():
    # RZ at rest: v_r = -62.5 mV, Jacobian [[0, -1], [0.026, -0.1]]:
    # omega^2 = 0.026 - 0.0025 -> f = sqrt(0.0235)/(2 pi) kHz = 24.40 Hz (to 0.01 Hz)
    assert reference.linear_oscillation_frequency(0.1, 0.26) == pytest.approx(
        math.sqrt(0.0235) / (2 * math.pi) * 1000, abs=0.01
    )
    # RS is an integrator: real eigenvalues, no subthreshold oscillation
    assert math.isnan(reference.linear_oscillation_frequency(0.02, 0.2))


# ---------------------------------------------------------------------------
# checks on traces that violate them (pure: no simulator)
# ---------------------------------------------------------------------------


def _synthetic(name, spike_times, duration=500.0, onset=20.0, rebound=None, pulse=None):
    a, b, c, d = params.IZHIKEVICH_CLASSES[name]
    v0, u0 = params.resting_state(b)
    empty = protocols.frozen([])
    return simulate.TypeTrace(
        name, a, b, c, d, empty, empty, empty, protocols.frozen(spike_times), 10.0, onset, duration, 0.1, v0, u0,
        rebound=rebound, pulse=pulse,
    )  # fmt: skip


def test_rs_check_rejects_a_regular_train():
    # 20 ms ISIs throughout: no adaptation (last/first = 1, needs > 2)
    passed, m = checks.check_rs(_synthetic("RS", 20.0 + 20.0 * np.arange(1, 25)))
    assert not passed and m["adaptation_ratio"] == pytest.approx(1.0)
    # ISIs growing 18 -> 45 ms pass
    isis = np.linspace(18.0, 45.0, 12)
    assert checks.check_rs(_synthetic("RS", 20.0 + np.cumsum(isis)))[0]


def test_fs_check_rejects_a_pause():
    # fast firing with one 15 ms pause: the rate falls below 100 Hz once
    isis = np.full(60, 7.5)
    isis[30] = 15.0
    passed, m = checks.check_fs(_synthetic("FS", 20.0 + np.cumsum(isis)))
    assert not passed and m["max_isi_ms"] == pytest.approx(15.0)


def test_tc_check_rejects_no_rebound():
    tonic = 20.0 + 6.3 * np.arange(1, 76)
    silent = protocols.NeuronTrace(
        protocols.frozen(0.1 * np.arange(1, 4501)), protocols.frozen(np.full(4500, -87.0)),
        protocols.frozen(np.zeros(4500)), protocols.frozen([]),
    )  # fmt: skip
    passed, m = checks.check_tc(_synthetic("TC", tonic, rebound=silent))
    assert not passed and m["rebound_spikes_50ms"] == 0.0 and m["tonic_n_spikes"] == 75.0


def test_probe_checks_need_their_probes():
    with pytest.raises(ValueError, match="needs the rebound probe"):
        checks.check_tc(_synthetic("TC", [30.0, 40.0]))
    with pytest.raises(ValueError, match="needs the pulse probe"):
        checks.check_rz(_synthetic("RZ", [30.0, 40.0]))


# ---------------------------------------------------------------------------
# the same numerics: numpy reference, NEST, Brian2
# ---------------------------------------------------------------------------


def _same_steps(a, b, h):
    # same number of spikes, each in the same integration step (tolerance half a step)
    return a.size == b.size and (a.size == 0 or np.max(np.abs(a - b)) < 0.5 * h)


@pytest.mark.nest
@pytest.mark.parametrize("name", ["RS", "FS", "CH", "TC"])
def test_numpy_reference_matches_nest_euler(types_result, name):
    tr = types_result[name]
    ref = reference.numpy_reference(
        *tr.params, current=tr.current, duration=tr.duration, dt=tr.resolution, step_onset=tr.step_onset
    )
    assert _same_steps(ref.spike_times, tr.spike_times, tr.resolution)
    # same sample times; V and U agree to 1e-9 (both do the same IEEE operations)
    np.testing.assert_allclose(ref.times, tr.times, rtol=0, atol=1e-9)
    np.testing.assert_allclose(ref.v, tr.v, rtol=0, atol=1e-9)
    np.testing.assert_allclose(ref.u, tr.u, rtol=0, atol=1e-9)


@pytest.mark.nest
def test_reference_comparison_detects_wrong_scheme(types_result):
    # negative control: the paper's two-half-step scheme at 0.1 ms is a
    # different integrator, so its spike train must differ from the Euler one
    # by more than half a step somewhere (or in count)
    tr = types_result["RS"]
    wrong = reference.numpy_reference(
        *tr.params,
        current=tr.current,
        duration=tr.duration,
        dt=tr.resolution,
        step_onset=tr.step_onset,
        scheme="paper",
    )
    assert not _same_steps(wrong.spike_times, tr.spike_times, tr.resolution)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("scheme", ["euler", "paper"])
def test_input_spike_lands_in_its_step(engine, scheme):
    # A spike of weight w arriving in step 10 (1 ms steps): Euler adds w to v
    # before the threshold test; the paper scheme adds w to the current of
    # both half-steps. Neuron 1 gets nothing. Formulas to 1e-9 mV; a spike
    # landing one step early or late fails.
    w = 5.0
    v0, u0 = params.resting_state(0.2)
    rs = params.IZHIKEVICH_CLASSES["RS"]
    protocol = protocols.CurrentSteps(
        (rs, rs), ((v0, u0), (v0, u0)), ((20.0, 0.0),), resolution=1.0, scheme=scheme, inputs=((10, 0, w),)
    )
    hit, quiet = protocols.get_simulator(engine).simulate_current_steps(protocol)
    dv = hit.v - quiet.v
    k = int(np.argmax(np.abs(dv) > 1e-12))  # first affected sample: the state after step k
    assert k == 10 and np.all(np.abs(dv[:k]) < 1e-12)
    f = lambda v: 0.04 * v * v + 5 * v + 140 - u0  # noqa: E731 (rest: I = 0)
    if scheme == "euler":
        expected = w
    else:
        v1 = v0 + 0.5 * (f(v0) + w)
        expected = v1 + 0.5 * (f(v1) + w) - v0
    assert dv[k] == pytest.approx(expected, abs=1e-9)
    # and the engine equals the reference integration of the protocol step by step
    for run, ref in zip((hit, quiet), reference.reference_steps(protocol)):
        np.testing.assert_allclose(run.v, ref.v, rtol=0, atol=1e-9)


@pytest.mark.nest
@pytest.mark.parametrize("consistent", [True, False])
def test_nest_spike_weight_enters_as_in_its_documentation(consistent):
    # NEST itself, without the engine module: what the reference assumes.
    import nest

    nest.verbosity = nest.VerbosityLevel.WARNING
    nest.ResetKernel()
    nest.resolution = 1.0
    w = 5.0
    src = nest.Create("spike_generator", params={"spike_times": [10.0]})
    parrot = nest.Create("parrot_neuron")
    v0, u0 = params.resting_state(0.2)
    pair = nest.Create("izhikevich", 2, params={"consistent_integration": consistent, "V_m": v0, "U_m": u0})
    nest.Connect(src, parrot)
    nest.Connect(parrot, pair[0], syn_spec={"weight": w, "delay": 1.0})
    mm = nest.Create("multimeter", params={"record_from": ["V_m"], "interval": 1.0})
    nest.Connect(mm, pair)
    nest.Simulate(20.0)
    ev = mm.events
    dv = ev["V_m"][ev["senders"] == pair[0].global_id] - ev["V_m"][ev["senders"] == pair[1].global_id]
    k = int(np.argmax(np.abs(dv) > 1e-12))
    assert np.all(np.abs(dv[:k]) < 1e-12)
    f = lambda v: 0.04 * v * v + 5 * v + 140 - u0  # noqa: E731
    if consistent:
        expected = w
    else:
        v1 = v0 + 0.5 * (f(v0) + w)
        expected = v1 + 0.5 * (f(v1) + w) - v0
    assert dv[k] == pytest.approx(expected, abs=1e-9)
