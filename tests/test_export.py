"""A run in other tools' formats, read back by those tools: spikes.h5 by libsonata, NWB by pynwb and nwbinspector,
the SONATA network by libsonata against the network NEST builds; bad input in one line.

All on real tiny runs (NEST), exported through the command line.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

import spiking
from conftest import connect, run_cli
from spiking.io.runfolder import write_manifest
from spiking.io.spikefile import load_spikes
from spiking.model.network import build_model

libsonata = pytest.importorskip("libsonata")
pynwb = pytest.importorskip("pynwb")


@pytest.fixture(scope="module")
def folder(formats_run, tmp_path_factory):
    """A copy of the shared run (exports note themselves in its manifest)."""
    out = tmp_path_factory.mktemp("export") / formats_run.name
    shutil.copytree(formats_run, out)
    return out


@pytest.fixture(scope="module")
def nwb_file(folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("nwb")
    proc = run_cli("export", folder, "--nwb", "--out", out)
    assert proc.returncode == 0, proc.stderr
    path = Path(proc.stdout.strip().splitlines()[-1])
    assert path == out / f"{folder.name}.nwb" and path.is_file()
    return path


@pytest.fixture(scope="module")
def network_dir(folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("sonata")
    proc = run_cli("export", folder, "--sonata-network", "--out", out)
    assert proc.returncode == 0, proc.stderr
    config = Path(proc.stdout.strip().splitlines()[-1])
    assert config == out / "network" / "circuit_config.json"
    return config.parent


@pytest.fixture(scope="module")
def network(network_dir):
    return libsonata.CircuitConfig.from_file(str(network_dir / "circuit_config.json"))


# ---- spikes.h5 with libsonata ------------------------------------------------------------------


def test_spikes_h5_opens_with_libsonata(folder):
    ours = load_spikes(folder / "spikes.h5")
    reader = libsonata.SpikeReader(str(folder / "spikes.h5"))
    assert sorted(reader.get_population_names()) == sorted(ours)
    for name, s in ours.items():
        pop = reader[name]
        assert pop.sorting == "by_time"
        d = pop.get_dict()
        assert np.array_equal(d["node_ids"].astype(np.int64), s.node_ids) and np.array_equal(d["timestamps"], s.times)
        k = int(np.bincount(s.node_ids).argmax())  # libsonata's own selection by node and time
        got = pop.get(node_ids=[k], tstart=100.0, tstop=300.0)
        mine = s.times[(s.node_ids == k) & (s.times >= 100.0) & (s.times <= 300.0)]
        assert [t for _, t in got] == pytest.approx(list(mine))


# ---- NWB -----------------------------------------------------------------------------------------


def test_nwb_holds_units_epochs_images_and_config(folder, nwb_file):
    run = spiking.open_run(folder)
    with pynwb.NWBHDF5IO(str(nwb_file), "r") as io:
        nwb = io.read()
        units = nwb.units.to_dataframe()
        assert len(units) == sum(run.spikes[n].n_nodes for n in run.layers)
        for name in run.layers:
            s = run.spikes[name]
            rows = units[units["layer"] == name]
            assert rows["node_id"].tolist() == list(range(s.n_nodes))
            assert np.allclose(rows["x"], s.positions[:, 0]) and np.allclose(rows["y"], s.positions[:, 1])
            assert rows["row"].tolist() == s.row.tolist() and rows["col"].tolist() == s.col.tolist()
            for k, times in zip(rows["node_id"], rows["spike_times"]):
                assert np.allclose(np.asarray(times) * 1000.0, s.times[s.node_ids == k], atol=1e-9)
        assert nwb.units.resolution == pytest.approx(1e-4)
        epochs = nwb.epochs.to_dataframe()
        assert epochs["pattern"].tolist() == [e.pattern for e in run.schedule]
        assert np.allclose(epochs["start_time"], [e.start / 1000 for e in run.schedule])
        assert np.allclose(epochs["stop_time"], [e.stop / 1000 for e in run.schedule])
        model = build_model(run.config)
        patterns = nwb.stimulus_template["patterns"]
        for p in run.patterns:
            assert np.array_equal(patterns.images[p].data[()], model.stimuli[p].image)
            rates = nwb.processing["misc"]["retina_rates"]
            assert np.allclose(rates.images[f"{p}_on"].data[()], model.stimuli[p].rates_on)
        shown = nwb.stimulus["stimulus"]
        assert shown.data[()].tolist() == [run.patterns.index(e.pattern) for e in run.schedule]
        assert shown.rate == pytest.approx(10.0)  # an epoch every 100 ms
        assert nwb.notes.endswith((folder / "config.toml").read_text())
        assert json.loads(nwb.data_collection.split("\n", 1)[1])["run_id"] == folder.name
        assert nwb.session_start_time.isoformat() == run.manifest["started"]
    m = json.loads((folder / "manifest.json").read_text())
    assert m["exports"]["nwb"]["file"] == str(nwb_file) and m["exports"]["nwb"]["bytes"] == nwb_file.stat().st_size


def test_nwb_passes_nwbinspector(nwb_file):
    nwbinspector = pytest.importorskip("nwbinspector")
    messages = list(nwbinspector.inspect_nwbfile(nwbfile_path=str(nwb_file)))
    critical = [m for m in messages if m.importance.name == "CRITICAL"]
    assert critical == [], [f"{m.check_function_name}: {m.message}" for m in critical]
    # what is left, and why (docs/formats.md): no experimenter or institution; no species for a simulation
    assert {m.check_function_name for m in messages} <= {
        "check_experimenter_exists",
        "check_institution",
        "check_subject_species_exists",
    }


def test_nwb_is_written_atomically(folder, tmp_path, monkeypatch):
    """A write that fails half-way leaves neither the file nor its temporary name."""
    from spiking.export.nwb import export_nwb

    run = spiking.open_run(folder)

    def fail(self, container, **kwargs):
        (tmp_path / f".{folder.name}.partial-marker").write_text("")
        raise RuntimeError("disk gone")

    monkeypatch.setattr(pynwb.NWBHDF5IO, "write", fail)
    with pytest.raises(RuntimeError, match="disk gone"):
        export_nwb(run, tmp_path / "x.nwb")
    assert sorted(p.name for p in tmp_path.iterdir()) == [f".{folder.name}.partial-marker"]


# ---- the SONATA network -------------------------------------------------------------------------


def test_sonata_nodes_are_the_layers(folder, network, network_dir):
    """A node population per layer at the run's positions; node types name NEST's models and parameters."""
    import csv

    m = json.loads((folder / "manifest.json").read_text())
    assert network.node_populations == set(m["neurons"])
    spikes = load_spikes(folder / "spikes.h5")
    cfg = spiking.open_run(folder).config
    for name, n in m["neurons"].items():
        pop = network.node_population(name)
        assert pop.size == n
        sel = libsonata.Selection([[0, n]])
        xy = np.column_stack([pop.get_attribute("x", sel), pop.get_attribute("y", sel)])
        if name in spikes:
            assert np.array_equal(xy, spikes[name].positions)
            assert np.array_equal(pop.get_attribute("row", sel), spikes[name].row)
        kind = network.node_population_properties(name).type
        assert kind == ("virtual" if name.startswith("retina") else "point_neuron")
    with h5py.File(network_dir / "nodes.h5", "r") as h5:
        assert np.array_equal(h5["nodes/ex_on/node_id"][()], np.arange(m["neurons"]["ex_on"]))
        assert "dynamics_params" not in h5["nodes/ex_on/0"]  # parameters are per node type (NEST reads them so)
    rows = {r["pop_name"]: r for r in csv.DictReader(open(network_dir / "node_types.csv"), delimiter=" ")}
    assert (
        rows["ex_on"]["model_template"] == "nest:izhikevich"
        and rows["lgn_on"]["model_template"] == "nest:parrot_neuron"
    )
    params = json.loads(
        (network_dir / "components" / "point_neuron_models" / rows["in_off"]["dynamics_params"]).read_text()
    )
    assert params["a"] == cfg.neurons.inhibitory.a and params["V_th"] == cfg.neurons.inhibitory.v_peak
    assert params["consistent_integration"] is True
    virtual = (network_dir / "virtual_node_types.csv").read_text().splitlines()
    assert virtual[0].split() == ["node_type_id", "model_type", "model_template", "pop_name"]  # no parameter file
    sim = json.loads((network_dir / "simulation_config.json").read_text())
    assert sim["run"] == {"tstop": 400.0, "dt": 0.1, "random_seed": 7}
    # generators: the retina's spikes are the relay's one delay earlier, known only where the relay was recorded
    assert set(sim["inputs"]) == {"retina_on_spikes"} and "retina_off" in sim["comment"]
    with h5py.File(network_dir / "inputs" / "retina_on.h5", "r") as h5:
        t = h5["spikes/retina_on/timestamps"][()]
        assert h5["spikes/retina_on/timestamps"].attrs["units"] == "ms" and np.all(np.diff(t) >= 0)
    np.testing.assert_allclose(np.sort(t), np.sort(spikes["lgn_on"].times - 1.0), atol=1e-9)


def test_sonata_edges_are_what_nest_builds(folder, network):
    """Edge counts equal the manifest; sampled targets' inputs equal what NEST builds again, asked another way."""
    from spiking.engines import get_engine

    run = spiking.open_run(folder)
    m = run.manifest
    assert network.edge_populations == set(m["synapses"])
    for name, count in m["synapses"].items():
        assert network.edge_population(name).size == count
    model = build_model(run.config, stimuli=False)
    engine = get_engine("nest")
    engine.setup(model, m["engine"]["virtual_processes"])
    engine.build()
    connect(engine, model)
    rng = np.random.default_rng(5)
    checked = 0
    for p in model.projections:
        pop = network.edge_population(p.name)
        assert (pop.source, pop.target) == (p.source, p.target)
        targets = np.sort(rng.choice(model.layers[p.target].size, size=6, replace=False))
        src, tgt = engine.incoming(p.target, targets).get(p.source, (np.zeros(0, int), np.zeros(0, int)))
        edges = pop.afferent_edges(targets.tolist())
        got = sorted(zip(pop.source_nodes(edges).tolist(), pop.target_nodes(edges).tolist()))
        assert got == sorted(zip(src.tolist(), tgt.tolist())), p.name
        checked += len(got)
        weights = pop.get_attribute("syn_weight", edges)
        assert np.all(weights == p.weight), p.name
        # delays: delay + delay_per_unit * distance, on NEST's 0.1 ms grid
        s_xy = model.layers[p.source].positions()[pop.source_nodes(edges)]
        t_xy = model.layers[p.target].positions()[pop.target_nodes(edges)]
        expected = p.delay + p.delay_per_unit * np.linalg.norm(s_xy - t_xy, axis=1)
        assert np.all(np.abs(pop.get_attribute("delay", edges) - expected) <= 0.05 + 1e-9), p.name
    assert checked > 500  # observed about 1,350 edges into the 6 x 18 sampled targets
    # the distance-dependent delays are really there
    pop = network.edge_population("ex_on_to_ex_on")
    assert np.ptp(pop.get_attribute("delay", libsonata.Selection([[0, pop.size]]))) > 1.0


