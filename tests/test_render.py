"""Rendering a run folder: frame binning and colour scale, streamed spike reading, rates, movies, the report, render_run.

Run folders here are synthetic (written with the project's own writers, no NEST),
except in the tests marked ``nest``, which run a tiny simulation (NEST is a dependency: they run everywhere).
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pytest

from conftest import tiny
from spiking.config import from_mapping, to_toml
from spiking.errors import ConfigError, RunFolderError
from spiking.io.atomic import atomic_write_text
from spiking.io.runfolder import write_manifest, write_schedule
from spiking.io.spikefile import SpikeWriter
from spiking.model.geometry import derive_sizes, nodes_to_image
from spiking.model.stimulus import ScheduledEpoch
from spiking.render import bin_frames, colorize, frame_count, frame_images, movie_size, render_run, scale_counts

XSS = "<script>alert(1)</script>"


# ---- a synthetic run folder -------------------------------------------------------------


def make_run_folder(
    folder: Path,
    spikes: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
    *,
    epochs: list[tuple[str, float]] = (("pattern0", 100.0), ("pattern1", 100.0), ("pattern0", 100.0)),
    status: str = "complete",
    t_reached: float | None = None,
    render: dict | None = None,
    manifest_extra: dict | None = None,
    seed: int = 1,
    sides: dict[str, int] | None = None,
) -> Path:
    """A run folder as ``spiking run`` leaves it, without NEST: config.toml, schedule.csv, manifest.json, spikes.h5.

    The network is the tiny one of ``conftest.tiny`` (ex layers 9x9, in layers 5x5).
    ``spikes`` maps a layer to ``(node_ids, times)``; missing recorded layers get
    random spikes at about 20 Hz. ``sides`` replaces the recorded layers by grids of those sides.
    """
    folder.mkdir(parents=True, exist_ok=True)
    total = sum(d for _, d in epochs)
    data = tiny(run={"simulation_time": total, "threads": 1, "seed": seed})
    data["stimulus"] = {"epochs": [{"pattern": p, "duration": d} for p, d in epochs]}
    if render:
        data["render"] = dict(render)
    cfg = from_mapping(data)
    atomic_write_text(folder / "config.toml", to_toml(cfg))
    sched, t = [], 0.0
    for p, d in epochs:
        sched.append(ScheduledEpoch(start=t, stop=t + d, pattern=p))
        t += d
    write_schedule(folder, sched)
    sizes = derive_sizes(cfg.network)
    layers = {name: (sizes.side(name), sizes.extent) for name in cfg.recording.layers}
    if sides:
        layers = {name: (side, sizes.extent) for name, side in sides.items()}
    t_end = total if t_reached is None else t_reached
    rng = np.random.default_rng(seed)
    spikes = dict(spikes or {})
    for name, (side, _) in layers.items():
        if name not in spikes:
            n = rng.poisson(side * side * 20.0 * t_end / 1000.0)
            spikes[name] = (rng.integers(0, side * side, n), np.round(np.sort(rng.uniform(0, t_end, n)), 1))
    w = SpikeWriter(folder / "spikes.h5", layers)
    counts = {}
    for name, (ids, times) in spikes.items():
        ids, times = np.asarray(ids, dtype=np.int64), np.asarray(times, dtype=float)
        order = np.argsort(times, kind="stable")
        ids, times = ids[order], times[order]
        # in two appends, as a run does chunk by chunk
        half = times.size // 2
        w.append({name: (ids[:half], times[:half])}, t_end)
        w.append({name: (ids[half:], times[half:])}, t_end)
        counts[name] = int(ids.size)
    w.close(complete=status == "complete")
    manifest = {
        "run_id": folder.name,
        "status": status,
        "pid": 2**22 + 12345,  # no such process
        "started": "2026-01-01T00:00:00+00:00",
        "finished": "2026-01-01T00:00:10+00:00",
        "command": ["spiking", "run", "synthetic"],
        "versions": {"spiking": "0.1.0", "python": "3.11", "numpy": np.__version__, "nest": "3.10.0"},
        "platform": "test",
        "seed": seed,
        "threads": 1,
        "processes": 1,
        "simulation_time_ms": total,
        "resolution_ms": 0.1,
        "t_reached_ms": t_end,
        "sizes": {
            "extent": sizes.extent,
            "total_neurons": sizes.total_neurons,
            "excitatory_side": sizes.excitatory_side,
            "inhibitory_side": sizes.inhibitory_side,
            "retina_side": sizes.retina_side,
            "pattern_side": sizes.pattern_side,
        },
        "neurons": {name: side * side for name, (side, _) in layers.items()},
        "synapses": {"retina_on_to_lgn_on": 100, "ex_on_to_ex_on": 1234},
        "timings_s": {"build": 0.1, "connect": 0.2, "simulate": 1.0, "record": 0.01, "write": 0.0, "total": 1.4},
        "memory_mb": {"network": 10.0, "peak_rss": 100.0},
        "spikes": {
            name: {"count": c, "mean_rate_hz": c / (layers[name][0] ** 2 * max(t_end, 1e-9) / 1000)}
            for name, c in counts.items()
        },
        **(manifest_extra or {}),
    }
    manifest["neurons_total"] = sum(manifest["neurons"].values())
    manifest["synapses_total"] = sum(manifest["synapses"].values())
    write_manifest(folder, manifest)
    return folder


@pytest.fixture
def run_folder(tmp_path):
    return make_run_folder(tmp_path / "run")


def _rendered(folder: Path) -> set[str]:
    skip = {"config.toml", "manifest.json", "schedule.csv", "spikes.h5"}
    return {
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and p.name not in skip and not p.relative_to(folder).as_posix().startswith("retina/")
    }


# ---- frames -------------------------------------------------------------------------------


def test_bin_frames_hand_computed_edges_and_stop():
    # frames of 1 ms over [0, 3]: [0,1), [1,2), [2,3]; an edge goes to the frame that starts there,
    # t_stop itself to the last frame; before 0 and after 3: dropped
    ids = [0, 1, 1, 2, 0, 2, 0, 1, 5]
    times = [0.0, 0.999, 1.0, 2.5, 3.0, 3.5, -0.5, 2.0, 1.5]  # node 5 does not exist
    got = bin_frames(ids, times, n_nodes=3, frame_ms=1.0, t_stop=3.0)
    want = np.array([[1, 1, 0], [0, 1, 0], [1, 1, 1]])
    assert got.shape == (3, 3) and got.dtype == np.int32
    np.testing.assert_array_equal(got, want)


def test_bin_frames_float_edges():
    # 0.3 / 0.1 is 2.9999999999999996 in floating point: still the edge of frame 3
    got = bin_frames([0, 0, 0, 0], [0.1, 0.2, 0.3, 0.30000000000000004], 1, frame_ms=0.1, t_stop=0.5)
    np.testing.assert_array_equal(got[:, 0], [0, 1, 1, 2, 0])
    # at t_stop = 0.3 (3 frames), 0.3 is the stop: the last frame
    got = bin_frames([0, 0], [0.2, 0.3], 1, frame_ms=0.1, t_stop=0.3)
    np.testing.assert_array_equal(got[:, 0], [0, 0, 2])
    # a partial last frame holds up to t_stop, not beyond
    got = bin_frames([0, 0, 0], [2.2, 2.5, 2.7], 1, frame_ms=1.0, t_stop=2.5)
    np.testing.assert_array_equal(got[:, 0], [0, 0, 2])
    # from t_start
    got = bin_frames([0, 0, 0], [9.9, 10.0, 12.0], 1, frame_ms=1.0, t_stop=12.0, t_start=10.0)
    np.testing.assert_array_equal(got[:, 0], [1, 1])


@pytest.mark.parametrize("frame_ms", [0.1, 0.2, 0.3, 0.7, 1.0, 1.1, 2.5, 50.0])
def test_frame_count_robust(frame_ms):
    for k in (1, 2, 3, 7, 10, 99, 1000, 12345):
        assert frame_count(k * frame_ms, frame_ms) == k
        assert frame_count(k * frame_ms + frame_ms / 2, frame_ms) == k + 1
    assert frame_count(0.0, frame_ms) == 0 and frame_count(-1.0, frame_ms) == 0
    assert frame_count(1000.0, 1.0) == 1000 and frame_count(0.3, 0.1) == 3


def test_frame_images_node_order():
    side = 4
    counts = np.arange(2 * side * side).reshape(2, side * side)
    img = frame_images(counts, side)
    assert img.shape == (2, side, side)
    for f in range(2):
        np.testing.assert_array_equal(img[f], nodes_to_image(counts[f], side))
    # node k at column k // side, row k % side
    assert img[0, 1, 2] == 2 * side + 1


def test_scale_counts_original_scale():
    # 255 * 1000 / (frame_ms * max_rate) per spike, capped at 255
    got = scale_counts(np.array([0, 1, 2]), 1.0, 100.0)  # 2550 per spike
    assert got.dtype == np.uint8 and got.tolist() == [0, 255, 255]
    assert scale_counts(np.array([0, 1, 2, 5, 6]), 50.0, 100.0).tolist() == [0, 51, 102, 255, 255]
    assert scale_counts(np.array([1, 2]), 20.0, 100.0).tolist() == [127, 255]  # 127.5 per spike
    c = np.array([[0, 3], [1, 0]])
    assert scale_counts(c, 100.0, 100.0).shape == (2, 2)


@pytest.mark.parametrize("frame_ms", [0.1, 1.0, 7.0, 20.0, 50.0, 1000.0, 5000.0])
def test_movie_colour_tables_follow_scale_counts(frame_ms):
    from spiking.render.movies import _count_tables

    k, levels = _count_tables(frame_ms, 100.0)
    c = np.arange(0, 3000)
    np.testing.assert_array_equal(levels[np.minimum(c, k)], scale_counts(c, frame_ms, 100.0))


def test_colorize_is_viridis():
    from matplotlib import colormaps

    levels = np.array([[0, 128], [200, 255]], dtype=np.uint8)
    rgb = colorize(levels)
    assert rgb.shape == (2, 2, 3) and rgb.dtype == np.uint8
    want = np.round(colormaps["viridis"](levels)[..., :3] * 255)
    np.testing.assert_array_equal(rgb, want)
    with pytest.raises(TypeError):
        colorize(levels.astype(float))


def test_streamed_reading_matches_bin_frames(tmp_path):
    """Reading spikes.h5 in small blocks and frame chunks gives the counts of binning all spikes at once."""
    from spiking.io.spikefile import SpikeBlocks, open_spikes
    from spiking.render.spikes import FrameCounter

    rng = np.random.default_rng(3)
    n, t_end = 25, 97.3
    times = np.round(np.sort(rng.uniform(0, t_end, 3000)), 1)
    times[:5] = 0.0
    times[-3:] = t_end  # at the stop
    ids = rng.integers(0, n, times.size)
    w = SpikeWriter(tmp_path / "spikes.h5", {"ex_on": (5, 1.0)})
    w.append({"ex_on": (ids, times)}, t_end)
    w.close()
    want = bin_frames(ids, times, n, 2.0, t_end)
    for block, chunk in ((7, 3), (1000, 10), (1 << 20, 49)):
        with open_spikes(tmp_path / "spikes.h5") as h5:
            fc = FrameCounter(SpikeBlocks(h5, "ex_on", t_end, block=block), n, 2.0, t_end)
            got = np.concatenate([fc.counts(f0, min(fc.n_frames, f0 + chunk)) for f0 in range(0, fc.n_frames, chunk)])
            np.testing.assert_array_equal(got, want)
            fc = FrameCounter(SpikeBlocks(h5, "ex_on", t_end, block=block), n, 2.0, t_end)
            dense = np.zeros(want.size, dtype=np.int64)
            for f0 in range(0, fc.n_frames, chunk):
                keys, c = fc.sparse(f0, min(fc.n_frames, f0 + chunk))
                assert np.all(c >= 1) and np.all(np.diff(keys) > 0)
                dense[f0 * n + keys] = c
            np.testing.assert_array_equal(dense.reshape(want.shape), want)


# ---- rates ----------------------------------------------------------------------------------


def _known_trains():
    """ex_on (9x9): node 4 every 10 ms under pattern0 only, node 0 once under pattern1, node 80 at 100.0 and 300.0."""
    p0 = np.concatenate([np.arange(0, 100, 10.0), np.arange(200, 300, 10.0)])
    ids = np.concatenate([np.full(p0.size, 4), [0, 80, 80]])
    times = np.concatenate([p0, [150.0, 100.0, 300.0]])
    return {"ex_on": (ids, times), "in_on": (np.zeros(0, int), np.zeros(0))}


def test_rate_table_and_maps_against_known_trains(tmp_path):
    import csv

    from PIL import Image

    from spiking.io.spikefile import layer_infos, open_spikes
    from spiking.render.rates import collect_rates, ratemap_image
    from spiking.render.source import load_run

    folder = make_run_folder(tmp_path / "run", _known_trains())
    res = render_run(folder, movies=False)
    assert "rates/rates_by_pattern.csv" in res["files"]
    rows = list(csv.DictReader(open(folder / "rates" / "rates_by_pattern.csv")))
    assert list(rows[0]) == ["layer", "pattern", "mean_rate_hz", "spikes", "time_ms"]
    table = {(r["layer"], r["pattern"]): r for r in rows}
    # pattern0 is shown [0,100) and [200,300]: 200 ms; 20 spikes of node 4, plus node 80 at t_stop = 300
    r = table[("ex_on", "pattern0")]
    assert int(r["spikes"]) == 21 and float(r["time_ms"]) == 200.0
    assert float(r["mean_rate_hz"]) == pytest.approx(21 / (81 * 0.2), rel=1e-5)
    # pattern1 [100,200): node 0 at 150 and node 80 at exactly 100.0 (the edge opens pattern1)
    r = table[("ex_on", "pattern1")]
    assert int(r["spikes"]) == 2 and float(r["time_ms"]) == 100.0
    assert float(r["mean_rate_hz"]) == pytest.approx(2 / (81 * 0.1), rel=1e-5)
    assert int(table[("in_on", "pattern0")]["spikes"]) == 0
    assert {k[0] for k in table} == {"ex_on", "ex_off", "in_on", "in_off"}

    # per-neuron rates: node 4 100 Hz under pattern0, node 0 10 Hz under pattern1
    src = load_run(folder)
    with open_spikes(src.spikes_path) as h5:
        info = next(i for i in layer_infos(h5) if i.name == "ex_on")
        lr = collect_rates(src, h5, info, 5.0, src.patterns)
    rates = lr.by_pattern / (np.array([200.0, 100.0])[:, None] / 1000)
    assert (
        rates[0, 4] == pytest.approx(100.0)
        and rates[0, 80] == pytest.approx(5.0)
        and rates[0].sum() == pytest.approx(105.0)
    )
    assert (
        rates[1, 0] == pytest.approx(10.0)
        and rates[1, 80] == pytest.approx(10.0)
        and rates[1].sum() == pytest.approx(20.0)
    )
    # population: 5 ms bins; bin 0 holds node 4's spike at 0 ms -> 1 / (81 * 5 ms)
    pop = list(csv.DictReader(open(folder / "rates" / "population_rates.csv")))
    assert len(pop) == 60 and float(pop[0]["time_ms"]) == 0.0
    assert float(pop[0]["ex_on_hz"]) == pytest.approx(1 / (81 * 0.005), rel=1e-5)
    assert float(pop[1]["ex_on_hz"]) == 0.0

    # the rate map PNGs: one per grid layer and pattern, the size ratemap_image gives
    maps = sorted(p.name for p in (folder / "rates").glob("ratemap-*.png"))
    assert maps == sorted(
        f"ratemap-{ln}-{p}.png" for ln in ("ex_on", "ex_off", "in_on", "in_off") for p in ("pattern0", "pattern1")
    )
    expect = ratemap_image(nodes_to_image(rates[0], 9), 100.0, "t").size
    with Image.open(folder / "rates" / "ratemap-ex_on-pattern0.png") as im:
        assert im.size == expect and im.format == "PNG"
        a = np.asarray(im.convert("RGB"))
    # node 4 (column 4 // 9 = 0, row 4 % 9 = 4) is the top of the scale, node 13 (column 1, row 4) the bottom
    s = math.ceil(256 / 9)
    left, top = 54, 46  # the layout of ratemap_image
    yellow, purple = colorize(np.array([255, 0], np.uint8))
    np.testing.assert_array_equal(a[top + 4 * s + s // 2, left + s // 2], yellow)
    np.testing.assert_array_equal(a[top + 4 * s + s // 2, left + s + s // 2], purple)
    for name in ("population_rates.png", "raster.png"):
        with Image.open(folder / "rates" / name) as im:
            im.verify()
    with Image.open(folder / "rates" / "population_rates.png") as im:
        assert im.size == (1000, round((1.1 + 1.45 * 4) * 100))
    with Image.open(folder / "rates" / "raster.png") as im:
        assert im.size == (1000, round((1.6 + 1.3 * 4) * 100))


# ---- movies ----------------------------------------------------------------------------------


def _reader(path):
    import imageio

    return imageio.get_reader(path, "ffmpeg")


def test_movies_decode_with_frames_size_and_duration(tmp_path):
    from PIL import Image

    from spiking.io.spikefile import layer_infos, open_spikes
    from spiking.render.movies import combined_layout

    folder = make_run_folder(tmp_path / "run", _known_trains(), render={"frame_ms": 7.0, "fps": 10})
    res = render_run(folder)
    n = math.ceil(300 / 7)
    assert res["frames"] == n == 43 and res["fps"] == 10 and res["movie_format"] == "mp4"
    with open_spikes(folder / "spikes.h5") as h5:
        w, h, _ = combined_layout(layer_infos(h5))
    sizes = {
        "ex_on": movie_size(9),
        "ex_off": movie_size(9),
        "in_on": movie_size(5),
        "in_off": movie_size(5),
        "activity": (w, h),
    }
    assert movie_size(9) == (270, 270) and movie_size(5) == (260, 260) and movie_size(147) == (294, 294)
    assert all(a % 2 == 0 for wh in sizes.values() for a in wh)
    for name, size in sizes.items():
        p = folder / "movies" / f"{name}.mp4"
        assert f"movies/{name}.mp4" in res["files"]
        r = _reader(p)
        meta = r.get_meta_data()
        assert meta["codec"] == "h264" and meta["fps"] == 10 and tuple(meta["size"]) == size
        assert r.count_frames() == n
        assert meta["duration"] == pytest.approx(n / 10, abs=0.02)
        r.close()
    # ex_on frame 0 holds node 4's spike at 0 ms: its block is the top of viridis, node 0's the bottom
    r = _reader(folder / "movies" / "ex_on.mp4")
    f0 = r.get_data(0).astype(int)
    r.close()
    k = movie_size(9)[0] // 9
    yellow, purple = colorize(np.array([255, 0], np.uint8)).astype(int)
    assert np.abs(f0[4 * k + k // 2, k // 2] - yellow).max() <= 12  # node 4: row 4, column 0
    assert np.abs(f0[k // 2, k // 2] - purple).max() <= 12  # node 0, no spike in frame 0
    # the combined movie's first frame: not blank, header text drawn
    r = _reader(folder / "movies" / "activity.mp4")
    a = r.get_data(0)
    r.close()
    assert a.shape == (h, w, 3) and a[:28].max() > 200 and len(np.unique(a.reshape(-1, 3), axis=0)) > 20
    Image.fromarray(a)  # a valid image


def test_painting_and_lookup_give_the_same_movies(tmp_path, monkeypatch):
    """Frames are drawn by painting the nodes that spiked, or by looking up every node when many did: same bytes."""
    import hashlib

    from spiking.render import movies
    from spiking.render.source import load_run

    # small layers (enlarged by whole factors) and a big odd one (shrunk in the combined movie, one pixel added alone)
    folder = make_run_folder(
        tmp_path / "run", epochs=(("pattern0", 50.0), ("pattern1", 50.0)), sides={"ex_on": 9, "ex_off": 257, "in_on": 5}
    )
    src = load_run(folder)
    digests = []
    for dense in (0.0, 2.0):
        monkeypatch.setattr(movies, "_DENSE", dense)
        for fmt in ("mp4", "gif"):
            out = tmp_path / f"{fmt}-{dense}"
            r = movies.write_movies(src, frame_ms=2.0, fps=25, fmt=fmt, folder=out)
            assert r["sizes"]["ex_off"] == movie_size(257) == (258, 258) and r["frames"] == 50
            digests.append({p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in r["files"]})
    assert digests[0] == digests[2] and digests[1] == digests[3]
    assert set(digests[0]) == {"ex_on.mp4", "ex_off.mp4", "in_on.mp4", "activity.mp4"}


# ---- render_run --------------------------------------------------------------------------------


EXPECTED = {
    "index.html",
    *(f"movies/{n}.mp4" for n in ("activity", "ex_on", "ex_off", "in_on", "in_off")),
    "rates/population_rates.png",
    "rates/population_rates.csv",
    "rates/raster.png",
    "rates/rates_by_pattern.csv",
    "rates/spike_statistics.csv",
    "rates/spike_statistics.png",
    *(f"rates/ratemap-{ln}-{p}.png" for ln in ("ex_on", "ex_off", "in_on", "in_off") for p in ("pattern0", "pattern1")),
}


def _render_in_subprocess(folder: Path, *args: str) -> dict:
    code = (
        "import json, sys\n"
        "from spiking.render import render_run\n"
        f"r = render_run(sys.argv[1], {', '.join(args)})\n"
        "assert 'nest' not in sys.modules, 'nest was imported'\n"
        "print(json.dumps({'files': r['files'], 'timings': r['timings_s'], 'nest': 'nest' in sys.modules}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(folder)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_no_module_of_render_imports_nest():
    code = (
        "import sys, importlib, pkgutil, spiking.render as r\n"
        "for m in pkgutil.iter_modules(r.__path__): importlib.import_module('spiking.render.' + m.name)\n"
        "print('nest' in sys.modules)\n"
    )
    # connectivity plots may be added by others; what must hold is that rendering never needs NEST
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"


def test_interrupted_run_renders_up_to_t_reached(tmp_path):
    import csv

    folder = make_run_folder(
        tmp_path / "run", status="interrupted", t_reached=150.0, manifest_extra={"signal": "SIGINT"}
    )
    res = render_run(folder, frame_ms=10.0)
    assert res["t_end_ms"] == 150.0 and res["frames"] == 15 and res["status"] == "interrupted"
    r = _reader(folder / "movies" / "ex_on.mp4")
    assert r.count_frames() == 15
    r.close()
    rows = list(csv.DictReader(open(folder / "rates" / "rates_by_pattern.csv")))
    times = {(r["layer"], r["pattern"]): float(r["time_ms"]) for r in rows}
    assert times[("ex_on", "pattern0")] == 100.0 and times[("ex_on", "pattern1")] == 50.0
    html = (folder / "index.html").read_text()
    assert 'id="status-banner"' in html and "Interrupted" in html and "SIGINT" in html and "150 ms" in html


def test_run_stopped_before_any_model_time(tmp_path):
    folder = make_run_folder(tmp_path / "run", status="interrupted", t_reached=0.0)
    res = render_run(folder)
    assert res["frames"] == 0 and not any(f.startswith("movies/") for f in res["files"])
    html = (folder / "index.html").read_text()
    assert "Interrupted" in html and "No movies were drawn" in html


@pytest.mark.parametrize("status, text", [("failed", "Failed"), ("running", "Died"), ("interrupted", "Interrupted")])
def test_banner_of_runs_that_did_not_complete(tmp_path, status, text):
    folder = make_run_folder(
        tmp_path / "run",
        epochs=(("pattern0", 20.0),),
        status=status,
        manifest_extra={"error": "RuntimeError: <b>boom</b>"} if status == "failed" else None,
    )
    render_run(folder, movies=False)
    html = (folder / "index.html").read_text()
    assert 'id="status-banner"' in html and text in html
    if status == "failed":
        assert "&lt;b&gt;boom&lt;/b&gt;" in html and "<b>boom" not in html


def test_complete_run_has_no_banner(run_folder):
    render_run(run_folder, movies=False)
    assert 'id="status-banner"' not in (run_folder / "index.html").read_text()


def test_not_a_run_folder(tmp_path):
    with pytest.raises(RunFolderError, match="no such folder"):
        render_run(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(RunFolderError, match="not a run folder") as err:
        render_run(tmp_path / "empty")
    assert "\n" not in str(err.value)
    folder = make_run_folder(tmp_path / "run", epochs=(("pattern0", 20.0),))
    (folder / "spikes.h5").rename(folder / "spikes.h5.part")
    with pytest.raises(RunFolderError, match=r"no spikes\.h5 \(only spikes\.h5\.part") as err:
        render_run(folder)
    assert "\n" not in str(err.value)
    (folder / "spikes.h5.part").unlink()
    with pytest.raises(RunFolderError, match=r"no spikes\.h5$"):
        render_run(folder)
    (folder / "spikes.h5").write_bytes(b"not hdf5")
    with pytest.raises(RunFolderError, match="cannot be read as HDF5"):
        render_run(folder)


def test_bad_overrides_are_config_errors(run_folder):
    with pytest.raises(ConfigError, match="render.frame_ms"):
        render_run(run_folder, frame_ms=0.01)  # below run.resolution
    with pytest.raises(ConfigError, match="render.movie_format"):
        render_run(run_folder, movie_format="avi")


# ---- the report -----------------------------------------------------------------------------------


class _Refs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs: list[tuple[str, str]] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for k, v in attrs:
            if k in ("src", "href") and v is not None:
                self.refs.append((tag, v))


def test_report_links_are_relative_and_exist(run_folder):
    (run_folder / "connectivity").mkdir()
    from PIL import Image

    for name in ("3.lgn_on_to_ex_on.png", "3.lgn_on_to_ex_on-check.png"):
        Image.new("RGB", (20, 10), "white").save(run_folder / "connectivity" / name)
    render_run(run_folder)
    text = (run_folder / "index.html").read_text()
    p = _Refs()
    p.feed(text)
    assert "script" not in p.tags and "<style>" in text  # no script, CSS inline
    assert [ref for tag, ref in p.refs if tag == "link"] == ["data:,"]  # only the empty favicon
    for _tag, ref in p.refs:
        if ref.startswith("#") or ref == "data:,":
            continue
        assert "://" not in ref and not ref.startswith("/"), ref
        assert (run_folder / unquote(ref)).is_file(), ref
    srcs = {v for t, v in p.refs if t in ("img", "video")}
    assert "movies/activity.mp4" in srcs and "rates/population_rates.png" in srcs and "rates/raster.png" in srcs
    assert "connectivity/3.lgn_on_to_ex_on.png" in srcs and "connectivity/3.lgn_on_to_ex_on-check.png" in srcs
    assert "rates/ratemap-ex_on-pattern1.png" in srcs
    assert re.search(r'<video src="movies/ex_on\.mp4" controls loop muted autoplay', text)
    for section in ("run", "timings", "network", "movies", "rates", "retina", "connectivity", "config", "files"):
        assert f'<section id="{section}">' in text
    # the manifest and config are there
    assert (
        "ex_on_to_ex_on" in text
        and "1,234" in text
        and "3.10.0" in text
        and "<details><summary>Full config.toml" in text
    )
    assert "<code>stimulus.epochs</code>" in text  # differs from the defaults


def test_report_escapes_text_from_config_and_manifest(tmp_path):
    folder = make_run_folder(
        tmp_path / "run",
        epochs=((XSS, 50.0), ("pattern0", 50.0)),
        manifest_extra={"command": ["spiking", "run", '"><img src=x onerror=alert(2)>']},
    )
    res = render_run(folder, frame_ms=5.0)
    text = (folder / "index.html").read_text()
    assert "<script" not in text.lower()
    assert "onerror=alert(2)>" not in text and "&lt;img src=x onerror=alert(2)&gt;" in text
    assert html_escape(XSS) in text  # shown as text: schedule, rate table, config
    p = _Refs()
    p.feed(text)
    assert "script" not in p.tags and not any(v == "x" for _, v in p.refs)
    # the pattern got a safe file name
    assert any(re.fullmatch(r"rates/ratemap-ex_on-[A-Za-z0-9._-]+\.png", f) for f in res["files"])
    assert all(re.fullmatch(r"[A-Za-z0-9._/-]+", f) for f in res["files"])


def html_escape(s: str) -> str:
    import html

    return html.escape(s, quote=True)


# ---- a real run on NEST ---------------------------------------------------------------------------
