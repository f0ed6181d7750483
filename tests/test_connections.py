"""The network drawn by the model (pure numpy): the rule of each projection, exactness, determinism, the network folder and cache.

No simulator: :mod:`spiking.model.connections` draws every edge from keyed
streams, :mod:`spiking.io.networkfile` keeps them, :mod:`spiking.run.network`
caches them. Statistical tests are seeded (deterministic) and state their
tolerance.
"""

import dataclasses

import numpy as np
import pytest

from conftest import tiny
from spiking.config import from_mapping
from spiking.io.networkfile import NetworkFolder, write_network
from spiking.model.connections import TARGET_BLOCK, candidates, draw_block, draw_projection, stencil
from spiking.model.network import build_model
from spiking.run.network import network_key, obtain_network
from spiking.validate.kernel import kernel_fit


def model_of(**sections):
    """One hypercolumn of 3 x 3 minicolumns of 12 (retina 11 x 11, ex 10 x 10, in 5 x 5), shrunk masks, no autapses."""
    data = tiny(network={"neurons_per_minicolumn": 12, "allow_autapses": False}, run={"seed": 3})
    data["projections"] = {
        "ex_on_to_ex_on": {"radius": 0.45, "sigma": 0.2, "delay_per_unit": 4.0},
        "in_on_to_ex_off": {"radius": 0.3},
        "lgn_on_to_ex_on": {"radius": 0.15, "p_center": 0.7},
        "in_off_to_ex_on": {"kernel": "constant", "p_center": 0.3, "radius": 0.4},
    }
    for section, values in sections.items():
        data.setdefault(section, {}).update(values)
    return build_model(from_mapping(data), stimuli=False)


def brute_force(p, model):
    """Every (target, source) pair and its distance, and which are inside the mask (the rule, pair by pair)."""
    sp, tp = model.layers[p.source].positions(), model.layers[p.target].positions()
    d = np.linalg.norm(tp[:, None, :] - sp[None, :, :], axis=2)
    inside = p.inside(d)
    if p.source == p.target and not p.allow_autapses:
        np.fill_diagonal(inside, False)
    return d, inside


def test_candidates_are_every_pair_inside_the_mask():
    """The stencil enumerates exactly the pairs a brute-force distance matrix puts inside each mask."""
    model = model_of()
    for p in model.projections:
        src, tgt = model.layers[p.source], model.layers[p.target]
        d, inside = brute_force(p, model)
        t, s, dist = candidates(p, src, tgt, np.arange(tgt.size))
        got = set(zip(t.tolist(), s.tolist()))
        want = set(zip(*np.nonzero(inside)))
        assert got == {(int(a), int(b)) for a, b in want}, p.name
        np.testing.assert_allclose(dist, d[t, s], rtol=0, atol=1e-12)


def test_every_projection_follows_its_kernel():
    """Realised edges per distance bin against the kernel (chi-square, p >= 1e-3), and a wrong kernel rejected."""
    model = model_of(network={"hypercolumns": 4, "neurons_per_minicolumn": 12})
    tested = 0
    for p in model.projections:
        if p.mask == "one_to_one":
            continue
        e = draw_projection(p, model)
        sp, tp = model.layers[p.source].positions(), model.layers[p.target].positions()
        fit = kernel_fit(p, sp, tp, e.sources.astype(np.int64), e.targets.astype(np.int64))
        assert fit.outside == 0, p.name
        assert fit.agrees(1e-3), (p.name, fit.chi2, fit.dof, fit.p_value)
        if p.kernel == "gaussian":
            wrong = kernel_fit(dataclasses.replace(p, sigma=1.5 * p.sigma), sp, tp, e.sources, e.targets)
            assert wrong.p_value < 1e-6, p.name
        tested += 1
    assert tested == 16


