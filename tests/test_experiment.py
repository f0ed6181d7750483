"""The orientation experiment: pattern specs, the trial schedule, the analysis of a synthetic run folder, the command
(bad options; one real run of a tiny network on NEST, about 5 s)."""

from __future__ import annotations

import csv
import json
import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from conftest import run_cli, tiny
from spiking.analysis.orientation import OrientationDesign, analyse_run, write_tables
from spiking.analysis.receptive import FIELD_SNR, NoiseDesign, analyse_rf_run, write_fields
from spiking.config import from_mapping, to_toml
from spiking.errors import ConfigError, RunFolderError, StimulusError
from spiking.io.atomic import atomic_write_text
from spiking.io.runfolder import write_schedule
from spiking.io.spikefile import SpikeWriter
from spiking.model.geometry import derive_sizes
from spiking.model.protocols import grating
from spiking.model.stimulus import (
    GratingSpec,
    ScheduledEpoch,
    build_schedule,
    load_pattern,
    parse_grating,
    parse_noise,
    pattern_label,
    procedural_kind,
)

# ---- pattern specs --------------------------------------------------------------------------------


def test_a_grating_spec_parses_with_its_defaults_and_draws_protocols_grating():
    g = parse_grating("grating:orientation=45,sf=4")
    assert g == GratingSpec(45.0, 4.0, 0.0, 1.0)
    assert parse_grating(g.spec) == g
    assert parse_grating("grating:sf=2.5,contrast=0.5,phase=90,orientation=-30") == GratingSpec(-30.0, 2.5, 90.0, 0.5)
    img = load_pattern("grating:orientation=45,sf=4,phase=30,contrast=0.8", side=20)
    assert np.array_equal(img, grating(20, 45, 4, 30, 0.8))
    assert np.array_equal(load_pattern("blank", side=7), np.full((7, 7), 0.5))
    assert pattern_label(g.spec) == "grating-45deg-sf4-ph0-c1"
    assert pattern_label("blank") == "blank"
    assert procedural_kind("pattern0") is None and procedural_kind("gratings.png") is None


@pytest.mark.parametrize(
    "spec, words",
    [
        ("grating", "needs its keys"),
        ("grating:", "needs its keys"),
        ("grating:orientation=45", "'sf' is required"),
        ("grating:sf=4", "'orientation' is required"),
        ("grating:orientation=45,sf=4,ori=3", "unknown grating key 'ori'; allowed: orientation, sf, phase, contrast"),
        ("grating:orientation=45,sf=4,sf=2", "'sf' given twice"),
        ("grating:orientation=4x,sf=4", "'orientation' must be a number"),
        ("grating:orientation=nan,sf=4", "'orientation' must be a number"),
        ("grating:orientation= 45,sf=4", "'orientation' must be a number"),
        ("grating:orientation,sf=4", "'orientation' must be a number"),
        ("grating:orientation=45,sf=0", "'sf' must be > 0"),
        ("grating:orientation=45,sf=4,contrast=1.5", "'contrast' must be in [0, 1]"),
    ],
)
def test_a_bad_grating_spec_is_one_line_naming_the_key(spec, words):
    with pytest.raises(StimulusError) as err:
        parse_grating(spec)
    assert words in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(ConfigError) as err:
        from_mapping(
            {"stimulus": {"epochs": [{"pattern": "blank", "duration": 10}, {"pattern": spec, "duration": 10}]}}
        )
    assert err.value.key == "stimulus.epochs[1].pattern" and words in str(err.value)
    with pytest.raises(ConfigError) as err:
        from_mapping({"stimulus": {"patterns": [spec]}})
    assert err.value.key == "stimulus.patterns[0]"


def test_a_grating_above_the_patterns_nyquist_limit_is_refused():
    with pytest.raises(StimulusError, match="'sf' must be below half the pattern's side"):
        load_pattern("grating:orientation=0,sf=10", side=20)


