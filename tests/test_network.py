"""The network as NEST builds it: positions, connectivity per projection, delays, the relay, Poisson rates.

All on the real NEST kernel with tiny configurations and fixed seeds.
"""

import numpy as np
import pytest
from scipy import stats

from conftest import tiny
from spiking.config import from_mapping
from spiking.engines.nest.engine import NestEngine
from spiking.model.geometry import grid_positions
from spiking.model.network import build_model


def _engine(data, threads=1):
    cfg = from_mapping(data)
    model = build_model(cfg)
    eng = NestEngine()
    eng.setup(model, threads)
    eng.build()
    return eng, model


@pytest.fixture(scope="module")
def built():
    # 1 hypercolumn of 3x3 minicolumns of 12 neurons: retina 11x11, ex 10x10, in 5x5;
    # radii shrunk so the masks do not cover whole layers, and one distance-dependent delay
    # the original's machinery (Poisson generators and parrot relays), so the relay's wiring is built too
    data = tiny(network={"neurons_per_minicolumn": 12}, run={"seed": 3}, retina={"source": "generators"})
    data["projections"] = {
        "ex_on_to_ex_on": {"radius": 0.45, "sigma": 0.2, "delay_per_unit": 4.0},
        "in_on_to_ex_off": {"radius": 0.3},
        "lgn_on_to_ex_on": {"radius": 0.15, "p_center": 0.7},
    }
    eng, model = _engine(data)
    counts = eng.connect()
    return eng, model, counts


def test_node_positions_match_the_model_geometry(built):
    eng, model, _ = built
    nest = eng.nest
    for name, layer in model.layers.items():
        got = np.array(nest.GetPosition(eng.nodes[name]))
        np.testing.assert_allclose(got, grid_positions(layer.side, layer.extent), atol=1e-9)


def _connections(eng, p):
    nest = eng.nest
    conns = nest.GetConnections(eng.nodes[p.source], eng.nodes[p.target])
    src = np.asarray(conns.get("source")) - eng.first_id[p.source]
    tgt = np.asarray(conns.get("target")) - eng.first_id[p.target]
    delay = np.asarray(conns.get("delay"), dtype=float)
    weight = np.asarray(conns.get("weight"), dtype=float)
    return src, tgt, delay, weight


def test_relay_is_one_to_one_by_position(built):
    eng, model, counts = built
    for p in model.projections[:2]:
        src, tgt, delay, _ = _connections(eng, p)
        n = model.layers[p.source].size
        assert counts[p.name] == len(src) == n
        assert np.array_equal(np.sort(src), np.arange(n)) and np.array_equal(src, tgt)
        assert np.all(delay == p.delay)


def test_every_projection_matches_mask_and_kernel(built):
    """Realised synapse counts and their distances against the mask and kernel's expectation.

    For each target, every source within the mask is a Bernoulli trial with
    p(r); the count of a projection and of each distance bin is then within
    4.5 standard deviations of its expectation (a false alarm has probability
    below 1e-5 per comparison; the seed is fixed, so the test is deterministic).
    """
    eng, model, counts = built
    for p in model.projections[2:]:
        src_layer, tgt_layer = model.layers[p.source], model.layers[p.target]
        src, tgt, delay, weight = _connections(eng, p)
        assert counts[p.name] == len(src), p.name
        sp, tp = src_layer.positions(), tgt_layer.positions()
        d = np.linalg.norm(sp[src] - tp[tgt], axis=1)
        assert d.max() <= p.radius + 1e-9, f"{p.name}: a connection outside the mask"
        assert np.all(weight == p.weight)
        # expectation over all pairs
        dist = np.linalg.norm(tp[:, None, :] - sp[None, :, :], axis=2)
        inside = dist <= p.radius
        if not p.allow_autapses and p.source == p.target:
            np.fill_diagonal(inside, False)
        prob = np.where(inside, p.probability(dist), 0.0)
        expected, var = prob.sum(), (prob * (1 - prob)).sum()
        assert abs(len(src) - expected) <= 4.5 * np.sqrt(var) + 1, (p.name, len(src), expected)
        edges = np.linspace(0, p.radius + 1e-9, 5)
        got_bins = np.histogram(d, edges)[0]
        for k in range(4):
            m = inside & (dist >= edges[k]) & (dist < edges[k + 1])
            e, v = prob[m].sum(), (prob[m] * (1 - prob[m])).sum()
            assert abs(got_bins[k] - e) <= 4.5 * np.sqrt(v) + 1, (p.name, k, got_bins[k], e)
        # delays: delay + delay_per_unit * distance, on NEST's time grid
        want = np.round((p.delay + p.delay_per_unit * d) / model.resolution) * model.resolution
        np.testing.assert_allclose(delay, want, atol=model.resolution / 2 + 1e-9, err_msg=p.name)


def test_no_autapses_when_switched_off():
    data = tiny(network={"allow_autapses": False})
    eng, model = _engine(data)
    eng.connect()
    for p in model.projections:
        if p.source == p.target:
            src, tgt, _, _ = _connections(eng, p)
            assert len(src) > 0 and not np.any(src == tgt), p.name


def _asymmetric_image(tmp_path):
    """An 'L'-shaped grey image whose transpose is clearly different."""
    from PIL import Image

    a = np.zeros((20, 20), dtype=np.uint8)
    a[2:18, 3:6] = 255  # a vertical bar on the left
    a[14:17, 3:17] = 160  # a dimmer foot at the bottom
    path = tmp_path / "ell.png"
    Image.fromarray(a).save(path)
    return path


