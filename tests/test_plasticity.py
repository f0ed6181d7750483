"""Plasticity: the STDP rule on spike pairs, its config, both engines against the rule and each other, weights.h5,
the report's figures, and pattern selectivity rising with learning.

The rule's reference (:func:`spiking.model.plasticity.stdp_reference`) is checked against closed forms of the
pair rule; the engines are checked against the reference to the last bit, on the real simulators.
"""

import math
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import QUIET_RECURRENT, connect, tiny
from spiking.config import from_mapping
from spiking.engines import get_engine
from spiking.engines.base import stepping_plan
from spiking.errors import ConfigError
from spiking.model.network import build_model
from spiking.model.plasticity import STDPRule, delay_ms, stamp_ms, stdp_reference, weights_at

H = 0.1  # ms
FAR = 20000  # steps (2 s) later: every trace has decayed below a double's resolution


def one_pair(lag_steps: int, rule: STDPRule, w0: float = 1.0, delay_steps: int = 10) -> float:
    """The weight change (mV) of one pre/post pair at lag ``t_post + d - t_pre``, seen by a late second pre spike."""
    pre = [1000]
    post = [1000 + lag_steps - delay_steps]
    _, w = stdp_reference(pre + [pre[0] + FAR], post, w0, rule, delay_steps, H)
    return w[-1] - w0


# ---- the rule on spike pairs ----------------------------------------------------------------


@pytest.mark.parametrize("lag", [1, 25, 200])
def test_a_causal_pair_potentiates_by_the_window(lag):
    """dt > 0: additive Δw = a+ w_max exp(-dt / τ+); multiplicative scales it by (1 - w / w_max)."""
    dt = lag * H
    add = STDPRule(tau_plus=16.8, a_plus=0.01, a_minus=0.02, w_max=4.0, dependence="additive")
    assert one_pair(lag, add) == pytest.approx(0.01 * 4.0 * math.exp(-dt / 16.8), rel=1e-12)
    mul = STDPRule(tau_plus=16.8, a_plus=0.01, a_minus=0.02, w_max=4.0, dependence="multiplicative")
    assert one_pair(lag, mul) == pytest.approx(0.01 * 4.0 * (1 - 1 / 4) * math.exp(-dt / 16.8), rel=1e-12)


@pytest.mark.parametrize("lag", [-1, -25, -200])
def test_an_acausal_pair_depresses_by_the_window(lag):
    """dt < 0: additive Δw = -a- w_max exp(dt / τ-); multiplicative scales it by w / w_max."""
    dt = lag * H
    add = STDPRule(tau_minus=33.7, a_plus=0.01, a_minus=0.02, w_max=4.0, dependence="additive")
    assert one_pair(lag, add) == pytest.approx(-0.02 * 4.0 * math.exp(dt / 33.7), rel=1e-12)
    mul = STDPRule(tau_minus=33.7, a_plus=0.01, a_minus=0.02, w_max=4.0, dependence="multiplicative")
    assert one_pair(lag, mul) == pytest.approx(-0.02 * 4.0 * (1 / 4) * math.exp(dt / 33.7), rel=1e-12)


def test_a_pair_at_zero_lag_changes_nothing_and_signs_follow_w_max():
    rule = STDPRule(a_plus=0.1, a_minus=0.1, w_max=2.0)
    assert one_pair(0, rule) == 0.0
    inhibitory = STDPRule(a_plus=0.01, a_minus=0.02, w_max=-4.0)  # an inhibitory projection: weights in [w_max, 0]
    assert one_pair(25, inhibitory, w0=-1.0) == pytest.approx(-0.01 * 4.0 * math.exp(-2.5 / 20.0), rel=1e-12)
    assert one_pair(-25, inhibitory, w0=-1.0) == pytest.approx(0.02 * 4.0 * math.exp(-2.5 / 20.0), rel=1e-12)


@pytest.mark.parametrize("dependence", ["additive", "multiplicative"])
def test_weights_stay_between_zero_and_w_max(dependence):
    """A step past a bound stops at it (both dependences); soft bounds shrink the steps near them."""
    rule = STDPRule(a_plus=1.0, a_minus=1.0, w_max=2.0, dependence=dependence)
    assert rule.facilitate(1.9, 5.0) == 2.0 and rule.depress(0.1, 5.0) == 0.0
    if dependence == "multiplicative":
        assert rule.facilitate(1.9, 0.5) == pytest.approx(1.95) and rule.depress(0.1, 0.5) == pytest.approx(0.05)
    pre, post = np.arange(100, 50000, 500), np.arange(109, 50000, 500)  # each post 1 ms after a pre
    _, w = stdp_reference(pre, post, 1.0, rule, 1, H)
    assert 1.5 < w[-1] <= 2.0 and w.min() >= 0.0
    _, w = stdp_reference(post + 5, pre, 1.0, rule, 1, H)  # each pre 0.4 ms after a post
    assert 0.0 <= w[-1] < 0.5 and w.max() <= 2.0


