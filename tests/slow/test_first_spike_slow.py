"""First-spike vision: the rank-order network of Delorme & Thorpe (2001) checked rule by rule, against a plain: the slow part (``make test-slow``); the rest is in ``tests/test_first_spike.py``."""

from __future__ import annotations

import math

import numpy as np
import pytest

from spiking.firstspike.rankorder import (
    BORDER,
    FaceLayer,
    OrientationLayer,
    decide,
    modulation_table,
    retina,
)
from test_first_spike import DATA, EDGE, ON_CENTRE, _s2_case


@pytest.mark.skipif(
    not (DATA / "orl_faces" / "s1-1.pgm").is_file() or not (DATA / "spikenet_40faces" / "learn_lst_img").is_file(),
    reason="needs ../shared/data/orl_faces and ../shared/data/spikenet_40faces (not part of the project)",
)
def test_the_40_faces_learnt_and_identified(tmp_path):
    """The protocol's first half on the real data: learn views 3-10, identify views 1-2 and 3-10 at full contrast.

    Measured when written: 97.8% of the learnt views, 90.0% of the unseen views (``docs/first-spike.md``);
    required here: at least 95% and 80% (the thresholds are chosen within the learnt views).
    """
    from spiking.firstspike.faces import FacesOptions, learn_faces

    options = FacesOptions(
        faces=str(DATA / "orl_faces"),
        spikenet=str(DATA / "spikenet_40faces"),
        output_dir=str(tmp_path),
        contrasts=(1.0,),
        noises=(),
        workers=2,
    )
    folder, m = learn_faces(options)
    assert m["status"] == "complete"
    assert m["results"]["learnt_views_full_contrast"] >= 0.95
    assert m["results"]["unseen_views_full_contrast"] >= 0.80
    for name in ("results.csv", "accuracy.png", "weights.png", "decision.png", "examples.png", "weights.npz"):
        assert (folder / name).is_file(), name
    assert math.isclose(sum(1 for _ in open(folder / "results.csv")) - 1, 2)
    assert 0 < m["thresholds"]["held_out_correct"] <= 320


@pytest.mark.skipif(
    not (DATA / "caltech_face_motorbike" / "Face").is_dir(),
    reason="needs ../shared/data/caltech_face_motorbike (not part of the project)",
)
def test_caltech_faces_and_motorbikes_learnt_with_rstdp(tmp_path):
    """60 epochs of the authors' protocol (200 in a full run): at least 85% of the held-out images (92% when
    written; 96% after 200 epochs, ``docs/first-spike.md``)."""
    from spiking.firstspike.categories import CategoriesOptions, learn_categories

    options = CategoriesOptions(
        dataset="caltech", data=str(DATA / "caltech_face_motorbike"), output_dir=str(tmp_path), epochs=60, plain=False
    )
    folder, m = learn_categories(options)
    assert m["status"] == "complete" and m["data"]["train"] == 100 and m["data"]["test"] == 100
    assert m["results"]["rstdp_tested"] >= 0.85 and m["results"]["rstdp_learnt"] >= 0.95
    for name in ("results.csv", "epochs.csv", "accuracy.png", "maps.png", "weights.npz"):
        assert (folder / name).is_file(), name


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
