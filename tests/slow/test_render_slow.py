"""Rendering a run folder: frame binning and colour scale, streamed spike reading, rates, movies, the report, render_run: the slow part (``make test-slow``); the rest is in ``tests/test_render.py``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import run_cli, tiny
from spiking.config import from_mapping, to_toml
from spiking.render import colorize, movie_size, render_run
from test_render import EXPECTED, _known_trains, _reader, _render_in_subprocess, _rendered, make_run_folder


def test_gif_movies(tmp_path):
    import imageio.v3 as iio

    folder = make_run_folder(tmp_path / "run", _known_trains(), epochs=(("pattern0", 60.0), ("pattern1", 60.0)))
    res = render_run(folder, frame_ms=4.0, movie_format="gif")
    assert res["movie_format"] == "gif" and res["frames"] == 30
    assert not list((folder / "movies").glob("*.mp4"))
    for name, size in (("ex_on", movie_size(9)), ("in_off", movie_size(5))):
        p = folder / "movies" / f"{name}.gif"
        frames = iio.imread(p, index=None)
        assert frames.shape[:3] == (30, size[1], size[0])
        assert iio.immeta(p, index=0)["duration"] == 40  # ms per frame at 25 fps: 30 frames = 1.2 s
        assert iio.immeta(p).get("loop", 0) == 0
    frames = iio.imread(folder / "movies" / "ex_on.gif", index=None)[..., :3]
    yellow = colorize(np.array([255], np.uint8))[0]
    k = movie_size(9)[0] // 9
    np.testing.assert_array_equal(frames[0, 4 * k + k // 2, k // 2], yellow)  # node 4; exact: palette colours
    html = (folder / "index.html").read_text()
    assert '<img src="movies/activity.gif"' in html and "<video" not in html
    # back to mp4: the gifs go
    render_run(folder, frame_ms=4.0)
    assert not list((folder / "movies").glob("*.gif")) and len(list((folder / "movies").glob("*.mp4"))) == 5


def test_render_run_reproduces_files_without_nest(run_folder, tmp_path):
    out = _render_in_subprocess(run_folder)
    assert out["nest"] is False
    assert set(out["files"]) == EXPECTED == _rendered(run_folder)
    assert set(out["timings"]) == {"movies", "rates", "statistics", "report", "total"}
    # a copy, its rendering removed, renders to the same set of files (and re-rendering in place too)
    copy = tmp_path / "copy"
    shutil.copytree(run_folder, copy)
    for d in ("movies", "rates"):
        shutil.rmtree(copy / d)
    (copy / "index.html").unlink()
    again = _render_in_subprocess(copy)
    assert set(again["files"]) == EXPECTED == _rendered(copy)
    assert set(render_run(copy)["files"]) == EXPECTED == _rendered(copy)
    for name in ("rates_by_pattern.csv", "spike_statistics.csv"):  # the statistics' samples are seeded
        assert (copy / "rates" / name).read_text() == (run_folder / "rates" / name).read_text()


@pytest.mark.nest
def test_render_a_real_run(tmp_path):
    cfg = tmp_path / "c.toml"
    data = tiny(run={"simulation_time": 200.0, "threads": 1, "output_dir": str(tmp_path / "output")})
    cfg.write_text(to_toml(from_mapping(data)))
    proc = run_cli("run", cfg, "--no-progress", "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    folder = Path(proc.stdout.strip().splitlines()[-1])
    out = _render_in_subprocess(folder)
    assert set(out["files"]) == EXPECTED
    m = json.loads((folder / "manifest.json").read_text())
    import csv

    rows = list(csv.DictReader(open(folder / "rates" / "rates_by_pattern.csv")))
    for layer, s in m["spikes"].items():
        assert sum(int(r["spikes"]) for r in rows if r["layer"] == layer) == s["count"]
    text = (folder / "index.html").read_text()
    assert 'id="status-banner"' not in text and "retina/000000.0ms-on.png" in text
    # `spiking render` again with another frame length: 200 ms in frames of 25 ms
    proc = run_cli("render", folder, "--frame-ms", "25")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(folder / "index.html")
    r = json.loads((folder / "manifest.json").read_text())["render"]
    assert r["frame_ms"] == 25.0 and r["frames"] == 8 and r["movie_format"] == "mp4"
    for name in ("ex_on", "activity"):
        reader = _reader(folder / "movies" / f"{name}.mp4")
        assert reader.count_frames() == 8
        reader.close()


@pytest.mark.nest
def test_connectivity_plots_of_a_real_run_state_the_kernel_test(tmp_path):
    """``render.plot_layers``: a targets plot and a check plot per projection, the check tested against the kernel."""
    from spiking.io.connectivity import read_connectivity
    from spiking.model.network import build_model
    from spiking.render.connectivity import plot_connectivity
    from spiking.validate.kernel import kernel_fit

    cfg = tmp_path / "c.toml"
    data = tiny(run={"simulation_time": 50.0, "output_dir": str(tmp_path / "output")}, render={"plot_layers": True})
    cfg.write_text(to_toml(from_mapping(data)))
    proc = run_cli("run", cfg, "--no-progress", "--quiet", "--no-render", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    folder = Path(proc.stdout.strip().splitlines()[-1])
    model = build_model(from_mapping(data), stimuli=False)
    paths = plot_connectivity(folder, model)
    assert len(paths) == 2 * len(model.projections) and all(p.stat().st_size > 5000 for p in paths)
    sample = read_connectivity(folder / "connectivity.h5")
    for p in model.projections:
        if p.mask == "one_to_one":
            continue
        d = sample[f"{p.index:02d}.{p.name}"]
        fit = kernel_fit(
            p,
            model.layers[p.source].positions(),
            model.layers[p.target].positions(),
            d["sources"],
            d["targets"],
            target_sample=d["targets_all"],
        )
        assert fit.outside == 0 and fit.agrees(1e-3), (p.name, fit.chi2, fit.dof, fit.p_value)


@pytest.mark.nest
def test_a_latency_coded_run_shows_latency_maps_and_first_spikes(tmp_path):
    """``retina.coding = "latency"``: the retina's latency maps at each pattern change, and each layer's first
    spike after each onset, as a figure and a table whose counts are the run's own spikes."""
    import csv

    import h5py

    from spiking.render.latency import first_spikes

    cfg = tmp_path / "c.toml"
    data = tiny(
        run={"simulation_time": 200.0, "threads": 1, "output_dir": str(tmp_path / "output")},
        retina={"coding": "latency"},
        recording={"layers": ["lgn_on", "ex_on", "in_on"]},
    )
    cfg.write_text(to_toml(from_mapping(data)))
    proc = run_cli("run", cfg, "--no-progress", "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    folder = Path(proc.stdout.strip().splitlines()[-1])
    assert (folder / "retina" / "000000.0ms-latency-on.png").is_file()
    rows = list(csv.DictReader(open(folder / "rates" / "first_spikes.csv")))
    assert {(r["layer"], r["pattern"]) for r in rows} == {
        (layer, p) for layer in ("lgn_on", "ex_on", "in_on") for p in ("pattern0", "pattern1")
    }
    with h5py.File(folder / "spikes.h5", "r") as h5:
        ids, t = h5["spikes/lgn_on/node_ids"][()], h5["spikes/lgn_on/timestamps"][()]
    lgn = first_spikes(ids, t, 121, 0.0, 100.0)
    row = next(r for r in rows if r["layer"] == "lgn_on" and r["pattern"] == "pattern0")
    assert int(row["responded"]) == int(np.isfinite(lgn).sum()) > 0  # the LGN: one spike per firing pixel
    assert float(row["first_ms"]) == pytest.approx(np.nanmin(lgn))
    text = (folder / "index.html").read_text()
    assert 'id="first-spikes"' in text and "rates/first_spikes.png" in text and "latency-on.png" in text