@settings(max_examples=60, deadline=None)
@given(
    pre=st.lists(st.integers(1, 3000), min_size=1, max_size=25),
    post=st.lists(st.integers(1, 3000), max_size=25),
    delay=st.integers(1, 40),
)
def test_the_event_loop_is_the_all_to_all_pair_sum(pre, post, delay):
    """Additive and far from the bounds, the weight after the last presynaptic spike is the sum over pairs.

    Every presynaptic spike depresses with every earlier postsynaptic one (dt < 0); a postsynaptic spike
    potentiates with every earlier presynaptic one (dt > 0) once a later presynaptic spike delivers it
    (NEST's lazy update). Steps in one step repeat as separate spikes.
    """
    rule = STDPRule(tau_plus=15.0, tau_minus=25.0, a_plus=1e-6, a_minus=2e-6, w_max=10.0)
    pre, post = np.sort(pre), np.sort(post)
    _, w = stdp_reference(pre, post, 5.0, rule, delay, H)
    t_pre = np.array([stamp_ms(n, H) for n in pre])
    t_post = np.array([stamp_ms(n, H) + delay_ms(delay, H) for n in post])  # when they meet the synapse
    dt = t_post[None, :] - t_pre[:, None]  # (pre, post)
    delivered = post[None, :] + delay <= pre.max()  # posts before the last pre spike
    pot = np.where((dt > 1e-9) & delivered, np.exp(-dt / 15.0), 0.0).sum()
    dep = np.where(dt < -1e-9, np.exp(dt / 25.0), 0.0).sum()
    expected = 5.0 + 10.0 * (1e-6 * pot - 2e-6 * dep)
    assert w[-1] == pytest.approx(expected, rel=0, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    pre=st.lists(st.integers(1, 3000), min_size=1, max_size=25),
    post=st.lists(st.integers(1, 3000), max_size=25),
    delay=st.integers(1, 40),
    start=st.integers(0, 3000),
)
def test_a_rule_that_starts_later_counts_only_the_pairs_delivered_after_its_start(pre, post, delay, start):
    """With ``start``, a pair counts when the presynaptic spike that applies it is stamped after ``start``.

    A depression is applied by its own presynaptic spike; a potentiation by the first presynaptic spike
    at or after the postsynaptic spike meets the synapse (NEST with ``lambda`` switched on at ``start``).
    """
    rule = STDPRule(tau_plus=15.0, tau_minus=25.0, a_plus=1e-6, a_minus=2e-6, w_max=10.0, start=start * H)
    pre, post = np.sort(pre), np.sort(post)
    _, w = stdp_reference(pre, post, 5.0, rule, delay, H)
    t_pre = np.array([stamp_ms(n, H) for n in pre])
    t_post = np.array([stamp_ms(n, H) + delay_ms(delay, H) for n in post])
    dt = t_post[None, :] - t_pre[:, None]
    # the presynaptic spike that delivers each postsynaptic one: the first stamped at or after it meets the synapse
    deliverer = np.searchsorted(pre, post + delay, side="left")
    delivered_late = np.array([k < pre.size and pre[k] > start for k in deliverer], dtype=bool)
    pot = np.where((dt > 1e-9) & delivered_late[None, :], np.exp(-dt / 15.0), 0.0).sum()
    dep = np.where((dt < -1e-9) & (pre[:, None] > start), np.exp(dt / 25.0), 0.0).sum()
    expected = 5.0 + 10.0 * (1e-6 * pot - 2e-6 * dep)
    assert w[-1] == pytest.approx(expected, rel=0, abs=1e-12)
    if pre[-1] <= start:  # nothing delivered after the start: NEST's arithmetic with lambda 0 only
        assert w[-1] == pytest.approx(5.0, rel=1e-15)


