"""Interruption: SIGINT/SIGTERM at several points leave a run folder that says what happened."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from conftest import wait_for_model_time
from spiking.io.runfolder import run_status
from spiking.io.spikefile import load_spikes

ARGS = ["--preset", "small", "--set", "run.simulation_time=2000.0", "--set", "run.chunk=20.0", "--set", "run.threads=1"]


def _start(tmp_path):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "spiking", "run", *ARGS, "--set", f"run.output_dir='{tmp_path}'"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _wait_for(proc, prefix, timeout=120):
    """Read stderr lines until one starts with ``prefix``; returns the lines read."""
    lines = []
    end = time.time() + timeout
    while time.time() < end:
        line = proc.stderr.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith(prefix):
            return lines
    raise AssertionError(f"never saw {prefix!r}: {''.join(lines)}")


def _run_folder(lines: list[str]) -> Path:
    """The run folder that rank 0 named on stderr."""
    return Path(next(ln for ln in lines if ln.startswith("run folder ")).split(" ", 2)[2].strip())


def _check_folder(folder: Path, expect_complete: bool):
    m = json.loads((folder / "manifest.json").read_text())
    assert m["status"] == ("complete" if expect_complete else "interrupted"), m["status"]
    assert run_status(folder) == m["status"]
    if (folder / "spikes.h5").exists():
        spikes = load_spikes(folder / "spikes.h5")
        with h5py.File(folder / "spikes.h5") as h5:
            assert h5.attrs["status"] == ("complete" if expect_complete else "interrupted")
            assert h5.attrs["t_stop"] == pytest.approx(m["t_reached_ms"])
        for name, s in spikes.items():
            assert m["spikes"][name]["count"] == len(s.times)
            assert np.all(np.diff(s.times) >= 0)
            assert len(s.times) == 0 or s.times.max() <= m["t_reached_ms"] + 1e-9
    return m


@pytest.mark.parametrize(
    "sig, after, code",
    [
        (signal.SIGINT, "run folder", 130),  # during build
        (signal.SIGTERM, "build", 143),  # during connect
        (signal.SIGINT, "connect", 130),  # at the start of the simulation
        (signal.SIGTERM, "connect", 143),
    ],
)
def test_signal_at_a_phase(tmp_path, sig, after, code):
    proc = _start(tmp_path)
    lines = _wait_for(proc, after)
    if after == "connect":  # well into the simulation: the spike file holds some chunks
        wait_for_model_time(_run_folder(lines) / "spikes.h5.part", 100.0, proc)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err
    assert "Traceback" not in err
    folder = Path(out.strip().splitlines()[-1])
    m = _check_folder(folder, expect_complete=False)
    assert m["signal"] == signal.Signals(sig).name
    assert m["t_reached_ms"] < 2000.0
    if after == "connect":
        assert m["t_reached_ms"] > 0 and (folder / "spikes.h5").exists()


def test_signals_at_random_moments_never_leave_a_wrong_folder(tmp_path):
    """Repeatedly interrupt at random moments: every folder is complete or interrupted and readable."""
    rng = np.random.default_rng(4)
    seen = set()
    for i in range(5):
        d = tmp_path / str(i)
        d.mkdir()
        proc = _start(d)
        _wait_for(proc, "connect")
        time.sleep(float(rng.uniform(0.0, 3.0)))
        proc.send_signal(signal.SIGINT if i % 2 else signal.SIGTERM)
        out, err = proc.communicate(timeout=120)
        folders = list(d.glob("*/manifest.json"))
        assert len(folders) == 1
        complete = proc.returncode == 0
        assert proc.returncode in (0, 130, 143), err
        _check_folder(folders[0].parent, expect_complete=complete)
        seen.add(proc.returncode)
    assert seen & {130, 143}


def test_second_signal_exits_at_once_and_says_so(tmp_path):
    proc = _start(tmp_path)
    _wait_for(proc, "connect")
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    m = json.loads(next(tmp_path.glob("*/manifest.json")).read_text())
    assert m["status"] == "interrupted" and m["signal"] == "SIGINT"


def test_a_hard_kill_is_never_complete(tmp_path):
    proc = _start(tmp_path)
    _wait_for(proc, "connect")
    time.sleep(1.0)
    proc.kill()
    proc.communicate(timeout=60)
    folder = next(tmp_path.glob("*/manifest.json")).parent
    assert run_status(folder) == "died"
    assert not (folder / "spikes.h5").exists()  # only the .part file, never a truncated spikes.h5


def test_an_interrupted_run_renders_what_was_done(tmp_path):
    """A real run stopped by SIGINT mid-simulation, then `spiking render --frame-ms 10`: frames up to t_reached_ms."""
    import math

    import imageio

    from conftest import run_cli

    proc = _start(tmp_path)
    lines = _wait_for(proc, "connect")
    wait_for_model_time(_run_folder(lines) / "spikes.h5.part", 100.0, proc)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    folder = Path(out.strip().splitlines()[-1])
    assert f"`spiking render {folder}` draws what was done" in err
    m = _check_folder(folder, expect_complete=False)
    t = m["t_reached_ms"]
    assert 0 < t < 2000.0
    render = run_cli("render", folder, "--frame-ms", "10")
    assert render.returncode == 0, render.stderr
    r = json.loads((folder / "manifest.json").read_text())["render"]
    assert r["frame_ms"] == 10.0 and r["frames"] == math.ceil(t / 10.0 - 1e-9)
    reader = imageio.get_reader(folder / "movies" / "ex_on.mp4", "ffmpeg")
    assert reader.count_frames() == r["frames"]
    reader.close()
    html = (folder / "index.html").read_text()
    assert 'id="status-banner"' in html and "Interrupted" in html and "SIGINT" in html and f"{t:g} ms" in html