@pytest.mark.parametrize("name", ["ex_on_to_ex_on", "in_on_to_ex_off", "lgn_on_to_ex_on", "ex_on_to_in_on"])
def test_each_candidate_is_connected_with_its_own_probability(name):
    """Over 300 seeds, each candidate pair's count, and the total per class of probability, match p(d).

    This checks the draw's exactness pair by pair: the bins, the bound ``q``
    (exact on one grid, an envelope across two grids: ``in -> ex``,
    ``ex -> in``, ``lgn -> ex``) and the thinning by ``p(d) / p_b``. A pair of
    probability p is connected in ``k`` of n = 300 draws: ``|k - n p|`` must be
    below ``5 sqrt(n p (1 - p) + 1)`` (the 1 keeps a single connection of a very
    unlikely pair from counting as many deviations; with about 10^4 pairs a
    false alarm has probability below 1%). The pairs of each class of p (within
    a factor of two) together must be within 4 standard deviations.
    """
    base = model_of()
    p = next(q for q in base.projections if q.name == name)
    d, inside = brute_force(p, base)
    seeds = 300
    hits = np.zeros(d.shape)
    for seed in range(1, seeds + 1):
        e = draw_projection(p, dataclasses.replace(base, seed=seed))
        np.add.at(hits, (e.targets, e.sources), 1)
    prob = np.where(inside, p.probability(d), 0.0)
    assert np.all(hits[~inside] == 0), "an edge outside the mask"
    k, pr = hits[inside], prob[inside]
    assert np.all(k[pr >= 1.0] == seeds)
    z = np.abs(k - seeds * pr) / np.sqrt(seeds * pr * (1 - pr) + 1)
    assert z.max() < 5.0, (name, z.max())
    cls = np.floor(np.log2(pr)).astype(int)
    for c in np.unique(cls):
        m = cls == c
        expected, var = seeds * pr[m].sum(), seeds * (pr[m] * (1 - pr[m])).sum()
        assert abs(k[m].sum() - expected) <= 4 * np.sqrt(var) + 1, (name, c, k[m].sum(), expected)


def test_the_same_edges_for_any_threads_and_from_any_block():
    """Edges depend on the seed, projection and block only: 1 or 3 threads, or a block drawn alone, give the same."""
    model = model_of(network={"hypercolumns": 4, "minicolumn_side": 10, "neurons_per_minicolumn": 12})
    for p in model.projections:
        a, b = draw_projection(p, model, threads=1), draw_projection(p, model, threads=3)
        assert np.array_equal(a.sources, b.sources) and np.array_equal(a.offsets, b.offsets), p.name
        assert np.array_equal(np.asarray(a.delay_steps), np.asarray(b.delay_steps))
    p = next(q for q in model.projections if q.name == "ex_on_to_ex_on")
    src, tgt = model.layers[p.source], model.layers[p.target]
    assert tgt.size > TARGET_BLOCK  # more than one block
    e = draw_projection(p, model)
    t, s, _ = draw_block(p, src, tgt, stencil(p, src, tgt), model.seed, 1, model.resolution)
    lo, hi = e.offsets[TARGET_BLOCK], e.offsets[min(2 * TARGET_BLOCK, tgt.size)]
    assert np.array_equal(s, e.sources[lo:hi]) and np.array_equal(t, e.targets[lo:hi])
    other = draw_projection(p, dataclasses.replace(model, seed=model.seed + 1))
    assert not np.array_equal(other.sources[:1000], e.sources[:1000])


