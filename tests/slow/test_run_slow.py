"""End to end: `spiking run` on real NEST, its run folder, reproducibility, the stimulus reaching V1, bad input: the slow part (``make test-slow``); the rest is in ``tests/test_run.py``."""

import json
import tomllib
from pathlib import Path

import h5py
import numpy as np
import pytest

from conftest import run_cli, tiny
from spiking.config import from_mapping
from spiking.io.spikefile import load_spikes, sorting_of
from spiking.model.network import build_model
from test_run import _run


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("run")
    # one hypercolumn at the default density (retina 55x55 over 1x1 units), 400 ms
    data = tiny(
        network={"neurons_per_minicolumn": 30, "minicolumn_side": 10},
        run={"simulation_time": 400.0, "seed": 21, "threads": 2},
    )
    return _run(tmp, data)


def test_run_folder_holds_everything(small_run):
    folder, proc = small_run
    assert folder.is_dir() and folder.parent.name == "output"
    assert folder.name[:8].isdigit() and folder.name[8] == "-"  # starts with the date
    for line in ("build", "connect", "simulate", "write"):
        assert any(ln.startswith(line) for ln in proc.stderr.splitlines()), proc.stderr
    m = json.loads((folder / "manifest.json").read_text())
    assert m["status"] == "complete" and m["t_reached_ms"] == 400.0
    assert m["versions"]["nest"].startswith("3.") and m["versions"]["spiking"]
    assert m["threads"] == 2 and m["processes"] == 1 and m["seed"] == 21
    assert set(m["timings_s"]) >= {"build", "connect", "simulate", "write", "total"}
    assert m["neurons"]["ex_on"] == 49 * 49 and m["neurons"]["in_on"] == 25 * 25 and m["neurons"]["lgn_on"] == 55 * 55
    # the relay's spikes are pre-drawn trains: no retina layers, no retina -> relay projections
    assert m["retina_source"] == "trains" and "retina_on" not in m["neurons"]
    assert len(m["synapses"]) == 16 and "retina_on_to_lgn_on" not in m["synapses"]
    spikes = load_spikes(folder / "spikes.h5")
    assert set(spikes) == {"ex_on", "ex_off", "in_on", "in_off"}
    for name, s in spikes.items():
        assert m["spikes"][name]["count"] == len(s.times)
        rate = len(s.times) / (s.n_nodes * 0.4)
        assert m["spikes"][name]["mean_rate_hz"] == pytest.approx(rate, rel=1e-3)
        assert np.all(np.diff(s.times) >= 0) and (len(s.times) == 0 or s.times.max() <= 400.0)
        assert s.node_ids.max(initial=0) < s.n_nodes
    with h5py.File(folder / "spikes.h5") as h5:  # plain h5py, SONATA layout
        g = h5["spikes/ex_on"]
        assert sorting_of(g) == "by_time" and g["timestamps"].attrs["units"] == "ms"
        assert h5["nodes/ex_on/positions"].shape == (49 * 49, 2)
    sched = (folder / "schedule.csv").read_text().splitlines()
    assert sched[0] == "start_ms,stop_ms,pattern" and sched[1] == "0,100,pattern0" and len(sched) == 5
    assert sorted(p.name for p in (folder / "retina").glob("*-on.png")) == [
        f"{t:06d}.0ms-on.png" for t in (0, 100, 200, 300)
    ]
    cfg = tomllib.loads((folder / "config.toml").read_text())
    assert cfg["run"]["threads"] == 2 and cfg["run"]["seed"] == 21


def test_stimulus_reaches_v1(small_run):
    """V1 neurons under a pattern's ON (OFF) region fire more during its epochs than neurons away from it.

    "Under" is within 0.03 units of a retina cell driven above 50 Hz; "away"
    is beyond 0.1 units (the LGN->V1 mask radius). Observed: ~1 spike per
    neuron under against < 0.01 away; required: at least 5 times more.
    """
    folder, _ = small_run
    cfg = from_mapping(tomllib.loads((folder / "config.toml").read_text()))
    model = build_model(cfg)
    from spiking.model.geometry import grid_positions, image_to_nodes

    rpos = grid_positions(model.sizes.retina_side, model.sizes.extent)
    for layer, kind in (("ex_on", "rates_on"), ("ex_off", "rates_off")):
        spikes = load_spikes(folder / "spikes.h5")[layer]
        for pattern in ("pattern0", "pattern1"):
            hot = rpos[image_to_nodes(getattr(model.stimuli[pattern], kind)) > 50]
            d = np.min(np.linalg.norm(spikes.positions[:, None, :] - hot[None, :, :], axis=2), axis=1)
            near, far = d < 0.03, d > 0.1
            in_epoch = np.zeros(len(spikes.times), bool)
            for ep in model.schedule:
                if ep.pattern == pattern:
                    in_epoch |= (spikes.times > ep.start) & (spikes.times <= ep.stop)
            counts = np.bincount(spikes.node_ids[in_epoch], minlength=spikes.n_nodes)
            assert near.sum() >= 20 and far.sum() >= 20
            assert counts[near].mean() > 5 * counts[far].mean() + 0.1, (
                layer,
                pattern,
                counts[near].mean(),
                counts[far].mean(),
            )


def test_same_seed_same_spikes_other_seed_other_spikes(tmp_path, small_run):
    folder, _ = small_run
    # repeat the run from its own config.toml
    again = run_cli(
        "run", folder / "config.toml", "--no-progress", "--set", f"run.output_dir='{tmp_path}'", cwd=tmp_path
    )
    assert again.returncode == 0, again.stderr
    f2 = Path(again.stdout.strip().splitlines()[-1])
    assert f2 != folder
    other = run_cli(
        "run",
        folder / "config.toml",
        "--no-progress",
        "--set",
        f"run.output_dir='{tmp_path}'",
        "--set",
        "run.seed=22",
        cwd=tmp_path,
    )
    f3 = Path(other.stdout.strip().splitlines()[-1])
    a, b, c = (load_spikes(f / "spikes.h5") for f in (folder, f2, f3))
    for name in a:
        assert np.array_equal(a[name].times, b[name].times) and np.array_equal(a[name].node_ids, b[name].node_ids)
    assert any(len(a[n].times) != len(c[n].times) or not np.array_equal(a[n].times, c[n].times) for n in a)


def test_env_file_run_says_what_it_mapped(tmp_path):
    env = tmp_path / ".env"
    env.write_text(
        "HYPER_COLUMNS=1\nTOTAL_NEURONS_PER_COMBINED_COLUMN_LAYER=5\nWIDTH_HEIGHT_HYPER_COLUMN=3\nSIMULATION_TIME=20\nCHANGE_PATTERN_STEP=10\nLOCAL_NUM_THREADS=1\n"
    )
    proc = run_cli("run", "--env", env, "--no-progress", "--set", f"run.output_dir='{tmp_path / 'out'}'", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert ".env: HYPER_COLUMNS -> network.hypercolumns = 1" in proc.stderr
    m = json.loads((Path(proc.stdout.strip()) / "manifest.json").read_text())
    assert m["simulation_time_ms"] == 20.0 and m["status"] == "complete"
    assert any("SIMULATION_TIME" in n for n in m["notes"])