def test_weights_at_a_time_count_presynaptic_spikes_stamped_up_to_it():
    steps, weights = np.array([10, 20, 20, 35]), np.array([1.1, 1.2, 1.3, 1.4])
    got = weights_at(steps, weights, 1.0, [0, 9, 10, 20, 34, 35, 99])
    assert got.tolist() == [1.0, 1.0, 1.1, 1.3, 1.3, 1.4, 1.4]


# ---- config ---------------------------------------------------------------------------------


def _plastic(name="lgn_on_to_ex_on", **stdp):
    return {"projections": {name: {"plasticity": "stdp", "stdp": stdp}}}


@pytest.mark.parametrize(
    "data, match",
    [
        (_plastic("retina_on_to_lgn_on"), r"projections\.retina_on_to_lgn_on\.plasticity: only projections into a V1"),
        (_plastic(dependence="hebb"), r"stdp\.dependence: must be one of 'additive', 'multiplicative', got 'hebb'"),
        (_plastic(tau_plus=0), r"stdp\.tau_plus: must be > 0, got 0"),
        (_plastic(a_plus=0.0), r"stdp\.a_plus: must be > 0, got 0\.0"),
        (_plastic(a_minus=-1), r"stdp\.a_minus: must be >= 0, got -1"),
        (
            _plastic(w_max=-2.0),
            r"lgn_on_to_ex_on\.stdp\.w_max: must be non-zero with the sign of .*weight \(1\), got -2",
        ),
        (_plastic(w_max=0.5), r"stdp\.w_max: must be at least \|projections\.lgn_on_to_ex_on\.weight\| \(1 mV\)"),
        (_plastic("in_on_to_ex_on"), r"in_on_to_ex_on\.stdp\.w_max: must be non-zero with the sign of .*\(-2\), got 2"),
        (_plastic(rate=1), r"lgn_on_to_ex_on\.stdp\.rate: unknown key; valid keys here: tau_plus, tau_minus"),
        (_plastic(start=-1.0), r"stdp\.start: must be >= 0, got -1"),
        (
            _plastic(start=100.0),
            r"stdp\.start: must be 0 or a time the stimulus changes .*\(250, 500, 750 ms, \.\.\.\), got 100$",
        ),
        (_plastic(start=1000.0), r"stdp\.start: must be 0 or a time the stimulus changes .* got 1000$"),
        ({"projections": {"lgn_on_to_ex_on": {"plasticity": "hebbian"}}}, r"plasticity: must be one of 'none', 'stdp'"),
    ],
)
def test_plasticity_keys_are_validated(data, match):
    with pytest.raises(ConfigError, match=match):
        from_mapping(data)


def test_plastic_runs_need_one_tau_minus_per_layer_long_epochs_and_short_windows():
    both = _plastic(tau_minus=10.0)
    both["projections"]["in_off_to_ex_on"] = {"plasticity": "stdp", "stdp": {"w_max": -3.0}}
    with pytest.raises(ConfigError, match=r"in_off_to_ex_on\.stdp\.tau_minus: must equal projections\.lgn_on_to_ex_on"):
        from_mapping(both)
    with pytest.raises(ConfigError, match=r"needs stimulus epochs at least as long as .* \(2\.5 ms\)"):
        from_mapping(
            {**_plastic(), "stimulus": {"switch_every": 2.0}, "run": {"simulation_time": 10.0}}
            | {"projections": {"lgn_on_to_ex_on": {"plasticity": "stdp", "delay": 2.5}}}
        )
    with pytest.raises(ConfigError, match=r"render\.selectivity_window: must be at most half of run\.simulation_time"):
        from_mapping({**_plastic(), "render": {"selectivity_window": 600.0}})
    cfg = from_mapping({**_plastic(a_plus=0.02), "render": {"selectivity_window": 400.0}})
    rule = build_model(cfg, stimuli=False).plastic[0].plasticity
    assert rule == STDPRule(a_plus=0.02) and rule.alpha == pytest.approx(0.0105 / 0.02)
    assert cfg.render.window(1000.0) == 400.0 and from_mapping({}).render.window(1000.0) == 250.0
    from spiking.render.plasticity import selectivity_window

    late = _plastic(start=500.0)
    assert selectivity_window(from_mapping(late | {"run": {"simulation_time": 2000.0}})) == 500.0
    assert selectivity_window(from_mapping(late | {"run": {"simulation_time": 750.0}})) == 375.0
    assert selectivity_window(from_mapping(late | {"run": {"simulation_time": 4000.0}})) == 500.0
    late["projections"]["lgn_off_to_ex_off"] = {"plasticity": "stdp"}  # one learns from the start: a quarter
    assert selectivity_window(from_mapping(late | {"run": {"simulation_time": 4000.0}})) == 1000.0
    assert selectivity_window(from_mapping(_plastic(start=500.0) | {"render": {"selectivity_window": 300.0}})) == 300.0