def test_procedural_patterns_flow_through_the_schedule():
    cfg = from_mapping(
        {
            "run": {"simulation_time": 40.0},
            "stimulus": {
                "epochs": [
                    {"pattern": "grating:orientation=90,sf=2", "duration": 10},
                    {"pattern": "blank", "duration": 10},
                ]
            },
        }
    )
    assert [e.pattern for e in build_schedule(cfg)] == ["grating:orientation=90,sf=2", "blank"] * 2


def test_procedural_patterns_are_previewed_and_labelled_readably(tmp_path):
    from spiking.render.preview import write_preview
    from spiking.render.source import pattern_labels

    specs = ["grating:orientation=45,sf=4", "blank"]
    assert pattern_labels(specs) == {specs[0]: "grating-45deg-sf4-ph0-c1", "blank": "blank"}
    cfg = from_mapping(tiny(stimulus={"patterns": specs}))
    names = {p.name for p in write_preview(cfg, tmp_path)}
    assert {"grating-45deg-sf4-ph0-c1-stimulus.png", "blank-on.png", "preview.png"} <= names


# ---- the trial schedule ---------------------------------------------------------------------------


def test_the_design_shows_every_condition_repeats_times_in_a_seeded_order_with_blanks():
    d = OrientationDesign(
        orientations=4, sfs=(2, 4), phases=2, repeats=3, blank_trials=5, on_ms=100, blank_ms=50, seed=3
    )
    assert d.angles.tolist() == [0, 45, 90, 135]
    assert len(d.conditions()) == 4 * 2 * 2
    trials = d.trials()
    counts = Counter(trials)
    assert counts["blank"] == 5 and len(counts) == 17
    assert all(n == 3 for p, n in counts.items() if p != "blank")
    assert trials == OrientationDesign(**{**d.to_dict(), "sfs": (2, 4)}).trials()
    assert trials != OrientationDesign(**{**d.to_dict(), "seed": 4}).trials()
    assert OrientationDesign.from_dict(json.loads(json.dumps(d.to_dict()))) == d
    epochs = d.epochs()
    assert [e["pattern"] for e in epochs[::2]] == trials
    assert all(e == {"pattern": "blank", "duration": 50} for e in epochs[1::2])
    assert sum(e["duration"] for e in epochs) == d.duration_ms == (16 * 3 + 5) * 150
    assert len(OrientationDesign(blank_ms=0).epochs()) == len(OrientationDesign(blank_ms=0).trials())


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"orientations": 3}, "orientations must be even"),
        ({"orientations": 0}, "orientations must be an integer >= 2"),
        ({"repeats": 0}, "repeats must be an integer >= 1"),
        ({"blank_trials": 0}, "blank_trials must be an integer >= 1"),
        ({"sfs": ()}, "sf must be distinct numbers > 0"),
        ({"sfs": (2, 2)}, "sf must be distinct numbers > 0"),
        ({"sfs": (-1,)}, "sf must be distinct numbers > 0"),
        ({"on_ms": 0}, "on must be > 0 ms"),
        ({"blank_ms": -1}, "blank must be >= 0 ms"),
    ],
)
def test_a_bad_design_is_one_line(kwargs, words):
    with pytest.raises(StimulusError, match=words):
        OrientationDesign(**kwargs)


# ---- the analysis of a synthetic run --------------------------------------------------------------

KAPPA, PEAK, BASE = 2.0, 40.0, 2.0


def _tuned_rate(theta, sf, pref_theta, pref_sf):
    """Von Mises over orientation (period 180), half the gain away from the preferred sf (Hz)."""
    gain = np.where(sf == pref_sf, 1.0, 0.5)
    return BASE + gain * PEAK * np.exp(KAPPA * (np.cos(np.deg2rad(2 * (theta - pref_theta))) - 1))


