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


@pytest.mark.brian2
def test_brian2_neurons_give_the_same_first_spikes_and_decision():
    """The same network as Brian2 neurons: integrate ``round(256 mod^r) w`` per input map, fire once over threshold.

    Orientation maps: the retina's spikes (one ON and one OFF per step) through Brian2 synapses give the very
    spikes of :class:`OrientationLayer`. Face maps: those spikes, delivered one per step in processing order, give
    the first face map and spike of :func:`decide` on :meth:`FaceLayer.trajectories`.
    """
    from spiking.engines.brian2.install import import_brian2

    b2 = import_brian2()
    rng = np.random.default_rng(8)
    img = rng.integers(0, 256, size=(64, 60)).astype(np.uint8)
    img[20:44, 20:40] = np.clip(img[20:44, 20:40].astype(int) + 100, 0, 255)
    r = retina(img, ON_CENTRE)
    kernels = [(EDGE, -EDGE), (EDGE.T, -EDGE.T)]
    layer = OrientationLayer(kernels, 0.2, 0.22)
    ours = layer.run(r)
    assert len(ours) > 20
    shape = r.shape
    n = shape[0] * shape[1]
    active = np.zeros(shape, dtype=bool)
    active[BORDER : shape[0] - BORDER, BORDER : shape[1] - BORDER] = True
    b2.device.reinit()
    b2.set_device("runtime")
    b2.prefs.codegen.target = "numpy"
    h = 0.1 * b2.ms
    got = []
    for m, (k_on, k_off) in enumerate(kernels):
        net = b2.Network()
        thr = 0.2 * 256 * (np.clip(k_on, 0, None).sum() + np.clip(k_off, 0, None).sum())
        g = b2.NeuronGroup(
            n, "act : 1\nrank_on : 1\nrank_off : 1\nlive : 1", threshold="live > 0 and act > thr", reset="live = 0",
            dt=h, namespace={"thr": thr},
        )  # fmt: skip
        g.live = active.ravel().astype(float)
        mon = b2.SpikeMonitor(g)
        net.add(g, mon)
        for steps, k, rank in ((r.on, k_on, "rank_on"), (r.off, k_off, "rank_off")):
            table = modulation_table(int(np.count_nonzero(k)), 0.22)
            lookup = b2.Function(lambda x, t=table: t[np.asarray(x, dtype=int)], arg_units=[1], return_unit=1)
            src = b2.SpikeGeneratorGroup(n, np.arange(n), steps.ravel() * h, dt=h)
            syn = b2.Synapses(
                src, g, "w : 1 (constant)",
                on_pre=f"act_post += live_post * lookup({rank}_post) * w\n{rank}_post += live_post",
                dt=h, namespace={"lookup": lookup},
            )  # fmt: skip
            pre, post, w = [], [], []
            cy, cx = k.shape[0] // 2, k.shape[1] // 2
            for dr, dc in zip(*np.nonzero(k)):
                for nr in range(shape[0]):
                    for nc in range(shape[1]):
                        pr, pc = nr + dr - cy, nc + dc - cx
                        if 0 <= pr < shape[0] and 0 <= pc < shape[1]:
                            pre.append(pr * shape[1] + pc)
                            post.append(nr * shape[1] + nc)
                            w.append(k[dr, dc])
            syn.connect(i=np.array(pre), j=np.array(post))
            syn.w = np.array(w)
            syn.delay = 0 * b2.ms
            net.add(src, syn)
        net.run((int(max(r.on.max(), r.off.max())) + 2) * h)
        # a spike delivered in step k is integrated, and fires, in step k (the threshold follows the synapses)
        steps_b2 = np.rint(np.asarray(mon.t / h)).astype(int) - 1
        for step, idx in zip(steps_b2, np.asarray(mon.i)):
            got.append((int(step), m, int(idx // shape[1]), int(idx % shape[1])))
    assert sorted(got) == sorted(zip(ours.step.tolist(), ours.map.tolist(), ours.row.tolist(), ours.col.tolist()))

    # the face maps: two maps over the two orientation maps, one learnt from this image at its centre
    faces = FaceLayer(2, 2, (9, 7), 0.1)
    faces.learn(ours, shape, face=1, row=shape[0] // 2, col=shape[1] // 2)
    faces.thresholds = 0.4 * faces.max_activation(200)
    traj = faces.trajectories(ours, shape)
    winner, first, _ = decide(traj, faces.thresholds)
    assert winner == 1 and first[1] >= 0
    rows, cols = np.nonzero(active)
    hr, hc = 4, 3
    net = b2.Network()
    g = b2.NeuronGroup(
        2 * rows.size, "act : 1\nrank : 1\nthr : 1\nlive : 1", threshold="live > 0 and act > thr",
        reset="live = 0", dt=h,
    )  # fmt: skip
    g.thr = np.repeat(faces.thresholds, rows.size)
    g.live = 1.0
    lookup = b2.Function(lambda x: faces.table[np.asarray(x, dtype=int)], arg_units=[1], return_unit=1)
    src = b2.SpikeGeneratorGroup(len(ours), np.arange(len(ours)), np.arange(len(ours)) * h, dt=h)
    syn = b2.Synapses(
        src, g, "w : 1 (constant)", on_pre="act_post += live_post * lookup(rank_post) * w\nrank_post += 1", dt=h,
        namespace={"lookup": lookup},
    )  # fmt: skip
    pre, post, w = [], [], []
    for s in range(len(ours)):
        for f in range(2):
            for k, (nr, nc) in enumerate(zip(rows, cols)):
                dr, dc = ours.row[s] - nr, ours.col[s] - nc
                if abs(dr) <= hr and abs(dc) <= hc:
                    pre.append(s)
                    post.append(f * rows.size + k)
                    w.append(faces.weights[f, ours.map[s], dr + hr, dc + hc])
    syn.connect(i=np.array(pre), j=np.array(post))
    syn.w = np.array(w)
    syn.delay = 0 * b2.ms
    mon = b2.SpikeMonitor(g)
    net.add(g, src, syn, mon)
    net.run((len(ours) + 2) * h)
    first_b2 = [int(np.rint(t / h)) - 1 for t in mon.t]  # integrated in the step of the input, tested the next
    index = np.asarray(mon.i)
    assert first_b2, "no face neuron fired on Brian2"
    k = int(np.argmin(first_b2))
    assert index[k] // rows.size == winner and first_b2[k] == first[winner]


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


@pytest.mark.brian2
def test_brian2_integrate_and_fire_neurons_give_the_same_first_s2_spike():
    """S2 as Brian2 neurons: each C1 spike adds its weight, the first neuron at threshold is the numpy layer's."""
    from spiking.engines.brian2.install import import_brian2
    from spiking.firstspike.rstdp import RSTDPParams

    b2 = import_brian2()
    p = RSTDPParams(window=5, maps_per_class=2, threshold=6.0, time_steps=8)
    f, net = _s2_case(p)
    x = net.inputs(f)
    m, pos, t = net.winner(x)
    assert m >= 0
    b2.device.reinit()
    b2.set_device("runtime")
    b2.prefs.codegen.target = "numpy"
    h = 1 * b2.ms
    r, c, o = np.nonzero(f.step >= 0)
    src = b2.SpikeGeneratorGroup(r.size, np.arange(r.size), f.step[r, c, o] * h, dt=h)
    n_pos = x.rows.size
    g = b2.NeuronGroup(n_pos * net.n_maps, "v : 1", threshold="v >= theta", dt=h, namespace={"theta": p.threshold})
    syn = b2.Synapses(src, g, "w : 1 (constant)", on_pre="v_post += w", dt=h)
    pre, post, w = [], [], []
    for s in range(r.size):
        for k in range(n_pos):
            dr, dc = r[s] - x.rows[k], c[s] - x.cols[k]
            if abs(dr) <= 2 and abs(dc) <= 2:
                for mm in range(net.n_maps):
                    pre.append(s)
                    post.append(k * net.n_maps + mm)
                    w.append(net.weights[mm, dr + 2, dc + 2, o[s]])
    syn.connect(i=np.array(pre), j=np.array(post))
    syn.w = np.array(w)
    mon = b2.SpikeMonitor(g)
    b2.Network(src, g, syn, mon).run((p.time_steps + 2) * h)
    steps = np.rint(np.asarray(mon.t / h)).astype(int) - 1  # integrated in the input's step, tested the next
    first = steps.min()
    assert first == t
    fired = np.asarray(mon.i)[steps == first]
    assert pos * net.n_maps + m in fired.tolist()