def test_the_weights_are_read_one_step_after_each_change_and_after_the_end():
    model = build_model(from_mapping(tiny(**_plastic(), run={"simulation_time": 200.0})), stimuli=False)
    assert model.weight_times == (0.0, 100.0, 200.0)
    plan = stepping_plan(model, 50.0, None)
    reads = [(s.start, s.stop, s.snapshot) for s in plan if s.snapshot is not None]
    assert [(round(a, 6), round(b, 6), t) for a, b, t in reads] == [(100.0, 100.1, 100.0), (200.0, 200.1, 200.0)]
    assert not plan[-1].flush and sum(s.flush for s in plan) == 4  # spikes of the step past the end are not kept
    static = build_model(from_mapping(tiny()), stimuli=False)
    assert static.weight_times == () and all(s.snapshot is None for s in stepping_plan(static, 50.0, None))


# ---- both engines against the rule and each other -------------------------------------------------

ENGINES = [pytest.param("nest", marks=pytest.mark.nest), pytest.param("brian2", marks=pytest.mark.brian2)]


def _plastic_network():
    """The engines' deterministic network (p = 1 where connected, pre-drawn trains) with two plastic projections.

    lgn_on -> ex_on: additive, delays growing with distance (1 to 1.6 ms); lgn_off -> ex_off: multiplicative,
    1.5 ms, learning from the first stimulus change on (``start``). Epochs of 100.3 ms: the weights are read at times the 1 ms delays do not divide (NEST's
    communication interval is lowered to one step). Retina rates up to 300 Hz: some relay nodes spike twice
    in one step.
    """
    data = tiny(
        run={"simulation_time": 300.0, "seed": 5},
        network={"neurons_per_minicolumn": 30, "minicolumn_side": 6},
        stimulus={"switch_every": 100.3},
        retina={"min_rate": 20.0, "max_rate": 300.0},
    )
    data["projections"] = {name: {"p_center": 0.0} for name in QUIET_RECURRENT}
    data["projections"]["ex_on_to_ex_on"] = {"kernel": "constant", "radius": 0.2, "weight": 0.5, "delay_per_unit": 3.0}
    data["projections"]["in_on_to_ex_on"] = {"kernel": "constant", "radius": 0.2, "weight": -1.0}
    for name in ("lgn_on_to_in_on", "lgn_off_to_in_off"):
        data["projections"][name] = {"weight": 4.0, "radius": 0.12}
    stdp = {"a_plus": 0.05, "a_minus": 0.06, "tau_plus": 16.0, "tau_minus": 24.0}
    data["projections"]["lgn_on_to_ex_on"] = {
        "weight": 2.0,
        "radius": 0.12,
        "delay_per_unit": 5.0,
        "plasticity": "stdp",
        "stdp": {**stdp, "w_max": 5.0},
    }
    data["projections"]["lgn_off_to_ex_off"] = {
        "weight": 2.0,
        "radius": 0.12,
        "delay": 1.5,
        "plasticity": "stdp",
        "stdp": {**stdp, "w_max": 5.0, "dependence": "multiplicative", "start": 100.3},
    }
    return data


def _run_engine(engine: str, data: dict) -> dict:
    """Spikes, weights at each time and synapses' delays of one engine on ``data``."""
    model = build_model(from_mapping(data))
    eng = get_engine(engine)
    eng.setup(model, 1)
    eng.build()
    connect(eng, model)
    spikes: dict = {}
    weights: dict = {}

    def keep(t, chunk):
        for n, (ids, ts) in chunk.items():
            spikes.setdefault(n, []).append((ids, ts))

    def keep_weights(t, name, sources, targets, w):
        order = np.lexsort((sources, targets))
        weights.setdefault(name, []).append((t, sources[order], targets[order], w[order]))

    eng.simulate(keep, model.chunk, on_weights=keep_weights)
    delays = {}
    for p in model.plastic:
        e = eng.edges(p.name)
        delays[p.name] = {(s, t): d for s, t, d in zip(e.sources, e.targets, e.delays)}
    eng.close()
    out = {n: (np.concatenate([a for a, _ in v]), np.concatenate([b for _, b in v])) for n, v in spikes.items()}
    return {"model": model, "spikes": out, "weights": weights, "delays": delays}