def _relay_run(data, threads=1):
    data = {**data, "retina": {**data.get("retina", {}), "source": "generators"}}
    eng, model = _engine(data, threads)
    eng.connect()
    spikes = {n: ([], []) for n in model.recorded}

    def on_chunk(t, chunk):
        for n, (ids, ts) in chunk.items():
            spikes[n][0].append(ids)
            spikes[n][1].append(ts)

    eng.simulate(on_chunk, model.chunk)
    return model, {n: (np.concatenate(a), np.concatenate(b)) for n, (a, b) in spikes.items()}


def test_relay_spikes_are_the_generator_spikes_shifted_by_the_delay(tmp_path):
    """With the same seed, moving the retina->LGN delay from 1 to 3.5 ms shifts every relay spike by 2.5 ms.

    The generators draw the same spike trains in both runs (one thread, same
    minimum delay), so the relay must add exactly the delay and nothing else:
    no spike lost, added or moved otherwise.
    """
    img = _asymmetric_image(tmp_path)
    base = tiny(
        run={"simulation_time": 300.0, "seed": 11},
        stimulus={"patterns": [str(img)]},
        recording={"layers": ["lgn_on", "lgn_off"]},
    )
    runs = {}
    for delay in (1.0, 3.5):
        data = {
            **base,
            "projections": {"retina_on_to_lgn_on": {"delay": delay}, "retina_off_to_lgn_off": {"delay": delay}},
        }
        runs[delay] = _relay_run(data)[1]
    for layer in ("lgn_on", "lgn_off"):
        ids1, t1 = runs[1.0][layer]
        ids2, t2 = runs[3.5][layer]
        cut = t1 <= 300.0 - 2.5  # spikes the later run still sees before its end
        a = sorted(zip(ids1[cut], np.round(t1[cut] + 2.5, 6)))
        b = sorted(zip(ids2, np.round(t2, 6)))
        assert len(a) > 100 and a == b
        assert t2.min() >= 3.5 + 0.1 - 1e-9  # nothing arrives before the delay


def test_poisson_rates_and_orientation(tmp_path):
    """Relay spike counts follow each pixel's rate, placed by position.

    Over 2 s, counts per neuron are Poisson(rate * T): the total is within 4
    sigma of its expectation; counts correlate with the rate map as placed by
    position (r > 0.9) and clearly less with the transposed map; the
    inter-spike intervals of the fast cells, scaled by their rates, pass a KS
    test against the unit exponential (p > 0.001; seeded).
    """
    img = _asymmetric_image(tmp_path)
    data = tiny(
        run={"simulation_time": 2000.0, "seed": 5, "chunk": 500.0},
        stimulus={"patterns": [str(img)]},
        retina={"min_rate": 2.0, "max_rate": 150.0},
        recording={"layers": ["lgn_on"]},
    )
    model, spikes = _relay_run(data, threads=2)
    ids, times = spikes["lgn_on"]
    side = model.sizes.retina_side
    rates_img = model.stimuli[str(img)].rates_on  # [row, col]
    # expected rate of each node from its NEST position
    pos = grid_positions(side, model.sizes.extent)
    step = model.sizes.extent / side
    col = np.round((pos[:, 0] + model.sizes.extent / 2) / step - 0.5).astype(int)
    row = np.round((model.sizes.extent / 2 - pos[:, 1]) / step - 0.5).astype(int)
    expected = rates_img[row, col] * 2.0  # Hz * 2 s
    counts = np.bincount(ids, minlength=side * side)
    assert abs(counts.sum() - expected.sum()) <= 4 * np.sqrt(expected.sum())
    assert np.corrcoef(counts, expected)[0, 1] > 0.9
    transposed = rates_img.T[row, col] * 2.0
    assert np.corrcoef(counts, transposed)[0, 1] < np.corrcoef(counts, expected)[0, 1] - 0.2
    fast = np.nonzero(expected / 2.0 > 60)[0]
    scaled = []
    for k in fast:
        t = np.sort(times[ids == k])
        scaled.append(np.diff(t) * rates_img[row[k], col[k]] / 1000.0)
    scaled = np.concatenate(scaled)
    assert len(scaled) > 500
    assert stats.kstest(scaled, "expon").pvalue > 0.001


def test_preflight_estimate_matches_the_built_network(built):
    """The estimate from the config alone against the synapses NEST built.

    Layers here are small enough that the estimate is the exact expectation;
    the realised counts are within 4.5 Bernoulli standard deviations of it.
    """
    from spiking.model.estimate import estimate

    eng, model, counts = built
    cfg_counts = estimate(None, model)
    assert cfg_counts.neurons == {n: layer.size for n, layer in model.layers.items()}
    for name, n in counts.items():
        e = cfg_counts.synapses[name]
        assert cfg_counts.synapses_stderr[name] == 0.0
        assert abs(n - e) <= 4.5 * np.sqrt(e) + 1, (name, n, e)


@pytest.mark.parametrize("hc, per, side", [(1, 30, 10), (4, 6, 6)])
def test_preflight_estimate_on_sampled_layers(hc, per, side):
    """Larger layers: the estimate samples 150 targets; the total is within 1% of what NEST builds."""
    from spiking.model.estimate import estimate

    data = tiny(
        network={"hypercolumns": hc, "neurons_per_minicolumn": per, "minicolumn_side": side}, run={"threads": 2}
    )
    eng, model = _engine(data, threads=2)
    counts = eng.connect()
    est = estimate(from_mapping(data), model)
    assert any(s > 0 for s in est.synapses_stderr.values())  # sampled
    total = sum(counts.values())
    assert abs(total - est.synapses_total) <= 0.01 * total, (total, est.synapses_total)
    for name, n in counts.items():
        e, se = est.synapses[name], est.synapses_stderr[name]
        assert abs(n - e) <= 4 * se + 4.5 * np.sqrt(e) + 1, (name, n, e, se)
