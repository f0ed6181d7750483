"""`spiking izhikevich types|network` leave run folders like any other run, on either engine, and exit 1 when a check fails."""

import json
from pathlib import Path

import pytest

from conftest import run_cli
from spiking.io.spikefile import load_spikes

CLASSES = ["RS", "IB", "CH", "FS", "LTS", "TC", "RZ"]


def _folder(proc, code=0):
    assert proc.returncode == code, proc.stderr
    return Path(proc.stdout.strip().splitlines()[-1])


def _one_line_error(proc, text):
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("spiking: error: "), proc.stderr
    assert text in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.nest
def test_network_run_folder_short(tmp_path):
    # 2 s (3 Welch segments, the least the check accepts) keeps the test short;
    # the 10 s acceptance check is in test_izhikevich_network.py
    folder = _folder(
        run_cli("izhikevich", "network", "--duration", "2000", "--seed", "3", "--output-dir", tmp_path, cwd=tmp_path)
    )
    m = json.loads((folder / "manifest.json").read_text())
    assert m["passed"] is True and m["metrics"]["segments"] == 3
    spikes = load_spikes(folder / "spikes.h5")
    assert spikes["excitatory"].n_nodes == 800 and spikes["inhibitory"].n_nodes == 200
    n = len(spikes["excitatory"].times) + len(spikes["inhibitory"].times)
    assert m["metrics"]["mean_rate_hz"] == pytest.approx(n / 1000 / 2.0, rel=0.02)
    for f in ("raster.png", "population_rate.png", "spectrum.png"):
        assert (folder / f).stat().st_size > 1000
    assert m["engine"] == {**m["engine"], "name": "nest", "threads": 1}
    assert "seed" in m["engine"]["same_spikes_need"]


def test_bad_arguments_exit_2(tmp_path):
    proc = run_cli("izhikevich", "network", "--duration", "-5", cwd=tmp_path)
    assert proc.returncode == 2 and "must be a finite number > 0" in proc.stderr and "Traceback" not in proc.stderr


def test_bad_engine_exit_2(tmp_path):
    proc = run_cli("izhikevich", "types", "--engine", "neuron", "--output-dir", tmp_path, cwd=tmp_path)
    _one_line_error(proc, "engine: must be one of nest, brian2, got 'neuron'")
    assert list(tmp_path.iterdir()) == []  # no run folder


@pytest.mark.brian2
def test_brian2_threads_exit_2(tmp_path):
    proc = run_cli("izhikevich", "network", "--engine", "brian2", "--threads", "2", "--output-dir", tmp_path)
    _one_line_error(proc, "threads: the brian2 engine runs on one thread, got 2")
    assert list(tmp_path.iterdir()) == []


def test_fractional_duration_exit_2(tmp_path):
    proc = run_cli("izhikevich", "network", "--duration", "10.5", "--output-dir", tmp_path, cwd=tmp_path)
    _one_line_error(proc, "duration: must be a non-negative multiple of the resolution 1 ms, got 10.5")
