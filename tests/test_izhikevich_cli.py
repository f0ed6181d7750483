"""`spiking izhikevich types|network` leave run folders like any other run."""

import json
from pathlib import Path

from PIL import Image

from conftest import run_cli
from spiking.io.spikefile import load_spikes


def _folder(proc):
    assert proc.returncode == 0, proc.stderr
    return Path(proc.stdout.strip().splitlines()[-1])


def test_types_run_folder(tmp_path):
    folder = _folder(run_cli("izhikevich", "types", "--output-dir", tmp_path, cwd=tmp_path))
    m = json.loads((folder / "manifest.json").read_text())
    assert m["status"] == "complete" and m["passed"] is True
    assert [c["name"] for c in m["checks"]] == ["RS", "IB", "CH", "FS", "LTS", "TC", "RZ"]
    spikes = load_spikes(folder / "spikes.h5")
    assert set(spikes) == {"RS", "IB", "CH", "FS", "LTS", "TC", "RZ"}
    assert all(m["spikes"][k]["count"] == len(v.times) > 5 for k, v in spikes.items())
    assert (folder / "checks.csv").read_text().count("\n") == 8
    with Image.open(folder / "types.png") as im:
        assert im.size[0] > 300 and im.size[1] > 300
    assert "[types]" in (folder / "config.toml").read_text()


def test_network_run_folder_short(tmp_path):
    # 2 s keeps the test short; the 10 s acceptance check is in test_izhikevich.py
    folder = _folder(
        run_cli("izhikevich", "network", "--duration", "2000", "--seed", "3", "--output-dir", tmp_path, cwd=tmp_path)
    )
    m = json.loads((folder / "manifest.json").read_text())
    spikes = load_spikes(folder / "spikes.h5")
    assert spikes["excitatory"].n_nodes == 800 and spikes["inhibitory"].n_nodes == 200
    n = len(spikes["excitatory"].times) + len(spikes["inhibitory"].times)
    assert m["metrics"]["mean_rate_hz"] == __import__("pytest").approx(n / 1000 / 2.0, rel=0.02)
    for f in ("raster.png", "population_rate.png", "spectrum.png"):
        assert (folder / f).stat().st_size > 1000


def test_bad_arguments_exit_2(tmp_path):
    proc = run_cli("izhikevich", "network", "--duration", "-5", cwd=tmp_path)
    assert proc.returncode == 2 and "must be a finite number > 0" in proc.stderr and "Traceback" not in proc.stderr