def test_sonata_indices_are_libsonatas(network, network_dir, tmp_path):
    """Our index of a population equals the one libsonata writes for the same edges."""
    path = network_dir / "edges.h5"
    copy = tmp_path / "edges.h5"
    with h5py.File(path, "r") as src, h5py.File(copy, "w") as dst:
        g = dst.create_group("edges/in_on_to_ex_on")
        for key in ("source_node_id", "target_node_id", "edge_type_id"):
            src.copy(src[f"edges/in_on_to_ex_on/{key}"], g, key)
        ours = {
            k: src[f"edges/in_on_to_ex_on/indices/{k}"][()]
            for k in (
                "source_to_target/node_id_to_ranges",
                "source_to_target/range_to_edge_id",
                "target_to_source/node_id_to_ranges",
                "target_to_source/range_to_edge_id",
            )
        }
    n_source = network.node_population("in_on").size
    n_target = network.node_population("ex_on").size
    libsonata.EdgePopulation.write_indices(str(copy), "in_on_to_ex_on", n_source, n_target)
    with h5py.File(copy, "r") as h5:
        for key, value in ours.items():
            assert np.array_equal(h5[f"edges/in_on_to_ex_on/indices/{key}"][()], value), key


# ---- bad input: one line, exit status 2 ---------------------------------------------------------


