"""The network as data, end to end on the real engines: drawn once, the same on NEST and Brian2, written as SONATA,
run again from the file; a file that does not fit is refused in one line.

One tiny run with pre-drawn trains and a plastic LGN -> V1 projection on each engine (100 ms); everything
through the command line.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

import spiking
from conftest import formats_config, make_real_run, run_cli
from spiking.io.spikefile import load_spikes
from spiking.model.network import build_model

libsonata = pytest.importorskip("libsonata")


def data(engine: str = "nest", **sections) -> dict:
    d = formats_config(retina={"source": "trains"}, run={"simulation_time": 100.0, "engine": engine}, **sections)
    d["projections"]["lgn_off_to_ex_off"] = {"weight": 6.0, "plasticity": "stdp", "stdp": {"w_max": 12.0}}
    return d


def spikes_of(folder: Path) -> dict:
    return {
        name: sorted(zip(s.node_ids.tolist(), np.round(s.times, 6).tolist()))
        for name, s in load_spikes(folder / "spikes.h5").items()
    }


def export(folder: Path, out: Path) -> Path:
    proc = run_cli("export", folder, "--sonata-network", "--out", out)
    assert proc.returncode == 0, proc.stderr
    return out / "network"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The same config on NEST and on Brian2, each exported."""
    tmp = tmp_path_factory.mktemp("netfile")
    out = {}
    for engine in ("nest", "brian2"):
        folder = make_real_run(tmp, data(engine), name=engine)
        out[engine] = (folder, export(folder, tmp / f"{engine}-export"))
    return out


@pytest.mark.nest
@pytest.mark.brian2
def test_nest_and_brian2_run_the_same_network_spike_for_spike(runs):
    """Drawn once by the model: the same synapses, and every V1 spike identical on the two engines."""
    (nest_run, _), (brian2_run, _) = runs["nest"], runs["brian2"]
    m = {e: json.loads((f / "manifest.json").read_text()) for e, (f, _) in runs.items()}
    assert m["nest"]["synapses"] == m["brian2"]["synapses"]
    assert m["nest"]["network"]["key"] == m["brian2"]["network"]["key"]
    a, b = spikes_of(nest_run), spikes_of(brian2_run)
    assert set(a) == {"lgn_on", "ex_on", "ex_off", "in_on", "in_off"} and a == b
    assert sum(len(v) for k, v in a.items() if k != "lgn_on") > 300  # 739 V1 spikes when written


@pytest.mark.nest
@pytest.mark.brian2
def test_both_engines_export_the_same_network(runs):
    """The export writes what the model drew, whatever engine ran: the edge files agree to the byte."""
    (_, a), (_, b) = runs["nest"], runs["brian2"]
    with h5py.File(a / "edges.h5", "r") as ha, h5py.File(b / "edges.h5", "r") as hb:
        assert set(ha["edges"]) == set(hb["edges"]) and len(ha["edges"]) == 16
        for name in ha["edges"]:
            for key in ("source_node_id", "target_node_id", "0/delay"):
                assert np.array_equal(ha[f"edges/{name}/{key}"][()], hb[f"edges/{name}/{key}"][()]), (name, key)
    # bmtk's name for the index is there too, the same data
    with h5py.File(a / "edges.h5", "r") as h5:
        g = h5["edges/ex_on_to_ex_on/indices/source_to_target"]
        assert np.array_equal(g["node_id_to_range"][()], g["node_id_to_ranges"][()])


@pytest.mark.nest
@pytest.mark.brian2
def test_plastic_edges_are_named_and_end_with_the_runs_weights(runs):
    """A plastic projection is an stdp_synapse edge type with its rule; its syn_weight is weights.h5 at the end."""
    import csv

    for engine, (folder, net) in runs.items():
        rows = {r["pop_name"]: r for r in csv.DictReader(open(net / "edge_types.csv"), delimiter=" ")}
        assert rows["lgn_off_to_ex_off"]["model_template"] == "stdp_synapse"
        assert rows["lgn_on_to_ex_on"]["model_template"] == "static_synapse"
        rule = json.loads(
            (net / "components" / "synaptic_models" / rows["lgn_off_to_ex_off"]["dynamics_params"]).read_text()
        )
        assert rule["Wmax"] == 12.0 and rule["lambda"] > 0
        tau = json.loads((net / "components" / "point_neuron_models" / "ex_off.json").read_text())["tau_minus"]
        assert tau > 0  # the rule's postsynaptic trace belongs to the target neurons in NEST
        with h5py.File(folder / "weights.h5", "r") as w, h5py.File(net / "edges.h5", "r") as e:
            g = e["edges/lgn_off_to_ex_off"]
            got = dict(zip(zip(g["source_node_id"][()], g["target_node_id"][()]), g["0/syn_weight"][()]))
            want = dict(
                zip(
                    zip(
                        w["edges/lgn_off_to_ex_off/source_node_id"][()], w["edges/lgn_off_to_ex_off/target_node_id"][()]
                    ),
                    w["edges/lgn_off_to_ex_off/0/syn_weight"][()],
                )
            )
        assert got == want, engine
        assert len({round(x, 9) for x in got.values()}) > 10  # they learnt: not the initial 6 mV everywhere


