"""First-spike vision: the rank-order network of Delorme & Thorpe (2001) checked rule by rule, against a plain
event-by-event simulation, and against the same neurons built on Brian2; the protocol on the real data when present.

The data (ORL faces, SpikeNET's 40-face configuration) are never part of the project: the protocol test reads
``../shared/data`` when it is there and is skipped, saying why, when it is not.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from spiking.firstspike.images import add_noise, lower_contrast
from spiking.firstspike.rankorder import (
    BORDER,
    FaceLayer,
    OrientationLayer,
    RetinaSpikes,
    Spikes,
    decide,
    modulation_table,
    retina,
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
ON_CENTRE = np.array([[-1, -2, -1], [-2, 12, -2], [-1, -2, -1]], dtype=float)
EDGE = np.array([[0, 0, 0, 0, 0], [0, 3, 0, -3, 0], [0, 5, 0, -5, 0], [0, 3, 0, -3, 0], [0, 0, 0, 0, 0]], float)


def test_modulation_halves_after_mod_of_the_inputs():
    t = modulation_table(100, 0.2)
    assert t[0] == 256 and t[20] == 128 and t[40] == 64  # halves after 0.2 * 100 inputs
    assert np.all(np.diff(t) <= 0) and t.size == 100


def test_the_retina_fires_the_strongest_response_first_once_per_position():
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, size=(48, 40)).astype(np.uint8)
    r = retina(img, ON_CENTRE)
    assert r.shape == (12, 10)  # blocks of 4 x 4
    blocks = img.astype(float).reshape(12, 4, 10, 4).sum(axis=(1, 3))
    from scipy import ndimage

    response = ndimage.correlate(blocks, ON_CENTRE, mode="nearest")
    for steps, resp in ((r.on, response), (r.off, -response)):
        assert sorted(steps.ravel().tolist()) == list(range(120))  # one spike per step, each position once
        order = np.argsort(steps.ravel())
        assert np.all(np.diff(resp.ravel()[order]) <= 0)  # the strongest first


def _brute_orientation(r: RetinaSpikes, kernels, threshold, mod, stop=None):
    """Event by event: each step's ON then OFF spike, every neuron's rank per input map, fire once when over."""
    shape = r.shape
    out = []
    for m, (k_on, k_off) in enumerate(kernels):
        thr = threshold * 256 * (np.clip(k_on, 0, None).sum() + np.clip(k_off, 0, None).sum())
        tables = [modulation_table(int(np.count_nonzero(k)), mod) for k in (k_on, k_off)]
        act = np.zeros(shape)
        ranks = np.zeros((2,) + shape, dtype=int)
        fired = np.zeros(shape, dtype=bool)
        n_steps = int(max(r.on.max(), r.off.max())) + 1 if stop is None else stop
        for step in range(n_steps):
            for g, (steps, k) in enumerate(((r.on, k_on), (r.off, k_off))):
                p = np.argwhere(steps == step)
                if p.size == 0:
                    continue
                pr, pc = p[0]
                cy, cx = k.shape[0] // 2, k.shape[1] // 2
                for nr in range(BORDER, shape[0] - BORDER):
                    for nc in range(BORDER, shape[1] - BORDER):
                        dr, dc = pr - nr, pc - nc
                        if abs(dr) > cy or abs(dc) > cx or fired[nr, nc]:
                            continue
                        w = k[cy + dr, cx + dc]
                        if w == 0:
                            continue
                        act[nr, nc] += tables[g][ranks[g, nr, nc]] * w
                        ranks[g, nr, nc] += 1
                        if act[nr, nc] > thr:
                            fired[nr, nc] = True
                            out.append((step, m, nr, nc))
    return sorted(out)


def test_orientation_maps_against_an_event_by_event_simulation():
    """The vectorised layer gives exactly the spikes of a plain loop over the retina's spikes (every rule above)."""
    rng = np.random.default_rng(3)
    img = rng.integers(0, 256, size=(64, 60)).astype(np.uint8)
    img[:, 28:] = np.clip(img[:, 28:].astype(int) + 90, 0, 255)  # an edge for the maps to see
    r = retina(img, ON_CENTRE)
    kernels = [(EDGE, -EDGE), (EDGE.T, -EDGE.T), (-EDGE, EDGE)]
    layer = OrientationLayer(kernels, 0.2, 0.22)
    for stop in (None, 60):
        got = layer.run(r, stop)
        assert len(got) > 10
        want = _brute_orientation(r, kernels, 0.2, 0.22, stop)
        assert sorted(zip(got.step.tolist(), got.map.tolist(), got.row.tolist(), got.col.tolist())) == want


