"""`spiking izhikevich types|network` leave run folders like any other run, on either engine, and exit 1 when a check fails: the slow part (``make test-slow``); the rest is in ``tests/test_izhikevich_cli.py``."""

import json

import numpy as np
import pytest
from PIL import Image

from conftest import run_cli
from spiking.io.spikefile import load_spikes
from test_izhikevich_cli import CLASSES, _folder, _one_line_error


@pytest.fixture(scope="module")
def types_folders(tmp_path_factory):
    """`spiking izhikevich types` on NEST and on Brian2."""
    out = tmp_path_factory.mktemp("types")
    return {
        engine: _folder(run_cli("izhikevich", "types", "--engine", engine, "--output-dir", out, cwd=out))
        for engine in ("nest", "brian2")
    }


@pytest.mark.nest
def test_types_run_folder(types_folders):
    folder = types_folders["nest"]
    m = json.loads((folder / "manifest.json").read_text())
    assert m["status"] == "complete" and m["passed"] is True
    assert [c["name"] for c in m["checks"]] == CLASSES
    spikes = load_spikes(folder / "spikes.h5")
    assert set(spikes) == set(CLASSES)
    assert all(m["spikes"][k]["count"] == len(v.times) > 5 for k, v in spikes.items())
    assert (folder / "checks.csv").read_text().count("\n") == 8
    with Image.open(folder / "types.png") as im:
        assert im.size[0] > 300 and im.size[1] > 300
    assert "[types]" in (folder / "izhikevich.toml").read_text()
    assert not (folder / "config.toml").exists()  # that name is a pathway config's
    assert m["engine"]["name"] == "nest" and m["engine"]["version"] and m["versions"]["nest"]


@pytest.mark.nest
def test_types_exit_1_when_a_class_fails(tmp_path):
    # 40 ms of step: RS fires twice, too few spikes to show adaptation
    proc = run_cli("izhikevich", "types", "--duration", "60", "--output-dir", tmp_path, cwd=tmp_path)
    folder = _folder(proc, code=1)
    assert "not as in the paper" in proc.stderr and "RS" in proc.stderr
    m = json.loads((folder / "manifest.json").read_text())
    assert m["status"] == "complete" and m["passed"] is False
    assert not next(c for c in m["checks"] if c["name"] == "RS")["passed"]


@pytest.mark.nest
def test_network_exit_1_when_the_rhythm_check_fails(tmp_path):
    # 1 s is one Welch segment: too short to tell a rhythm from noise
    proc = run_cli("izhikevich", "network", "--duration", "1000", "--output-dir", tmp_path, cwd=tmp_path)
    folder = _folder(proc, code=1)
    assert "network check failed: segments" in proc.stderr
    m = json.loads((folder / "manifest.json").read_text())
    assert m["passed"] is False and m["metrics"]["segments"] == 1 and m["metrics"]["segments_ok"] is False


@pytest.mark.brian2
def test_types_on_brian2_equal_nest(types_folders):
    folder = types_folders["brian2"]
    m = json.loads((folder / "manifest.json").read_text())
    assert m["status"] == "complete" and m["passed"] is True and m["parameters"]["engine"] == "brian2"
    assert m["engine"]["name"] == "brian2" and m["engine"]["codegen_target"] == "numpy" and m["engine"]["version"]
    b2, nest = load_spikes(folder / "spikes.h5"), load_spikes(types_folders["nest"] / "spikes.h5")
    for name in CLASSES:
        # every spike in the same 0.1 ms step (tolerance half a step)
        assert len(b2[name].times) == len(nest[name].times) > 5
        assert np.max(np.abs(b2[name].times - nest[name].times)) < 0.05


@pytest.mark.nest
def test_render_refuses_an_izhikevich_folder(types_folders):
    proc = run_cli("render", types_folders["nest"])
    _one_line_error(proc, "a `spiking izhikevich types` run has no pathway to render")
