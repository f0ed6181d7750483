"""Faults of a run and what the user sees: a full disk, an output folder that cannot be written, runs started together: the slow part (``make test-slow``); the rest is in ``tests/test_faults.py``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import h5py
import numpy as np

from conftest import fill_disk, run_cli, tmpfs, wait_for_model_time
from spiking.io.spikefile import load_spikes
from test_faults import RUN_FILES, _config, _one_error_line, _only_folder


def test_disk_full_for_real_on_a_small_tmpfs(tmp_path):
    """A run on a 200 MB tmpfs that another process fills while it simulates: as with the faked fault, for real."""
    with tmpfs(tmp_path / "disk", "200m") as disk:
        args = ["--preset", "small", "--no-progress", "--no-render", "--set", "run.threads=1"]
        args += ["--set", "run.simulation_time=20000.0", "--set", f"run.output_dir='{disk / 'output'}'"]
        proc = subprocess.Popen(
            [sys.executable, "-m", "spiking", "run", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        lines = []
        for line in proc.stderr:
            lines.append(line)
            if line.startswith("run folder"):
                break
        part = Path(lines[-1].split(" ", 2)[-1].strip()) / "spikes.h5.part"
        wait_for_model_time(part, 200.0, proc)
        filler = fill_disk(disk, leave=256 * 1024)
        out, err = proc.communicate(timeout=300)
        err = "".join(lines) + err
        assert proc.returncode == 1, err
        line = _one_error_line(err)
        assert line.startswith("spiking: error: disk full: ") and "manifest.json says failed" in line
        folder = _only_folder(disk / "output")
        m = json.loads((folder / "manifest.json").read_text())
        assert m["status"] == "failed" and m["error"].startswith("DiskFullError")
        t = m["t_reached_ms"]
        assert 0 < t < 20000.0
        kept = load_spikes(folder / "spikes.h5")
        assert all(len(s.times) == 0 or s.times.max() <= t + 1e-9 for s in kept.values())
        assert sum(m["spikes"][n]["count"] for n in kept) == sum(len(s.times) for s in kept.values()) > 0
        filler.unlink()
        proc = run_cli("render", folder, "--no-movies")
        assert proc.returncode == 0, proc.stderr
        assert "Failed" in (folder / "index.html").read_text()


def test_runs_started_together_get_their_own_folders(tmp_path):
    """Four runs with the same name into one output folder at once: four folders, each with only its own files."""
    n = 4
    procs = []
    for seed in range(1, n + 1):
        cfg = _config(
            tmp_path,
            f"c{seed}.toml",
            fires=True,
            run={"seed": seed, "name": "same", "simulation_time": 100.0, "threads": 1},
        )
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "spiking", "run", str(cfg), "--no-progress", "--no-render", "-q"],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                cwd=tmp_path,
            )
        )
    folders = {}
    for seed, proc in enumerate(procs, start=1):
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        folders[seed] = (Path(out.strip().splitlines()[-1]), proc.pid)
    assert len({f for f, _ in folders.values()}) == n
    assert {p.name for p in (tmp_path / "output").iterdir()} == {f.name for f, _ in folders.values()}
    for seed, (folder, pid) in folders.items():
        assert folder.parent == tmp_path / "output" and folder.name.endswith(
            ("-same", *(f"-same-{k}" for k in range(2, n + 1)))
        )
        m = json.loads((folder / "manifest.json").read_text())
        assert m["run_id"] == folder.name and m["pid"] == pid and m["seed"] == seed and m["status"] == "complete"
        assert tomllib.loads((folder / "config.toml").read_text())["run"]["seed"] == seed
        assert set(os.listdir(folder)) == RUN_FILES
        with h5py.File(folder / "spikes.h5") as h5:
            assert h5.attrs["status"] == "complete"
    spikes = [np.concatenate([s.times for s in load_spikes(f / "spikes.h5").values()]) for f, _ in folders.values()]
    assert all(a.size for a in spikes) and len({a.tobytes() for a in spikes}) == n  # four seeds, four runs