def test_delays_autapses_and_one_to_one():
    """Distance-dependent delays on the step grid (halves up), no autapse where forbidden, one_to_one as stated."""
    model = model_of()
    ex = next(q for q in model.projections if q.name == "ex_on_to_ex_on")
    e = draw_projection(ex, model)
    pos = model.layers["ex_on"].positions()
    d = np.linalg.norm(pos[e.sources] - pos[e.targets], axis=1)
    want = np.floor((ex.delay + ex.delay_per_unit * d) / model.resolution + 0.5)
    assert not e.delay_is_constant and np.array_equal(e.delay_steps, want)
    assert np.unique(e.delay_steps).size > 5
    assert not np.any(e.sources == e.targets)
    np.testing.assert_allclose(e.delays(), want * model.resolution)
    gen = build_model(from_mapping(tiny(retina={"source": "generators"})), stimuli=False)
    relay = next(q for q in gen.projections if q.mask == "one_to_one")
    r = draw_projection(relay, gen)
    n = gen.layers[relay.target].size
    assert np.array_equal(r.sources, np.arange(n)) and np.array_equal(r.targets, np.arange(n))
    assert r.delay_steps == 10


def test_network_folder_round_trip_and_the_cache(tmp_path, monkeypatch):
    """Written and read back unchanged; the cache gives the same network again, keyed by what shapes it."""
    monkeypatch.setenv("SPIKING_CACHE", str(tmp_path / "cache"))
    model = model_of()
    first, info = obtain_network(model)
    assert info.source == "drawn" and info.synapses == first.counts()
    again, info2 = obtain_network(model)
    assert info2.source == "cache" and again.folder == first.folder
    for p in model.projections:
        want = draw_projection(p, model)
        got = again.edges(p)
        assert np.array_equal(got.sources, want.sources) and np.array_equal(got.offsets, want.offsets)
        assert np.array_equal(np.asarray(got.delay_steps), np.asarray(want.delay_steps))
        assert got.weight == p.weight
    # the weight does not shape the edges; the seed and a radius do
    heavier = dataclasses.replace(
        model, projections=tuple(dataclasses.replace(q, weight=2 * q.weight) for q in model.projections)
    )
    assert network_key(heavier) == network_key(model)
    assert network_key(dataclasses.replace(model, seed=4)) != network_key(model)
    wider = tuple(
        dataclasses.replace(q, radius=q.radius * 1.1) if q.name == "ex_on_to_ex_on" else q for q in model.projections
    )
    assert network_key(dataclasses.replace(model, projections=wider)) != network_key(model)


def test_the_cache_forgets_the_least_recently_used(tmp_path, monkeypatch):
    """With room for about two networks, a third pushes out the one used longest ago."""
    import os
    import time

    monkeypatch.setenv("SPIKING_CACHE", str(tmp_path / "cache"))
    nets = [obtain_network(dataclasses.replace(model_of(), seed=s))[0] for s in (1, 2)]
    size = sum(f.stat().st_size for f in nets[0].folder.iterdir())
    monkeypatch.setenv("SPIKING_NETWORK_CACHE_GB", str(2.5 * size / 1e9))
    old = time.time() - 100
    os.utime(nets[0].folder / "network.json", (old, old))
    third = obtain_network(dataclasses.replace(model_of(), seed=3))[0]
    assert third.folder.is_dir() and nets[1].folder.is_dir()
    assert not nets[0].folder.exists()


def test_without_a_cache_the_network_goes_to_scratch(tmp_path, monkeypatch):
    monkeypatch.setenv("SPIKING_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("SPIKING_NETWORK_CACHE_GB", "0")
    net, info = obtain_network(model_of(), scratch=tmp_path)
    assert net.folder.parent == tmp_path and info.source == "drawn"
    assert not (tmp_path / "cache" / "networks").exists()


def test_a_folder_that_is_not_a_network_is_refused(tmp_path):
    from spiking.errors import RunFolderError

    (tmp_path / "network.json").write_text("{}")
    with pytest.raises(RunFolderError, match="not a network folder"):
        NetworkFolder(tmp_path)
    model = model_of()
    net = write_network(
        tmp_path / "n", "k", model.seed, model.resolution, [draw_projection(model.projections[0], model)]
    )
    (net.folder / "03.sources").write_bytes(b"\0" * 8)
    with pytest.raises(RunFolderError, match="values where"):
        net.edges(model.projections[0])