def _spikes(rng, n, shape, maps):
    step = np.sort(rng.integers(0, 40, n))
    return Spikes(step, rng.integers(0, maps, n), rng.integers(0, shape[0], n), rng.integers(0, shape[1], n))


def test_face_learning_adds_the_modulation_of_each_inputs_rank():
    """SpikeNET's supervised rule: the learning neuron's weight of its r-th input grows by round(256 mod^r)."""
    rng = np.random.default_rng(5)
    shape = (24, 20)
    layer = FaceLayer(3, 2, (7, 5), 0.1)
    s = _spikes(rng, 80, shape, 2)
    order = np.lexsort((s.col, s.row, s.map, s.step))
    s = Spikes(s.step[order], s.map[order], s.row[order], s.col[order])
    layer.learn(s, shape, face=1, row=12, col=10)
    want = np.ones((2, 7, 5))
    rank = 0
    for m, r, c in zip(s.map, s.row, s.col):
        if abs(r - 12) <= 3 and abs(c - 10) <= 2:
            want[m, r - 12 + 3, c - 10 + 2] += layer.table[rank]
            rank += 1
    assert rank > 5
    assert np.array_equal(layer.weights[1], want) and np.all(layer.weights[[0, 2]] == 1)


def test_the_first_map_over_its_threshold_wins():
    traj = np.array([[1, 2, 5, 9], [1, 6, 7, 8], [0, 0, 7, 20.0]])
    w, first, excess = decide(traj, np.array([4.0, 5.0, 6.0]))
    assert w == 1 and first.tolist() == [2, 1, 2]
    w, first, _ = decide(traj, np.array([4.5, 10.0, 6.0]))  # maps 0 and 2 cross together: the larger excess
    assert w == 2 and first.tolist() == [2, -1, 2]
    assert decide(traj, np.full(3, 100.0))[0] == -1  # silence


def test_degradations_keep_eight_bits():
    img = np.arange(256, dtype=np.uint8).reshape(16, 16)
    low = lower_contrast(img, 0.01)
    assert low.dtype == np.uint8 and np.unique(low).size <= 4  # 1% of 255 grey levels: a few steps left
    assert np.array_equal(lower_contrast(img, 1.0), img)
    noisy = add_noise(img, 1.0, np.random.default_rng(0))
    assert abs(np.corrcoef(noisy.ravel(), img.ravel())[0, 1]) < 0.2
    assert np.array_equal(add_noise(img, 0.0, np.random.default_rng(0)), img)


@pytest.mark.skipif(
    not (DATA / "orl_faces" / "s1-1.pgm").is_file() or not (DATA / "spikenet_40faces" / "learn_lst_img").is_file(),
    reason="needs ../shared/data/orl_faces and ../shared/data/spikenet_40faces (not part of the project)",
)
def test_thresholds_are_chosen_without_reading_the_unseen_views(monkeypatch):
    """The cross-validation over the learnt views of three people reads views 3-10 only, each held out once."""
    from dataclasses import replace

    from spiking.firstspike import faces
    from spiking.firstspike.spikenet import read_config

    cfg = read_config(DATA / "spikenet_40faces")
    people = {li.person for li in cfg.learn[:1]} | {"s3", "s5"}
    small = replace(cfg, learn=[li for li in cfg.learn if li.person in people])
    read = []
    real = faces.read_grey
    monkeypatch.setattr(faces, "read_grey", lambda path: read.append(Path(path).name) or real(path))
    k, f, correct = faces._cross_validate(small, DATA / "orl_faces", workers=1)
    assert k in faces.THRESHOLD_GRID[0] and f in faces.THRESHOLD_GRID[1]
    assert 0 < correct <= len(small.learn) == 24
    views = {int(name.split("-")[1].split(".")[0]) for name in read}
    assert views == set(range(3, 11)), "only the learnt views are read"
    # each image learnt in 7 of the 8 folds and held out in 1
    assert all(read.count(li.image) == 8 for li in small.learn)


# ---- Mozafari et al. (2018): R-STDP ------------------------------------------------------------


def test_gabor_filters_are_masked_centred_and_normalised():
    from spiking.firstspike.rstdp import RSTDPParams, gabor_bank

    bank = gabor_bank(RSTDPParams())
    assert bank.shape == (4, 5, 5)
    assert np.allclose(bank.mean(axis=(1, 2)), 0.0)
    assert np.allclose(bank[:, 0, 0], bank[0, 0, 0])  # corners are outside the disc: only the mean removed there
    # the two diagonal orientations mirror each other
    assert np.allclose(bank[0], bank[3][:, ::-1], atol=1e-12) or np.allclose(bank[0], bank[3][::-1, :], atol=1e-12)


