"""``spiking learn digits`` on the real network (Brian2, C++ standalone), tiny: 20 neurons, a few hundred digits.

The first test compiles the 20-neuron network (about a minute on two cores,
once: the project is cached in ~/.cache/spiking/brian2); after that each
batch of 50 presentations takes well under a second.
"""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from spiking.learn.data import load_digits, split_digits
from spiking.learn.model import DigitsModel, DigitsOptions, initial_state
from spiking.learn.readout import mcnemar_exact
from spiking.learn.runs import start_digits

NEURONS = 20


@pytest.fixture(scope="module")
def rates():
    d = load_digits()
    s = split_digits(d.labels)
    return d.pixels[s.train].astype(float) / DigitsModel().input_divisor


@pytest.fixture(scope="module")
def engine_class():
    """The engine, compiled for NEURONS once (Brian2 is imported only here)."""
    from spiking.engines.brian2.digits import Brian2DigitsEngine

    with Brian2DigitsEngine(DigitsModel(), NEURONS):
        pass
    return Brian2DigitsEngine


def test_a_batch_follows_the_model(engine_class, rates):
    import brian2

    m = DigitsModel()
    st = initial_state(m, NEURONS, seed=3)
    with engine_class(m, NEURONS) as engine:
        assert not engine.compiled  # the fixture compiled it: reused from the cache, not rebuilt
        learnt = engine.run_batch(rates[:50], st, True, seed=11)
        again = engine.run_batch(rates[:50], st, True, seed=11)
        other = engine.run_batch(rates[:50], st, True, seed=12)
        frozen = engine.run_batch(rates[50:100], learnt.network, False, seed=13)
    assert type(brian2.get_device()).__name__ == "RuntimeDevice"  # Brian2 handed back as found

    # same state, digits and seed: the same spikes; another seed: other spikes
    assert np.array_equal(learnt.counts, again.counts) and np.array_equal(learnt.network["w"], again.network["w"])
    assert not np.array_equal(learnt.counts, other.counts)
    # a digit is accepted with at least 5 spikes in its 350 ms, else shown again (at most 10 times)
    assert 20 <= learnt.accepted <= 50 and learnt.counts.shape == (learnt.accepted, NEURONS)
    assert np.all((learnt.counts.sum(axis=1) >= 5) | (learnt.shown >= m.max_presentations))
    assert learnt.presentations == 50 and learnt.shown.sum() + int(learnt.network["presentations"]) == 50
    # the digit left over is shown next with intensity 2 + 1 per earlier presentation
    assert float(learnt.network["intensity"]) == m.start_intensity + int(learnt.network["presentations"])
    # winner takes all: lateral inhibition (17 to all others) leaves a digit's spikes mostly to one neuron,
    # even untrained (measured 0.53 on average; 0.05 if 20 alike neurons shared them evenly)
    share = learnt.counts.max(axis=1) / learnt.counts.sum(axis=1)
    assert share.mean() > 0.4, share.mean()

    w0, w1 = st["w"], learnt.network["w"]
    # learning: every neuron's input weights summed to 78 at each presentation start (they start near
    # 784 * 0.15 = 117.6); at the end they differ from 78 only by the last presentation's STDP
    assert np.all(np.abs(w0.sum(axis=0) - 117.6) < 8)
    assert np.all(np.abs(w1.sum(axis=0) - 78) < 15) and 0 <= w1.min() and w1.max() <= m.w_max
    # theta grows by 0.05 mV per excitatory spike and decays with 1e7 ms (Euler, 0.5 ms steps)
    steps = 50 * m.presentation_steps
    decayed = st["exc_theta_volt"] * (1 - m.dt_ms / m.theta_tau_ms) ** steps
    grown = (learnt.network["exc_theta_volt"] - decayed).sum()
    assert grown == pytest.approx(learnt.spikes * m.theta_plus_mv * 1e-3, rel=3e-3)  # increments decay < 0.3%
    # frozen: weights, thresholds and delays exactly as they were
    for key in ("w", "exc_theta_volt", "delay_s"):
        assert np.array_equal(frozen.network[key], learnt.network[key]), key
    assert np.all((frozen.counts.sum(axis=1) >= 5) | (frozen.shown >= m.max_presentations))


def test_learning_beats_the_untrained_network(engine_class, tmp_path):
    """Learning 400 digits lifts held-out accuracy well above the same network untrained.

    Both runs use the same seed (so the same initial weights and delays), the
    same 400 digits for labelling and the same 300 held-out digits; only STDP
    differs. Margin: at least 15 points, and McNemar's exact test on the 300
    paired answers at p < 1e-4: if learning changed nothing, digits right in
    one run only would split evenly, and a split this lopsided has a chance of
    less than 1 in 10,000. (Measured: 49.7% against 20.7%, p = 1e-15.)
    """
    o = {"neurons": NEURONS, "train": 400, "test": 300, "epochs": 1, "window": 100, "seed": 1}
    trained = start_digits(DigitsOptions(**o), tmp_path, quiet=True)
    untrained = start_digits(DigitsOptions(**o, untrained=True), tmp_path, quiet=True)
    a, b = np.load(trained.folder / "results.npz"), np.load(untrained.folder / "results.npz")
    assert np.array_equal(a["test_labels"], b["test_labels"])
    right_a, right_b = a["predicted"] == a["test_labels"], b["predicted"] == b["test_labels"]
    acc_a, acc_b = right_a.mean(), right_b.mean()
    a_only, b_only, p = mcnemar_exact(right_a, right_b)
    assert acc_a - acc_b >= 0.15, (acc_a, acc_b)
    assert p < 1e-4, (a_only, b_only, p)
    assert trained.manifest["results"]["accuracy"] == pytest.approx(acc_a, abs=1e-4)
    assert acc_a > 0.3 and acc_b < acc_a  # 20 neurons, 400 digits: far from the full network, far above chance


