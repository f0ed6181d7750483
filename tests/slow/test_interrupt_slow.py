"""Interruption: SIGINT/SIGTERM at several points leave a run folder that says what happened: the slow part (``make test-slow``); the rest is in ``tests/test_interrupt.py``."""

import json
import signal
from pathlib import Path

import h5py
import numpy as np

from conftest import wait_for_model_time
from spiking.io.runfolder import run_status
from test_interrupt import _check_folder, _run_folder, _start, _wait_for


def test_signals_at_random_moments_never_leave_a_wrong_folder(tmp_path):
    """Interrupt at seeded random moments of the simulation: every folder says interrupted and is readable.

    Each moment is a model time drawn with a fixed seed and reached as the spike
    file being written reports it; the signal goes as soon as the file holds it.
    The moments stop 200 ms before the end, so that the run is still simulating.
    """
    rng = np.random.default_rng(4)
    for i in range(5):
        t = float(rng.uniform(0.0, 1800.0))
        sig = signal.SIGINT if i % 2 else signal.SIGTERM
        d = tmp_path / str(i)
        d.mkdir()
        proc = _start(d)
        folder = _run_folder(_wait_for(proc, "connect"))
        wait_for_model_time(folder / "spikes.h5.part", t, proc)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 128 + sig, err
        assert [p.parent for p in d.glob("*/manifest.json")] == [folder]
        m = _check_folder(folder, expect_complete=False)
        assert m["signal"] == sig.name
        assert t <= m["t_reached_ms"] < 2000.0, (t, m["t_reached_ms"])
        assert (folder / "spikes.h5").exists() and not (folder / "spikes.h5.part").exists()


def test_second_signal_exits_at_once_and_says_so(tmp_path):
    """A second signal while the first is being handled: the process leaves at once, and the manifest says so.

    The process is held (SIGSTOP) while SIGINT and then SIGTERM are sent, so
    that the second is there before the first has been handled. (Two SIGINTs
    would merge into one while both wait.) Leaving at once: status 128 + the
    second signal, the manifest not finished, the spikes left in spikes.h5.part.
    """
    proc = _start(tmp_path)
    folder = _run_folder(_wait_for(proc, "connect"))
    wait_for_model_time(folder / "spikes.h5.part", 100.0, proc)
    for sig in (signal.SIGSTOP, signal.SIGINT, signal.SIGTERM, signal.SIGCONT):
        proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, err
    m = json.loads((folder / "manifest.json").read_text())
    assert m["status"] == "interrupted" and m["signal"] == "SIGTERM", m
    assert m["note"] == "stopped at once by a second signal; spikes.h5 may be missing" and "finished" not in m
    assert (folder / "spikes.h5.part").exists() and not (folder / "spikes.h5").exists()


def test_a_hard_kill_is_never_complete(tmp_path):
    proc = _start(tmp_path)
    folder = _run_folder(_wait_for(proc, "connect"))
    part = folder / "spikes.h5.part"
    wait_for_model_time(part, 100.0, proc)
    proc.kill()
    proc.communicate(timeout=60)
    assert run_status(folder) == "died"
    assert not (folder / "spikes.h5").exists()  # only the .part file, never a truncated spikes.h5
    with h5py.File(part, "r") as h5:  # readable up to its last chunk
        assert float(h5.attrs["t_stop"]) >= 100.0


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
