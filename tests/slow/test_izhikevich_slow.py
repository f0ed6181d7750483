"""Tests of the Izhikevich (2003) reproductions on the real NEST kernel and on Brian2: the slow part (``make test-slow``); the rest is in ``tests/test_izhikevich.py``."""

from __future__ import annotations

import time

import numpy as np
import pytest

from spiking.izhikevich import checks, params, protocols, reference, simulate
from test_izhikevich import ENGINES, _same_steps


@pytest.fixture(scope="module")
def types_brian2():
    """The same on Brian2."""
    t0 = time.perf_counter()
    res = simulate.simulate_types(duration=500.0, current=10.0, resolution=0.1, step_onset=20.0, engine="brian2")
    print(f"brian2 types: {time.perf_counter() - t0:.1f} s")
    return res


@pytest.mark.brian2
@pytest.mark.parametrize("name", list(params.IZHIKEVICH_CLASSES))
def test_class_check_passes_on_brian2(types_brian2, name):
    passed, measured = checks.CHECKS[name](types_brian2[name])
    assert passed, f"{name}: {measured}"


@pytest.mark.brian2
@pytest.mark.parametrize("name", list(params.IZHIKEVICH_CLASSES))
def test_brian2_classes_equal_reference_and_nest(types_brian2, types_result, name):
    # Brian2 integrates NEST's update as explicit code: the same spike steps as
    # the numpy reference and NEST (tolerance half a step), and the same state
    # to 1e-9 mV (the same IEEE operations), in the step and both probe protocols
    tr, nest_tr = types_brian2[name], types_result[name]
    ref = reference.numpy_reference(
        *tr.params, current=tr.current, duration=tr.duration, dt=tr.resolution, step_onset=tr.step_onset
    )
    assert tr.spike_times.size > 5
    assert _same_steps(tr.spike_times, ref.spike_times, tr.resolution)
    assert _same_steps(tr.spike_times, nest_tr.spike_times, tr.resolution)
    np.testing.assert_allclose(tr.times, ref.times, rtol=0, atol=1e-9)
    np.testing.assert_allclose(tr.v, ref.v, rtol=0, atol=1e-9)
    np.testing.assert_allclose(tr.u, ref.u, rtol=0, atol=1e-9)
    for probe in ("rebound", "pulse"):
        b2p, np_ = getattr(tr, probe), getattr(nest_tr, probe)
        assert _same_steps(b2p.spike_times, np_.spike_times, tr.resolution), probe
        np.testing.assert_allclose(b2p.v, np_.v, rtol=0, atol=1e-9)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", ["RS", "CH", "FS"])
def test_numpy_reference_matches_engine_paper_scheme(engine, name):
    # the network's numerics: the paper's scheme at 1 ms
    protocol = protocols.CurrentSteps(
        (params.IZHIKEVICH_CLASSES[name],),
        (params.resting_state(params.IZHIKEVICH_CLASSES[name][1]),),
        ((20.0, 0.0), (480.0, 10.0)),
        resolution=1.0,
        scheme="paper",
    )
    (run,) = protocols.get_simulator(engine).simulate_current_steps(protocol)
    ref = reference.numpy_reference(
        *params.IZHIKEVICH_CLASSES[name], current=10.0, duration=500.0, dt=1.0, step_onset=20.0, scheme="paper"
    )
    # spikes in the same 1 ms step (tolerance half a step); V to 1e-9 mV
    assert ref.spike_times.size > 5
    assert _same_steps(ref.spike_times, run.spike_times, 1.0)
    np.testing.assert_allclose(ref.v, run.v, rtol=0, atol=1e-9)
