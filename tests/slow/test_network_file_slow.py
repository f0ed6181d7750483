"""The network as data, end to end on the real engines: drawn once, the same on NEST and Brian2, written as SONATA,: the slow part (``make test-slow``); the rest is in ``tests/test_network_file.py``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import h5py
import pytest

from conftest import run_cli
from test_network_file import _one_line, spikes_of


@pytest.mark.nest
def test_export_then_run_gives_the_same_spikes(runs, tmp_path):
    """``spiking run --network`` runs the exported file: the same synapses and every spike the same."""
    folder, net = runs["nest"]
    cfg = tmp_path / "same.toml"
    shutil.copy(folder / "config.toml", cfg)
    proc = run_cli(
        "run",
        cfg,
        "--network",
        net,
        "--no-render",
        "--no-progress",
        "-q",
        "--set",
        f"run.output_dir='{tmp_path / 'out'}'",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    again = Path(proc.stdout.strip().splitlines()[-1])
    m = json.loads((again / "manifest.json").read_text())
    assert m["network"]["source"] == "file" and m["network"]["path"] == str(net.resolve())
    assert m["synapses"] == json.loads((folder / "manifest.json").read_text())["synapses"]
    assert spikes_of(again) == spikes_of(folder)


@pytest.mark.nest
def test_a_network_file_that_does_not_fit_is_refused_in_one_line(runs, tmp_path):
    """Another config, a changed file, or no network at all: one line, exit 2, and no run folder."""
    folder, net = runs["nest"]
    out = tmp_path / "out"

    def run(*args):
        return run_cli(
            "run",
            folder / "config.toml",
            "--no-render",
            "--no-progress",
            "-q",
            "--set",
            f"run.output_dir='{out}'",
            *args,
            cwd=tmp_path,
        )

    _one_line(
        run("--network", net, "--set", "projections.ex_on_to_ex_on.radius=0.5"),
        r"edge population ex_on_to_ex_on: \d+ edges outside the config's mask",
    )
    _one_line(
        run("--network", net, "--set", "network.neurons_per_minicolumn=10"),
        r"node population \w+ has \d+ nodes, the config's layer \d+",
    )
    _one_line(
        run("--network", net, "--set", "projections.in_on_to_ex_on.weight=-3.0"),
        r"edge population in_on_to_ex_on: weights -2 to -2 mV, the config's -3 mV",
    )
    _one_line(run("--network", tmp_path), r".*circuit_config.json: cannot be read \(No such file or directory\)")
    broken = tmp_path / "broken"
    shutil.copytree(net, broken)
    with h5py.File(broken / "edges.h5", "r+") as h5:
        d = h5["edges/ex_on_to_ex_on/0/delay"]
        d[0] = d[0] + 0.05
    _one_line(run("--network", broken), r"edge population ex_on_to_ex_on: delays off the 0.1 ms time grid")
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.nest
def test_the_drawn_network_and_nests_own_sampling_give_the_same_v1_over_seeds(tmp_path):
    """``network.wiring = "model"`` against ``"engine"`` (NEST's spatial connect), five seeds each.

    One hypercolumn at the default density, 300 ms: per-layer mean V1 rates agree within 10% or 3
    standard errors, synapses per projection (summed over seeds) within 1% or 3 standard deviations of
    chance (:mod:`spiking.validate.compare`).
    """
    from spiking.config import from_mapping
    from spiking.run import run
    from spiking.validate.compare import compare_counts, compare_rates

    rates: dict = {"model": {}, "engine": {}}
    counts: dict = {"model": {}, "engine": {}}
    for wiring, by_layer in rates.items():
        for seed in range(1, 6):
            cfg = from_mapping(
                {
                    "network": {"hypercolumns": 1, "wiring": wiring},
                    "run": {"simulation_time": 300.0, "threads": 2, "seed": seed, "output_dir": str(tmp_path)},
                    "stimulus": {"switch_every": 100.0},
                }
            )
            m = run(cfg, progress=False, quiet=True).manifest
            for layer, s in m["spikes"].items():
                by_layer.setdefault(layer, []).append(s["mean_rate_hz"])
            for name, n in m["synapses"].items():
                counts[wiring][name] = counts[wiring].get(name, 0) + n
    for r in compare_rates(rates["engine"], rates["model"]):
        assert r.mean_a > 0.5 and r.agree, r
    for c in compare_counts(counts["engine"], counts["model"]):
        assert c.agree, c