# ---- inhibitory plastic projections ---------------------------------------------------------------------------


@pytest.mark.nest
def test_an_inhibitory_projection_can_be_plastic_on_nest():
    """A negative weight with a negative w_max builds (NEST checks the copied model's default weight against Wmax)
    and its weights stay between w_max and 0."""
    data = tiny(run={"simulation_time": 300.0, "seed": 2})
    data["projections"] = {
        "lgn_on_to_ex_on": {"weight": 4.0},
        "lgn_on_to_in_on": {"weight": 6.0},
        "in_on_to_ex_on": {"weight": -2.0, "plasticity": "stdp", "stdp": {"w_max": -4.0, "a_plus": 0.05}},
    }
    run = _run_engine("nest", data)
    snaps = run["weights"]["in_on_to_ex_on"]
    first, last = snaps[0][3], snaps[-1][3]
    assert np.all(first == -2.0)
    assert np.all((last >= -4.0) & (last <= 0.0)) and np.any(last != first)


# ---- a small plastic run: the report, and what STDP does to selectivity --------------------------------------

#: One-sided Wilcoxon p-value below which a change of selectivity counts as shown.
P_SHOWN = 0.01


def _learning_network(plastic: bool = True) -> dict:
    """One hypercolumn of 5 x 5 minicolumns of 20 neurons (400 excitatory per layer), the two default patterns every
    250 ms for 4 s, LGN -> V1 excitatory at 5 mV so that V1 fires (5-20 Hz). With ``plastic`` both excitatory LGN
    projections learn with additive STDP (w_max 10 mV, potentiation stronger than depression). Selectivity windows:
    the first and the last second; no movies."""
    lgn = {name: {"weight": 5.0} for name in ("lgn_on_to_ex_on", "lgn_off_to_ex_off")}
    if plastic:
        stdp = {"w_max": 10.0, "a_plus": 0.02, "a_minus": 0.015, "dependence": "additive"}
        for keys in lgn.values():
            keys.update(plasticity="stdp", stdp=dict(stdp))
    return tiny(
        network={"minicolumn_side": 5, "neurons_per_minicolumn": 20},
        run={"simulation_time": 4000.0, "seed": 3, "chunk": 250.0},
        stimulus={"switch_every": 250.0},
        render={"selectivity_window": 1000.0, "movies": False},
        projections=lgn,
    )


def _selectivity_from_spikes(folder: Path) -> dict:
    """Each ex layer's SelectivityChange, read from spikes.h5 with plain h5py (not the renderer's reader)."""
    from spiking.analysis.selectivity import SelectivityChange, pattern_counts, window_bounds
    from spiking.io.runfolder import read_schedule
    from spiking.model.stimulus import ScheduledEpoch

    schedule = [ScheduledEpoch(a, b, p) for a, b, p in read_schedule(folder)]
    patterns = sorted({e.pattern for e in schedule}, key=[e.pattern for e in schedule].index)
    windows = window_bounds(4000.0, 1000.0)
    out = {}
    with h5py.File(folder / "spikes.h5") as f:
        for layer in ("ex_on", "ex_off"):
            g = f["spikes"][layer]
            ids, t = g["node_ids"][:].astype(np.int64), g["timestamps"][:]
            n = 400  # 5 x 5 minicolumns x 20 neurons x 0.8
            counts, time_ms = pattern_counts([(ids, t)], n, schedule, patterns, windows)
            out[layer] = SelectivityChange.from_counts(counts, time_ms)
    return out


def _pathway_learning(seconds: float = 12.0) -> dict:
    """One hypercolumn of the default model (10 x 10 minicolumns of 30 neurons, LGN -> V1 at the default 1 mV), the
    two patterns every 250 ms, with additive STDP on both excitatory LGN projections from the start (w_max 3 mV,
    a_plus 0.01, a_minus 0.0105: the example's rule with a lower bound); windows of a quarter of the run."""
    stdp = {"w_max": 3.0, "a_plus": 0.01, "a_minus": 0.0105, "dependence": "additive"}
    lgn = {name: {"plasticity": "stdp", "stdp": dict(stdp)} for name in ("lgn_on_to_ex_on", "lgn_off_to_ex_off")}
    return {
        "network": {"hypercolumns": 1},
        "run": {"engine": "brian2", "simulation_time": seconds * 1000.0, "seed": 3, "chunk": 1000.0},
        "render": {"selectivity_window": seconds * 250.0, "movies": False},
        "projections": lgn,
    }