def test_lateral_inhibition_and_competition_by_hand():
    """Latency grows by its own times 0.15, 0.12, ... per earlier neighbour at distance 1, 2, ...; one orientation wins."""
    from spiking.firstspike.rstdp import _lateral_inhibition

    lat = np.full((5, 5, 1), np.inf)
    lat[2, 2, 0] = 10.0
    lat[2, 3, 0] = 4.0  # earlier, distance 1
    lat[0, 0, 0] = 2.0  # earlier, distance 2
    lat[4, 4, 0] = 20.0  # later: no effect on (2, 2)
    out = _lateral_inhibition(lat, (0.15, 0.12, 0.10, 0.07, 0.05))
    assert out[2, 2, 0] == pytest.approx(10.0 * (1 + 0.15 + 0.12))
    assert out[0, 0, 0] == pytest.approx(2.0)  # the earliest is not delayed
    assert out[4, 4, 0] == pytest.approx(20.0 * (1 + 0.12 + 0.12 + 0.07))  # earlier at distances 2, 2 and 4


def test_spikes_spread_over_steps_in_order_of_latency():
    from spiking.firstspike.rstdp import RSTDPParams, features

    rng = np.random.default_rng(2)
    img = rng.uniform(0, 1, (60, 70))
    f = features(img, RSTDPParams(scale=1.0, time_steps=15))
    fired = f.step >= 0
    assert f.n_steps == 15 and fired.any()
    assert np.all(fired.sum(axis=2) <= 1)  # one orientation per position
    counts = np.bincount(f.step[fired], minlength=15)
    assert counts.max() - counts.min() <= 1  # equal-count bins


def _s2_case(p, seed=6):
    from spiking.firstspike.rstdp import Features, S2Layer

    rng = np.random.default_rng(seed)
    step = np.where(rng.random((14, 16, 2)) < 0.3, rng.integers(0, p.time_steps, (14, 16, 2)), -1)
    f = Features(step.astype(np.int64), p.time_steps)
    net = S2Layer(2, 2, p, rng)
    return f, net


def test_s2_potentials_and_the_first_winner_against_a_plain_sum():
    from spiking.firstspike.rstdp import RSTDPParams

    p = RSTDPParams(window=5, maps_per_class=2, threshold=6.0, time_steps=8)
    f, net = _s2_case(p)
    x = net.inputs(f)
    pot = net.potentials(x)
    for k, (r, c) in enumerate(zip(x.rows, x.cols)):
        for m in range(net.n_maps):
            win = f.step[r - 2 : r + 3, c - 2 : c + 3]
            for t in (0, 3, 7):
                want = net.weights[m][(win >= 0) & (win <= t)].sum()
                assert pot[t, k, m] == pytest.approx(want)
    m, pos, t = net.winner(x)
    over = pot >= p.threshold
    t_first = int(np.argmax(over.reshape(p.time_steps, -1).any(axis=1)))
    assert t == t_first and pot[t, pos, m] == pot[t][over[t]].max()


def test_reward_and_punishment_move_the_winners_weights():
    from spiking.firstspike.rstdp import RSTDPParams

    p = RSTDPParams(window=5, maps_per_class=2, threshold=6.0, time_steps=8)
    f, net = _s2_case(p)
    x = net.inputs(f)
    m, pos, t = net.winner(x)
    before = net.weights.copy()
    r, c = x.rows[pos], x.cols[pos]
    win = f.step[r - 2 : r + 3, c - 2 : c + 3]
    pre = (win >= 0) & (win <= t)
    w = before[m]
    rates = (0.05, 0.025, 0.04, 0.005)
    net.update(x, m, pos, t, True, rates)
    want = np.clip(w + np.where(pre, 0.05, -0.025) * w * (1 - w), 1e-5, 1 - 1e-5)
    assert np.allclose(net.weights[m], want) and np.array_equal(np.delete(net.weights, m, 0), np.delete(before, m, 0))
    net.weights[:] = before
    net.update(x, m, pos, t, False, rates)
    want = np.clip(w + np.where(pre, -0.04, 0.005) * w * (1 - w), 1e-5, 1 - 1e-5)
    assert np.allclose(net.weights[m], want)
