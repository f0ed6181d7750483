"""spiking.open_run and Run.to_neo on a real tiny run: what they return equals the run folder's files, bad folders fail in one line."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tomllib

import numpy as np
import pytest

import spiking
from spiking.errors import RunFolderError
from spiking.io.runfolder import read_schedule, write_manifest
from spiking.io.spikefile import load_spikes


@pytest.fixture(scope="module")
def run(formats_run):
    return spiking.open_run(formats_run)


def test_import_spiking_stays_light():
    """``import spiking`` pulls in neither the simulator nor neo, elephant, pynwb or h5py; open_run is there."""
    code = (
        "import sys, spiking; heavy = [m for m in ('nest', 'neo', 'elephant', 'pynwb', 'h5py', 'numpy') "
        "if m in sys.modules]; print(heavy); assert callable(spiking.open_run)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_open_run_holds_the_folder(run, formats_run):
    m = json.loads((formats_run / "manifest.json").read_text())
    cfg = tomllib.loads((formats_run / "config.toml").read_text())
    assert run.manifest == m and run.status == "complete" and run.complete
    assert run.run_id == formats_run.name and run.t_stop == 400.0
    assert run.config.run.seed == cfg["run"]["seed"] == 7 and run.config.network.minicolumn_side == 4
    assert run.engine == "nest" and run.retina_source == "generators"
    assert [(e.start, e.stop, e.pattern) for e in run.schedule] == read_schedule(formats_run)
    assert run.patterns == ["pattern0", "pattern1"]
    assert run.layers == ["lgn_on", "ex_on", "ex_off", "in_on", "in_off"]
    files = load_spikes(formats_run / "spikes.h5")
    for name in run.layers:
        a, b = run.spikes[name], files[name]
        assert np.array_equal(a.node_ids, b.node_ids) and np.array_equal(a.times, b.times)
        assert a.n_nodes == m["neurons"][name] and len(a.times) == m["spikes"][name]["count"]
    with pytest.raises(KeyError, match="'retina_on' is not recorded .*recorded: lgn_on, ex_on"):
        run.spikes["retina_on"]


def test_to_neo_has_a_train_per_neuron_with_its_place(run):
    import neo
    import quantities as pq

    block = run.to_neo()
    assert isinstance(block, neo.Block) and len(block.segments) == 1
    seg = block.segments[0]
    assert len(seg.spiketrains) == sum(run.spikes[n].n_nodes for n in run.layers)
    assert [g.name for g in block.groups] == run.layers
    assert block.annotations["engine"] == "nest" and block.annotations["seed"] == 7
    for group in block.groups:
        s = run.spikes[group.name]
        assert len(group.spiketrains) == s.n_nodes
        for st in group.spiketrains:
            k = st.annotations["node_id"]
            assert st.annotations["layer"] == group.name
            assert (st.annotations["row"], st.annotations["col"]) == (s.row[k], s.col[k])
            assert st.annotations["position"] == pytest.approx(tuple(s.positions[k]))
            assert st.t_start == 0 * pq.ms and st.t_stop == 400 * pq.ms and st.units == pq.ms
            # exactly this neuron's spikes, in time order
            assert np.array_equal(st.magnitude, s.times[s.node_ids == k])
    (epochs,) = seg.epochs
    assert list(epochs.labels) == [e.pattern for e in run.schedule]
    assert np.allclose(epochs.times.rescale("ms").magnitude, [e.start for e in run.schedule])
    assert np.allclose(epochs.durations.rescale("ms").magnitude, [e.stop - e.start for e in run.schedule])


def test_to_neo_goes_into_elephant(run):
    """A train from to_neo is what Elephant takes: its mean rate is the neuron's spike count over 0.4 s."""
    import quantities as pq
    from elephant.statistics import mean_firing_rate

    block = run.to_neo(layers=["ex_on"])
    assert [g.name for g in block.groups] == ["ex_on"]
    s = run.spikes["ex_on"]
    counts = np.bincount(s.node_ids, minlength=s.n_nodes)
    rates = [float(mean_firing_rate(st).rescale(pq.Hz)) for st in block.segments[0].spiketrains]
    assert np.allclose(rates, counts / 0.4)
    with pytest.raises(KeyError, match="'retina_on' is not recorded"):
        run.to_neo(layers=["retina_on"])


def test_an_interrupted_run_opens_up_to_where_it_got(formats_run, tmp_path):
    folder = tmp_path / "cut"
    shutil.copytree(formats_run, folder)
    m = json.loads((folder / "manifest.json").read_text())
    m.update(status="interrupted", signal="SIGINT", t_reached_ms=250.0)
    write_manifest(folder, m)
    run = spiking.open_run(folder)
    assert run.status == "interrupted" and not run.complete and run.t_stop == 250.0
    assert [(e.start, e.stop) for e in run.epochs()] == [(0.0, 100.0), (100.0, 200.0), (200.0, 250.0)]
    (epochs,) = run.to_neo(layers=["in_on"]).segments[0].epochs
    assert epochs.durations.magnitude[-1] == pytest.approx(50.0)


def test_bad_folders_fail_in_one_line(formats_run, tmp_path):
    with pytest.raises(RunFolderError, match=r"nowhere: not a run folder \(no such folder\)"):
        spiking.open_run(tmp_path / "nowhere")
    with pytest.raises(RunFolderError, match=r"not a run folder \(no manifest.json\)"):
        spiking.open_run(tmp_path)
    folder = tmp_path / "nospikes"
    shutil.copytree(formats_run, folder)
    (folder / "spikes.h5").unlink()
    with pytest.raises(RunFolderError, match=r"nospikes: no spikes.h5$"):
        spiking.open_run(folder)
