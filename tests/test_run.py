"""End to end: `spiking run` on real NEST, its run folder, reproducibility, the stimulus reaching V1, bad input."""

import json
import tomllib
from pathlib import Path

import h5py
import numpy as np
import pytest

from conftest import run_cli, tiny
from spiking.config import from_mapping, to_toml
from spiking.io.spikefile import load_spikes, sorting_of
from spiking.model.network import build_model


def _write_config(path: Path, data: dict) -> Path:
    path.write_text(to_toml(from_mapping(data)))
    return path


def _run(tmp_path, data, *extra, name="c.toml"):
    cfg = _write_config(
        tmp_path / name, {**data, "run": {**data.get("run", {}), "output_dir": str(tmp_path / "output")}}
    )
    proc = run_cli("run", cfg, "--no-progress", *extra, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    folder = Path(proc.stdout.strip().splitlines()[-1])
    return folder, proc


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


def test_preview_writes_pngs_without_a_network(tmp_path):
    from PIL import Image

    proc = run_cli("preview", "--preset", "small", "--out", tmp_path / "prev", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    names = sorted(p.name for p in (tmp_path / "prev").glob("*.png"))
    assert names == sorted(["preview.png"] + [f"pattern{i}-{k}.png" for i in (0, 1) for k in ("on", "off", "stimulus")])
    with Image.open(tmp_path / "prev" / "pattern0-on.png") as im:
        assert im.size[0] == im.size[1] >= 32


def test_config_command_prints_resolved_toml(tmp_path):
    proc = run_cli("config", "--defaults")
    assert proc.returncode == 0
    data = tomllib.loads(proc.stdout)
    assert data["network"]["hypercolumns"] == 9 and "# [ms]" in proc.stdout
    proc = run_cli("config", "--preset", "small", "--set", "run.seed=4")
    assert tomllib.loads(proc.stdout)["run"]["seed"] == 4


@pytest.mark.parametrize(
    "args, words",
    [
        (["--set", "network.hypercolumn=4"], "network.hypercolumn: unknown key; valid keys here"),
        (["--set", "network.hypercolumns=8"], "network.hypercolumns: must be a square number"),
        (["--set", "network.hypercolumns='four'"], "network.hypercolumns: must be an integer, got 'four'"),
        (["--set", "retina.max_rate=-1"], "retina.max_rate: must be >= 0, got -1"),
        (
            ["--set", "network.exposed_hypercolumns=2"],
            "network.exposed_hypercolumns: must be <= network.hypercolumns (1), got 2",
        ),
        (["--set", "stimulus.patterns=['missing.png']"], "missing.png: image not found"),
        (["--set", "stimulus.patterns=['bad.png']"], "bad.png: image cannot be read"),
        (["nofile.toml"], "nofile.toml: config file not found"),
        (["--preset", "tiny"], "--preset: unknown preset 'tiny'; available: small, default"),
    ],
)
def test_bad_input_one_line_exit_2_no_run(tmp_path, args, words):
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    proc = run_cli(
        "run",
        "--preset",
        "small",
        "--no-progress",
        "--set",
        f"run.output_dir='{tmp_path / 'out'}'",
        *args,
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("spiking: error: ") and words in lines[0], proc.stderr
    assert not any((tmp_path / "out").rglob("manifest.json"))


def test_unwritable_output_folder(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    proc = run_cli(
        "run", "--preset", "small", "--no-progress", "--set", f"run.output_dir='{blocker / 'sub'}'", cwd=tmp_path
    )
    assert proc.returncode == 2 and "output folder cannot be created" in proc.stderr and "Traceback" not in proc.stderr


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