def _synthetic_run(tmp_path, design: OrientationDesign, side=4, seed=0):
    """A run folder whose ex_on neuron k prefers orientation k % n and sf k // n % n_sf, with Poisson spikes."""
    folder = tmp_path / "run"
    folder.mkdir()
    rng = np.random.default_rng(seed)
    n = side * side
    pref_theta = design.angles[np.arange(n) % design.orientations]
    pref_sf = np.array(design.sfs)[(np.arange(n) // design.orientations) % len(design.sfs)]
    sched, t, ids, times = [], 0.0, [], []
    for e in design.epochs():
        sched.append(ScheduledEpoch(t, t + e["duration"], e["pattern"]))
        if e["pattern"] == "blank":
            rate = np.full(n, BASE)
        else:
            g = parse_grating(e["pattern"])
            rate = _tuned_rate(g.orientation, g.sf, pref_theta, pref_sf)
        k = rng.poisson(rate * e["duration"] / 1000.0)
        ids.append(np.repeat(np.arange(n), k))
        times.append(np.round(rng.uniform(t + 0.1, t + e["duration"], k.sum()), 1))
        t += e["duration"]
    cfg = from_mapping({"run": {"simulation_time": t}, "recording": {"layers": ["ex_on"]}})
    atomic_write_text(folder / "config.toml", to_toml(cfg))
    write_schedule(folder, sched)
    ids, times = np.concatenate(ids), np.concatenate(times)
    order = np.argsort(times, kind="stable")
    w = SpikeWriter(folder / "spikes.h5", {"ex_on": (side, 1.0)})
    w.append({"ex_on": (ids[order], times[order])}, t)
    w.close(complete=True)
    manifest = {
        "run_id": "run",
        "status": "complete",
        "t_reached_ms": t,
        "experiment": {"name": "orientation", "design": design.to_dict()},
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder, pref_theta, pref_sf


def test_the_analysis_recovers_a_known_tuning(tmp_path):
    design = OrientationDesign(orientations=8, sfs=(2, 4), repeats=15, blank_trials=20, on_ms=200, blank_ms=50, seed=5)
    folder, pref_theta, pref_sf = _synthetic_run(tmp_path, design)
    got, (t,) = analyse_run(folder)
    assert got == design and t.layer == "ex_on"
    assert np.array_equal(t.preferred_orientation, pref_theta)
    assert np.array_equal(t.preferred_sf, pref_sf)
    # within the sampling step: the vector angle of a von Mises curve sampled symmetrically is its centre
    d = (t.gosi_orientation - pref_theta + 90) % 180 - 90
    assert np.abs(d).max() < 180 / design.orientations / 2
    r_orth = BASE + PEAK * np.exp(-2 * KAPPA)
    true_osi = (BASE + PEAK - r_orth) / (BASE + PEAK + r_orth)
    # OSI within 4 standard errors (delta method on Poisson means over 15 trials of 0.2 s): 0.16
    r_pref, seconds = BASE + PEAK, design.repeats * design.on_ms / 1000
    s2 = (r_pref + r_orth) ** 2
    se = np.sqrt((2 * r_orth / s2) ** 2 * r_pref / seconds + (2 * r_pref / s2) ** 2 * r_orth / seconds)
    assert 0.15 < 4 * se < 0.17
    assert np.abs(t.osi - true_osi).max() < 4 * se
    assert abs(np.median(t.osi) - true_osi) < 2 * se
    assert t.responsive.all()
    assert abs(t.blank_mean.mean() - BASE) < 4 * np.sqrt(BASE / (design.blank_trials * 0.2 * 16))

    files = write_tables(folder / "experiment", [t])
    with open(files[0], newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 16 and rows[0]["layer"] == "ex_on" and "rate_22.5" in rows[0]
    assert float(rows[3]["preferred_orientation"]) == pref_theta[3]
    with open(files[1], newline="") as fh:
        (summary,) = list(csv.DictReader(fh))
    assert summary["responsive_fraction"] == "1" and int(summary["preferring_0"]) == 2
    assert abs(float(summary["median_osi"]) - true_osi) < 2 * se
    assert np.allclose(
        [[float(rows[k]["x"]), float(rows[k]["y"])] for k in (0, 1, 4)],
        [[-0.375, 0.375], [-0.375, 0.125], [-0.125, 0.375]],
    )


def test_silent_neurons_have_no_preference_and_are_not_responsive(tmp_path):
    design = OrientationDesign(orientations=2, sfs=(2,), repeats=2, blank_trials=2, on_ms=20, blank_ms=0, seed=1)
    folder, _, _ = _synthetic_run(tmp_path, design)
    import h5py

    with h5py.File(folder / "spikes.h5", "r+") as h5:  # nothing fired
        for key in ("node_ids", "timestamps"):
            h5["spikes/ex_on"][key].resize((0,))
    _, (t,) = analyse_run(folder)
    assert np.isnan(t.osi).all() and np.isnan(t.preferred_orientation).all() and not t.responsive.any()


def test_only_a_run_of_the_experiment_is_analysed(tmp_path):
    design = OrientationDesign(orientations=2, sfs=(2,), repeats=2, blank_trials=2, on_ms=20, blank_ms=10, seed=1)
    folder, _, _ = _synthetic_run(tmp_path, design)
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps({**manifest, "experiment": None}))
    with pytest.raises(RunFolderError, match="not a run of `spiking experiment orientation`"):
        analyse_run(folder)
    other = {**manifest["experiment"], "design": {**design.to_dict(), "seed": 2}}
    (folder / "manifest.json").write_text(json.dumps({**manifest, "experiment": other}))
    with pytest.raises(RunFolderError, match="does not hold the trials"):
        analyse_run(folder)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(StimulusError, match="skip must be in"):
        analyse_run(folder, skip_ms=20)


# ---- the command ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, words",
    [
        (["--orientations", "3"], "orientations must be even"),
        (["--orientations", "0"], "argument --orientations: must be >= 1"),
        (["--sf", "2", "2"], "sf must be distinct numbers > 0"),
        (["--sf", "40"], "'sf' must be below half the pattern's side"),
        (["--on", "-5"], "argument --on: must be a finite number > 0"),
        (["--blank", "x"], "argument --blank: must be a number"),
        (["--skip", "300"], "--skip must be shorter than --on (250 ms)"),
        (["--contrast", "2"], "contrast must be in (0, 1]"),
        (["--set", "run.engine=nope"], "run.engine"),
    ],
)
def test_bad_options_are_one_line_exit_2_and_no_folder(tmp_path, capsys, args, words):
    from spiking.cli import main

    out = tmp_path / "output"
    argv = ["experiment", "orientation", "--preset", "small", "--set", f'run.output_dir="{out}"', *args, "-q"]
    try:
        code = main(argv)
    except SystemExit as exit:
        code = exit.code
    err = capsys.readouterr().err
    assert code == 2 and words in err and err.count("\n") == 1, err
    assert not out.exists() or not any(out.iterdir())


def experiment_config(tmp_path, seed: int, **sections) -> Path:
    """``tmp_path/tiny.toml``: a tiny network (4 x 4 minicolumns of 20 neurons) whose LGN drives V1 hard enough to
    answer a stimulus, its runs under ``tmp_path/output``."""
    lgn = {
        name: {"weight": 6.0}
        for name in ("lgn_on_to_ex_on", "lgn_on_to_in_on", "lgn_off_to_ex_off", "lgn_off_to_in_off")
    }
    data = tiny(
        network={"minicolumn_side": 4, "neurons_per_minicolumn": 20},
        run={"output_dir": str(tmp_path / "output"), "seed": seed},
        projections=lgn,
        **sections,
    )
    cfg = tmp_path / "tiny.toml"
    cfg.write_text(to_toml(from_mapping(data)))
    return cfg


@pytest.mark.nest
def test_the_orientation_experiment_writes_its_tables_and_figures(tmp_path):
    cfg = experiment_config(tmp_path, seed=3)
    args = ["--orientations", "4", "--sf", "2", "4", "--repeats", "3", "--blank-trials", "6", "--on", "60"]
    proc = run_cli(
        "experiment", "orientation", cfg, *args, "--blank", "30", "--skip", "10", "--no-progress", "-q", cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    folder = Path(proc.stdout.strip().splitlines()[-1])
    out = folder / "experiment"
    for name in ("orientation_tuning.csv", "summary.csv", "tuning.png", "orientation_map.png"):
        assert (out / name).stat().st_size > 0, name
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["experiment"]["name"] == "orientation"
    assert manifest["experiment"]["design"]["sfs"] == [2.0, 4.0] and manifest["experiment"]["skip_ms"] == 10
    assert manifest["simulation_time_ms"] == (4 * 2 * 3 + 6) * 90
    with open(folder / "schedule.csv", newline="") as fh:
        patterns = [r["pattern"] for r in csv.DictReader(fh)]
    assert "grating:orientation=45,sf=4,phase=0,contrast=1" in patterns and patterns[1] == "blank"
    with open(out / "orientation_tuning.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["layer"] for r in rows} == {"ex_on", "ex_off", "in_on", "in_off"}
    fired = [r for r in rows if sum(float(r[f"rate_{a}"] or 0) for a in ("0", "45", "90", "135")) > 0]
    assert len(fired) > len(rows) / 2
    for r in fired:
        for key in ("osi", "gosi", "preferred_orientation", "preferred_sf", "p_value", "x", "y"):
            assert math.isfinite(float(r[key])), (key, r)
        assert float(r["preferred_orientation"]) in (0, 45, 90, 135)
    with open(out / "summary.csv", newline="") as fh:
        summary = list(csv.DictReader(fh))
    assert [s["layer"] for s in summary] == ["ex_on", "ex_off", "in_on", "in_off"]
    assert all(0 <= float(s["responsive_fraction"]) <= 1 for s in summary)

    # analysed again without running: another --skip gives other counts, the manifest says which
    before = (out / "orientation_tuning.csv").read_text()
    spikes = (folder / "spikes.h5").stat().st_mtime_ns
    proc = run_cli("experiment", "orientation", "--analyse", folder, "--skip", "40", "-q", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout.strip() == str(folder), proc.stderr
    assert (out / "orientation_tuning.csv").read_text() != before
    assert json.loads((folder / "manifest.json").read_text())["experiment"]["skip_ms"] == 40
    assert (folder / "spikes.h5").stat().st_mtime_ns == spikes  # nothing was simulated
    for extra, words in (
        (["--skip", "60"], "skip must be in [0, on = 60) ms, got 60"),
        (["--engine", "brian2"], "--analyse runs nothing, so --engine has no effect"),
        (["--set", "run.seed=2"], "--analyse runs nothing, so --set has no effect"),
    ):
        proc = run_cli("experiment", "orientation", "--analyse", folder, *extra, cwd=tmp_path)
        assert proc.returncode == 2 and words in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, extra
    for target, words in ((tmp_path / "nowhere", "no such run folder"), (tmp_path, "manifest")):
        proc = run_cli("experiment", "orientation", "--analyse", target, cwd=tmp_path)
        assert proc.returncode == 2 and words in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, target


# ---- the receptive-field experiment -----------------------------------------------------------------


def test_a_noise_spec_parses_draws_its_frame_and_refuses_bad_keys():
    n = parse_noise("noise:grid=5,frames=40,frame=7,seed=2,density=0.2")
    assert (n.grid, n.frames, n.frame, n.seed, n.density, n.distance, n.contrast) == (5, 40, 7, 2, 0.2, 1, 1.0)
    assert parse_noise(n.spec) == n and pattern_label(n.spec) == "noise-s2-f7" and procedural_kind(n.spec) == "noise"
    frame = load_pattern(n.spec, side=20)
    signed = NoiseDesign(grid=5, frames=40, seed=2, density=0.2).signed()
    assert np.array_equal(frame, 0.5 * (1 + np.kron(signed[7], np.ones((4, 4)))))  # square [i, j]: 4 x 4 pixels
    for spec, words in (
        ("noise:grid=5,frames=4,frame=4,seed=1", "'frame' must be below frames (4), got 4"),
        ("noise:grid=5,frames=4,seed=1", "noise key 'frame' is required"),
        ("noise:grid=2.5,frames=4,frame=0,seed=1", "'grid' must be an integer >= 1, got 2.5"),
        ("noise:grid=5,frames=4,frame=0,seed=1,density=0", "'density' must be in (0, 1], got 0"),
        ("noise:grid=5,frames=4,frame=0,seed=1,size=3", "unknown noise key 'size'"),
    ):
        with pytest.raises(StimulusError) as info:
            parse_noise(spec)
        assert words in str(info.value) and "\n" not in str(info.value), spec
    with pytest.raises(ConfigError, match="stimulus.patterns"):
        from_mapping({"stimulus": {"patterns": ["noise:grid=5,frames=4,frame=9,seed=1"]}})


def test_the_field_analysis_finds_known_fields_where_they_are(tmp_path):
    """16 neurons with Gaussian fields (SD 0.8 squares) on an 8 x 8 grid, driven by white (even k) or black
    (odd k) squares, Poisson counts.

    Every one has a field of the right sign, centred within a quarter square of its true centre; 9 more
    neurons that ignore the noise have none (SNR below 5).
    """
    design = NoiseDesign(grid=8, frames=2000, frame_ms=50.0, density=0.25, seed=3)
    signed = design.signed()
    rng = np.random.default_rng(0)
    n, grid = 25, 8
    rows_, cols_ = np.array([1, 2, 4, 6])[np.arange(16) // 4], np.array([1, 3, 5, 6])[np.arange(16) % 4]
    want = np.where(np.arange(16) % 2 == 0, 1, -1)
    r, c = np.mgrid[0:grid, 0:grid]
    weights = np.exp(-((r[None] - rows_[:, None, None]) ** 2 + (c[None] - cols_[:, None, None]) ** 2) / (2 * 0.8**2))
    hit = (signed[:, None] == want[None, :, None, None]).astype(float)  # (frames, 16, grid, grid)
    drive = 4.0 + 40.0 * (hit * weights[None]).sum(axis=(2, 3))
    rate = np.concatenate([drive, np.full((design.frames, n - 16), 20.0)], axis=1)
    folder = tmp_path / "run"
    folder.mkdir()
    sched, ids, times = [], [], []
    for k, e in enumerate(design.epochs()):
        t0 = k * design.frame_ms
        sched.append(ScheduledEpoch(t0, t0 + design.frame_ms, e["pattern"]))
        counts = rng.poisson(rate[k] * design.frame_ms / 1000.0)
        ids.append(np.repeat(np.arange(n), counts))
        times.append(np.round(rng.uniform(t0 + 0.1, t0 + design.frame_ms, counts.sum()), 1))
    t = design.duration_ms
    cfg = from_mapping({"run": {"simulation_time": t}, "recording": {"layers": ["ex_on"]}})
    atomic_write_text(folder / "config.toml", to_toml(cfg))
    write_schedule(folder, sched)
    ids, times = np.concatenate(ids), np.concatenate(times)
    order = np.argsort(times, kind="stable")
    w = SpikeWriter(folder / "spikes.h5", {"ex_on": (5, 1.0)})
    w.append({"ex_on": (ids[order], times[order])}, t)
    w.close(complete=True)
    manifest = {"run_id": "run", "status": "complete", "t_reached_ms": t}
    manifest["experiment"] = {"name": "receptive-fields", "design": design.to_dict()}
    (folder / "manifest.json").write_text(json.dumps(manifest))

    got, (f,) = analyse_rf_run(folder)
    assert got == design and f.layer == "ex_on" and f.on.shape == (n, grid, grid)
    assert f.has_field[:16].all() and not f.has_field[16:].any() and np.all(f.snr[16:] < FIELD_SNR)
    assert np.array_equal(f.sign[:16], want) and not f.sign[16:].any()
    sizes = derive_sizes(cfg.network)
    covered = sizes.extent * sizes.pattern_side / sizes.retina_side
    square = covered / grid
    centre_x = (cols_ + 0.5) * square - covered / 2
    centre_y = covered / 2 - (rows_ + 0.5) * square
    assert np.abs(f.centre[:16, 0] - centre_x).max() < square / 4
    assert np.abs(f.centre[:16, 1] - centre_y).max() < square / 4
    assert np.abs(f.size[:16] / square - 0.8).max() < 0.25
    files = write_fields(folder / "experiment", [f])
    with open(files[0], newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == n and rows[0]["has_field"] == "1" and rows[1]["sign"] == "-1" and rows[20]["has_field"] == "0"
    with open(files[1], newline="") as fh:
        (summary,) = list(csv.DictReader(fh))
    assert (summary["with_field"], summary["on_fields"], summary["off_fields"]) == ("16", "8", "8")
    with np.load(files[2]) as maps:
        assert maps["ex_on/on"].shape == (n, grid, grid) and maps["ex_on/on"].dtype == np.float32
    manifest["experiment"]["name"] = "orientation"
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(RunFolderError, match="not a run of `spiking experiment receptive-fields`"):
        analyse_rf_run(folder)


@pytest.mark.nest
def test_the_receptive_field_experiment_writes_its_tables_and_figure(tmp_path):
    cfg = experiment_config(tmp_path, seed=3)
    args = ["--frames", "150", "--frame", "40", "--grid", "5", "--density", "0.1", "--skip", "5"]
    proc = run_cli("experiment", "receptive-fields", cfg, *args, "--no-progress", "-q", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    folder = Path(proc.stdout.strip().splitlines()[-1])
    out = folder / "experiment"
    for name in ("receptive_fields.csv", "summary.csv", "receptive_fields.npz", "receptive_fields.png"):
        assert (out / name).stat().st_size > 0, name
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["experiment"]["name"] == "receptive-fields"
    assert manifest["experiment"]["design"]["grid"] == 5 and manifest["simulation_time_ms"] == 150 * 40
    with open(out / "summary.csv", newline="") as fh:
        summary = {s["layer"]: s for s in csv.DictReader(fh)}
    assert set(summary) == {"ex_on", "ex_off", "in_on", "in_off"}
    assert sum(int(s["with_field"]) for s in summary.values()) > 0
    with open(out / "receptive_fields.csv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["has_field"] == "1" and r["centre_x"]]
    # the pathway is retinotopic: a field lies near its neuron (within a third of the pattern's side)
    offsets = [math.hypot(float(r["centre_x"]) - float(r["x"]), float(r["centre_y"]) - float(r["y"])) for r in rows]
    assert rows and np.median(offsets) < 1 / 3
    # bad options: one line, exit 2, no folder
    for extra, words in ((["--skip", "40"], "--skip must be shorter than --frame (40 ms)"),
                         (["--density", "0.001"], "density must give at least one square per frame")):  # fmt: skip
        before = set((tmp_path / "output").iterdir())
        proc = run_cli("experiment", "receptive-fields", cfg, "--frame", "40", "--grid", "5", *extra, cwd=tmp_path)
        assert proc.returncode == 2 and words in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, extra
        assert set((tmp_path / "output").iterdir()) == before
