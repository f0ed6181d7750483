"""The network as data, end to end on the real engines: drawn once, the same on NEST and Brian2, written as SONATA,
run again from the file; a file that does not fit is refused in one line.

One tiny run with pre-drawn trains and a plastic LGN -> V1 projection on each engine (100 ms); everything
through the command line.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import h5py
import numpy as np
import pytest

import spiking
from conftest import formats_config, make_real_run, run_cli
from spiking.config import from_mapping, to_toml
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


def _one_line(proc, pattern: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert re.fullmatch(rf"spiking: error: {pattern}", lines[0]), lines[0]


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
@pytest.mark.brian2
def test_validate_command_on_this_network(runs, cli, tmp_path):
    """``spiking validate`` on this file's network (the Brian2 program compiled for ``runs``), one seed.

    The model draws the network and the retina's trains, so the engines must give the very same
    spikes; the folder holds the tables and the manifest says so; exit 0.
    """
    cfg = tmp_path / "shared.toml"
    cfg.write_text(to_toml(from_mapping(data("nest"))))
    proc = cli("validate", cfg, "--seeds", "1", "--set", f"run.output_dir='{tmp_path / 'out'}'", "-q", timeout=900)
    assert proc.returncode == 0, proc.stderr
    folder = tmp_path / "out" / proc.stdout.strip().splitlines()[-1].split("/")[-1]
    m = json.loads((folder / "manifest.json").read_text())
    assert m["engines"] == ["nest", "brian2"] and m["seeds"] == [1] and m["agree"] is True
    assert m["compared"] == "spike for spike" and m["identical_spikes"] is True
    spikes = list(csv.DictReader(open(folder / "spikes_compared.csv")))
    assert spikes and all(r["identical"] == "True" for r in spikes)
    assert sum(int(r["nest_spikes"]) for r in spikes) > 100
