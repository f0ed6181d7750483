"""A run in other tools' formats, read back by those tools: spikes.h5 by libsonata, NWB by pynwb and nwbinspector,: the slow part (``make test-slow``); the rest is in ``tests/test_export.py``."""

from __future__ import annotations

import json

import numpy as np

import spiking
from conftest import formats_config, make_real_run, run_cli
from spiking.model.network import build_model
from test_export import libsonata


def test_sonata_network_with_pre_drawn_trains(tmp_path):
    """retina.source = trains: no retina layers, the LGN layers are virtual input populations."""
    folder = make_real_run(tmp_path, formats_config(retina={"source": "trains"}, run={"simulation_time": 100.0}))
    proc = run_cli("export", folder, "--sonata-network", "-q")
    assert proc.returncode == 0, proc.stderr
    assert "rebuilt" not in proc.stderr and "edges" not in proc.stderr  # -q: no progress
    config = libsonata.CircuitConfig.from_file(str(folder / "network" / "circuit_config.json"))
    m = json.loads((folder / "manifest.json").read_text())
    assert config.node_populations == set(m["neurons"]) and "retina_on" not in m["neurons"]
    assert config.node_population_properties("lgn_on").type == "virtual"
    assert config.edge_populations == set(m["synapses"]) and len(m["synapses"]) == 16
    assert m["exports"]["sonata_network"]["edges"] == m["synapses_total"]
    types = (folder / "network" / "virtual_node_types.csv").read_text().splitlines()
    assert types[0].split() == ["node_type_id", "model_type", "model_template", "pop_name"]
    assert [t.split()[1:3] for t in types[1:]] == [["virtual", "nest:spike_train_injector"]] * 2
    # the inputs: the pre-drawn trains, one SONATA spike file per virtual population, as the run drew them
    model = build_model(spiking.open_run(folder).config)
    sim = json.loads((folder / "network" / "simulation_config.json").read_text())
    assert {k: v["node_set"] for k, v in sim["inputs"].items()} == {
        "lgn_on_spikes": "lgn_on",
        "lgn_off_spikes": "lgn_off",
    }
    reader = libsonata.SpikeReader(str(folder / "network" / "inputs" / "lgn_off.h5"))
    got = reader["lgn_off"].get()
    ids, times = model.trains().window("lgn_off", 0.0, 100.0)
    assert sorted((int(i), round(t, 6)) for i, t in got) == sorted(zip(ids.tolist(), np.round(times, 6).tolist()))