@pytest.mark.nest
def test_export_then_run_gives_the_same_spikes(runs, tmp_path):
    """``spiking run --network`` runs the exported file: the same synapses and every spike the same."""
    folder, net = runs["nest"]
    cfg = tmp_path / "same.toml"
    shutil.copy(folder / "config.toml", cfg)
    proc = run_cli(
        "run",
        cfg,
        "--network",
        net,
        "--no-render",
        "--no-progress",
        "-q",
        "--set",
        f"run.output_dir='{tmp_path / 'out'}'",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    again = Path(proc.stdout.strip().splitlines()[-1])
    m = json.loads((again / "manifest.json").read_text())
    assert m["network"]["source"] == "file" and m["network"]["path"] == str(net.resolve())
    assert m["synapses"] == json.loads((folder / "manifest.json").read_text())["synapses"]
    assert spikes_of(again) == spikes_of(folder)


def _one_line(proc, pattern: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert re.fullmatch(rf"spiking: error: {pattern}", lines[0]), lines[0]


@pytest.mark.nest
def test_a_network_file_that_does_not_fit_is_refused_in_one_line(runs, tmp_path):
    """Another config, a changed file, or no network at all: one line, exit 2, and no run folder."""
    folder, net = runs["nest"]
    out = tmp_path / "out"

    def run(*args):
        return run_cli(
            "run",
            folder / "config.toml",
            "--no-render",
            "--no-progress",
            "-q",
            "--set",
            f"run.output_dir='{out}'",
            *args,
            cwd=tmp_path,
        )

    _one_line(
        run("--network", net, "--set", "projections.ex_on_to_ex_on.radius=0.5"),
        r"edge population ex_on_to_ex_on: \d+ edges outside the config's mask",
    )
    _one_line(
        run("--network", net, "--set", "network.neurons_per_minicolumn=10"),
        r"node population \w+ has \d+ nodes, the config's layer \d+",
    )
    _one_line(
        run("--network", net, "--set", "projections.in_on_to_ex_on.weight=-3.0"),
        r"edge population in_on_to_ex_on: weights -2 to -2 mV, the config's -3 mV",
    )
    _one_line(run("--network", tmp_path), r".*circuit_config.json: cannot be read \(No such file or directory\)")
    broken = tmp_path / "broken"
    shutil.copytree(net, broken)
    with h5py.File(broken / "edges.h5", "r+") as h5:
        d = h5["edges/ex_on_to_ex_on/0/delay"]
        d[0] = d[0] + 0.05
    _one_line(run("--network", broken), r"edge population ex_on_to_ex_on: delays off the 0.1 ms time grid")
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.nest
def test_sonata_circuit_opens_everywhere_it_should(runs):
    """libsonata opens the circuit and the inputs; node sets name every population; indices answer queries."""
    folder, net = runs["nest"]
    config = libsonata.CircuitConfig.from_file(str(net / "circuit_config.json"))
    model = build_model(spiking.open_run(folder).config)
    assert config.node_populations == set(model.layers)
    sets = libsonata.NodeSets.from_file(str(net / "node_sets.json"))
    assert set(sets.names) == set(model.layers)
    pop = config.edge_population("in_on_to_ex_on")
    targets = [0, 7, 99]
    edges = pop.afferent_edges(targets)
    assert set(pop.target_nodes(edges).tolist()) <= set(targets) and edges.flat_size > 0
    for name in ("lgn_on", "lgn_off"):
        assert libsonata.SpikeReader(str(net / "inputs" / f"{name}.h5"))[name].get()


@pytest.mark.nest
@pytest.mark.slow
def test_the_drawn_network_and_nests_own_sampling_give_the_same_v1_over_seeds(tmp_path):
    """``network.wiring = "model"`` against ``"engine"`` (NEST's spatial connect), five seeds each.

    One hypercolumn at the default density, 300 ms: per-layer mean V1 rates agree within 10% or 3
    standard errors, synapses per projection (summed over seeds) within 1% or 3 standard deviations of
    chance (:mod:`spiking.validate.compare`).
    """
    from spiking.config import from_mapping
    from spiking.run import run
    from spiking.validate.compare import compare_counts, compare_rates

    rates: dict = {"model": {}, "engine": {}}
    counts: dict = {"model": {}, "engine": {}}
    for wiring, by_layer in rates.items():
        for seed in range(1, 6):
            cfg = from_mapping(
                {
                    "network": {"hypercolumns": 1, "wiring": wiring},
                    "run": {"simulation_time": 300.0, "threads": 2, "seed": seed, "output_dir": str(tmp_path)},
                    "stimulus": {"switch_every": 100.0},
                }
            )
            m = run(cfg, progress=False, quiet=True).manifest
            for layer, s in m["spikes"].items():
                by_layer.setdefault(layer, []).append(s["mean_rate_hz"])
            for name, n in m["synapses"].items():
                counts[wiring][name] = counts[wiring].get(name, 0) + n
    for r in compare_rates(rates["engine"], rates["model"]):
        assert r.mean_a > 0.5 and r.agree, r
    for c in compare_counts(counts["engine"], counts["model"]):
        assert c.agree, c