def _cli(*args):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "spiking", "learn", "digits", *map(str, args)]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _manifest(folder):
    try:
        return json.loads((folder / "manifest.json").read_text())
    except (OSError, ValueError):
        return {}


def _wait_for(predicate, proc, timeout=120):
    end = time.time() + timeout
    while time.time() < end:
        if predicate():
            return
        if proc.poll() is not None:
            raise AssertionError(f"ended early ({proc.returncode}): {proc.stderr.read()}")
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_interrupted_twice_and_resumed_equals_uninterrupted(engine_class, tmp_path):
    """SIGINT, resume, SIGTERM, resume: the same weights, responses and accuracy as a run that never stopped."""
    args = ["--neurons", NEURONS, "--train", 150, "--epochs", 2, "--test", 100, "--save-every", 50, "--seed", 7]
    whole = start_digits(
        DigitsOptions(neurons=NEURONS, train=150, epochs=2, test=100, save_every=50, seed=7), tmp_path / "a", quiet=True
    )

    proc = _cli(*args, "--output-dir", tmp_path / "b")
    out = tmp_path / "b"
    _wait_for(lambda: out.exists() and any(_manifest(f).get("progress") for f in out.iterdir()), proc)
    folder = next(out.iterdir())
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    m = _manifest(folder)
    assert proc.returncode == 130, stderr
    assert stdout.strip() == str(folder) and "continue with: spiking learn digits --resume" in stderr
    assert m["status"] == "interrupted" and m["signal"] == "SIGINT" and m["progress"]["phase"] == "train"
    assert not (folder / "results.npz").exists() and not list(folder.glob(".*tmp"))
    stopped_at = m["progress"]["digits_done"]

    proc = _cli("--resume", folder)
    _wait_for(lambda: _manifest(folder).get("resumed") and _manifest(folder)["progress"] != m["progress"], proc)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    m = _manifest(folder)
    assert proc.returncode == 143, stderr
    assert m["status"] == "interrupted" and m["signal"] == "SIGTERM"
    assert (m["progress"]["phase"], m["progress"]["digits_done"]) != ("train", stopped_at)

    proc = _cli("--resume", folder)
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    assert stdout.strip() == str(folder)
    m = _manifest(folder)
    assert m["status"] == "complete" and len(m["resumed"]) == 2
    a, b = np.load(whole.folder / "results.npz"), np.load(folder / "results.npz")
    for key in ("weights", "theta_volt", "counts_train", "counts_label", "counts_test", "shown_train", "predicted"):
        assert np.array_equal(a[key], b[key]), key
    assert m["results"]["accuracy"] == whole.manifest["results"]["accuracy"]


def test_segments_read_out_on_two_cores_as_on_one(engine_class, tmp_path):
    """Labelling and testing in segments: the compiled program run twice at once gives the responses it gives alone."""

    def factory(workers):
        def make(model, neurons, batch, cache_dir):
            engine = engine_class(model, neurons, batch=batch, cache_dir=cache_dir)
            engine.workers = workers
            return engine

        return make

    options = DigitsOptions(neurons=NEURONS, train=120, epochs=1, test=100, segment=40, seed=5)
    runs = {w: start_digits(options, tmp_path / str(w), engine_factory=factory(w), quiet=True) for w in (1, 2)}
    a, b = (np.load(runs[w].folder / "results.npz") for w in (1, 2))
    for key in ("weights", "counts_train", "counts_label", "counts_test", "shown_label", "shown_test", "predicted"):
        assert np.array_equal(a[key], b[key]), key
    assert np.all(a["shown_label"] >= 1) and np.all(a["shown_test"] >= 1)
    assert a["counts_label"].sum() > 0 and a["counts_test"].sum() > 0


def test_a_failed_compile_says_so_and_hands_brian2_back(tmp_path, monkeypatch):
    import brian2

    from spiking.engines.brian2.digits import Brian2DigitsEngine
    from spiking.errors import EngineUnavailableError

    def no_compiler(*args, **kwargs):
        raise RuntimeError("g++: command not found")

    monkeypatch.setattr(brian2.devices.cpp_standalone.device.CPPStandaloneDevice, "build", no_compiler)
    with pytest.raises(
        EngineUnavailableError,
        match=r"^Brian2 could not compile the network \(it needs a C\+\+ compiler such as g\+\+\): g\+\+: command not found$",
    ):
        with Brian2DigitsEngine(DigitsModel(), 3, cache_dir=tmp_path):
            pass
    assert type(brian2.get_device()).__name__ == "RuntimeDevice"
    assert not list(tmp_path.glob(".build-*"))  # nothing half-built left in the cache