def _one_line_error(proc, pattern: str) -> None:
    import re

    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert re.fullmatch(rf"spiking: error: {pattern}", lines[0]), lines[0]


def test_sonata_refuses_a_network_that_differs_from_the_run(folder, tmp_path):
    copy = tmp_path / "changed"
    shutil.copytree(folder, copy, ignore=shutil.ignore_patterns("network"))
    m = json.loads((copy / "manifest.json").read_text())
    m["synapses"]["in_on_to_in_on"] += 1
    write_manifest(copy, m)
    proc = run_cli("export", copy, "--sonata-network", "-q")
    n = m["synapses"]["in_on_to_in_on"]
    _one_line_error(
        proc,
        rf".*changed: the drawn network differs from the run's \(in_on_to_in_on: {n - 1} synapses, the run had {n}\); "
        r"it needs the run's config and seed",
    )
    assert sorted(p.name for p in copy.iterdir() if "network" in p.name) == []  # nothing half-written


def test_export_bad_input_is_one_line(folder, tmp_path):
    _one_line_error(run_cli("export", tmp_path, "--nwb"), r".*: not a run folder \(no manifest.json\)")
    _one_line_error(run_cli("export", folder), r"export: say what to write: --nwb, --sonata-network or both")
    _one_line_error(
        run_cli("export", folder, "--nwb", "--zip"), r"unrecognized arguments: --zip \(see `spiking --help`\)"
    )
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    _one_line_error(
        run_cli("export", folder, "--nwb", "--out", blocker / "sub"),
        r".*a-file/sub: export folder cannot be created \(Not a directory\)",
    )
    cut = tmp_path / "cut"
    shutil.copytree(folder, cut, ignore=shutil.ignore_patterns("network"))
    m = json.loads((cut / "manifest.json").read_text())
    m.update(status="interrupted", signal="SIGTERM", t_reached_ms=150.0)
    write_manifest(cut, m)
    _one_line_error(
        run_cli("export", cut, "--nwb"),
        r".*cut: the run did not complete \(status interrupted\); only a complete run exports",
    )
    assert not list(cut.glob("*.nwb"))
