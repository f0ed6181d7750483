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
