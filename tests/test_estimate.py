"""The pre-flight estimate: its memory formula per engine, ``spiking config --estimate``, and the refusals it drives.

The fitted constants themselves are checked by ``benchmarks/memory_model.py``
(held-out size within 15%, on each engine; ``docs/benchmarks.md``); here, that
the estimate computes its formula with the run engine's constants, and that a
run that would not fit is refused in one line unless ``--force``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import run_cli, tiny
from spiking.config import from_mapping, load_config, to_toml
from spiking.engines.registry import ENGINES
from spiking.model.estimate import MemoryModel, estimate, format_estimate, memory_model

MEMORY_MODELS = {name: spec.memory for name, spec in ENGINES.items()}


def test_memory_model_is_base_plus_nodes_synapses_and_node_seconds():
    m = MemoryModel(base_bytes=100e6, bytes_per_node=2000.0, bytes_per_synapse=40.0, bytes_per_node_second=500.0)
    assert m.bytes(0, 0) == 100e6
    assert m.bytes(1000, 0, seconds=0.0) == 100e6 + 2e6
    assert m.bytes(1000, 1e6, seconds=0.0) == 100e6 + 2e6 + 40e6
    assert m.bytes(1000, 1e6, seconds=4.0) == 100e6 + 2e6 + 40e6 + 2e6
    assert MemoryModel(1.0, 2.0, 3.0).bytes(1, 1, seconds=1e9) == 6.0  # nothing grows with time unless fitted
    p = MemoryModel(100e6, 2000.0, 40.0, 500.0, bytes_per_plastic_synapse=150.0)
    assert p.bytes(1000, 1e6, seconds=0.0, plastic=1e5) == 100e6 + 2e6 + 40e6 + 15e6


def test_each_engine_has_its_own_fitted_model():
    assert set(MEMORY_MODELS) == {"nest", "brian2"}
    nest, brian2 = memory_model("nest"), memory_model("brian2")
    assert nest != brian2
    for m in (nest, brian2):  # a process with nothing built, a cost per synapse; no cost below 0
        assert m.base_bytes > 50e6 and m.bytes_per_synapse > 0
        assert min(m.bytes_per_node, m.bytes_per_node_second) >= 0
    with pytest.raises(ValueError, match="unknown engine 'neuron'; available: nest, brian2"):
        memory_model("neuron")


def test_an_engine_without_a_memory_model_does_not_break_the_preflight(monkeypatch):
    """No memory figure, a line that says so, and the pre-flight check tests the disk only."""
    import dataclasses

    from spiking.engines import registry
    from spiking.run.preflight import preflight_problem

    bare = dataclasses.replace(ENGINES["brian2"], memory=None)
    monkeypatch.setitem(registry.ENGINES, "brian2", bare)
    cfg = from_mapping(tiny(run={"engine": "brian2"}))
    est = estimate(cfg)
    assert est.memory_bytes is None and est.per_process_bytes(2) is None and est.synapses_total > 0
    assert "brian2 declares no memory model" in format_estimate(est, processes=2)
    assert preflight_problem(cfg, est, 1, force=False) is None


@pytest.mark.parametrize("engine", ["nest", "brian2"])
def test_the_estimate_uses_the_run_engines_model(engine):
    cfg = from_mapping(tiny(run={"engine": engine}))
    est = estimate(cfg)
    model = MEMORY_MODELS[engine]
    assert est.engine == engine and est.base_bytes == model.base_bytes
    seconds = cfg.run.simulation_time / 1000.0  # 200 ms
    assert est.memory_bytes == pytest.approx(model.bytes(est.neurons_total, est.synapses_total, seconds), rel=1e-12)
    # under MPI the network is shared out, the base paid by every process
    assert est.per_process_bytes(1) == pytest.approx(est.memory_bytes)
    assert est.per_process_bytes(4) == pytest.approx(model.base_bytes + (est.memory_bytes - model.base_bytes) / 4)
    assert f"on {engine}, all processes together" in format_estimate(est)


@pytest.mark.parametrize("engine", ["nest", "brian2"])
def test_plastic_synapses_cost_more_memory_than_static_ones(engine):
    """A plastic projection adds the engine's measured cost per plastic synapse for each of its synapses."""
    static = estimate(from_mapping(tiny(run={"engine": engine})))
    plastic_cfg = tiny(run={"engine": engine})
    plastic_cfg["projections"] = {"lgn_on_to_ex_on": {"plasticity": "stdp", "stdp": {}}}
    plastic = estimate(from_mapping(plastic_cfg))
    per = MEMORY_MODELS[engine].bytes_per_plastic_synapse
    assert per > MEMORY_MODELS[engine].bytes_per_synapse  # reading and writing the weights costs more than a synapse
    assert plastic.synapses == static.synapses
    extra = plastic.memory_bytes - static.memory_bytes
    assert extra == pytest.approx(per * static.synapses["lgn_on_to_ex_on"], rel=1e-9)


def test_the_same_network_needs_different_memory_on_each_engine():
    a = estimate(from_mapping(tiny(run={"engine": "nest"})))
    b = estimate(from_mapping(tiny(run={"engine": "brian2"})))
    assert a.synapses == b.synapses and a.neurons == b.neurons
    assert a.memory_bytes != b.memory_bytes


def _figure(text: str, label: str) -> float:
    """The number on the line that starts with ``label`` (commas removed; GB or MB to bytes)."""
    line = next(ln for ln in text.splitlines() if ln.startswith(label))
    value, unit = re.search(r"([\d,.]+)\s*(GB|MB)?", line[len(label) :]).groups()
    return float(value.replace(",", "")) * {"GB": 1e9, "MB": 1e6, None: 1.0}[unit]


@pytest.mark.parametrize("engine", ["nest", "brian2"])
def test_config_estimate_prints_what_the_config_needs(engine):
    """``spiking config --estimate``: the nodes of the model, the synapses' expectation, the engine's memory."""
    sets = ["--set", "network.hypercolumns=4", "--set", "network.neurons_per_minicolumn=12"]
    proc = run_cli("config", "--estimate", *sets, "--set", f"run.engine='{engine}'")
    assert proc.returncode == 0, proc.stderr
    cfg, _ = load_config(
        overrides=["network.hypercolumns=4", "network.neurons_per_minicolumn=12", f"run.engine='{engine}'"]
    )
    est = estimate(cfg, targets=1000)
    out = proc.stdout
    assert _figure(out, "nodes") == est.neurons_total == 19410  # 4 hc x 12: measured for docs/benchmarks.md
    assert _figure(out, "synapses") == pytest.approx(est.synapses_total, abs=0.5)
    assert abs(est.synapses_total - 2_086_155) / 2_086_155 < 0.01  # what NEST built for this config
    memory = _figure(out, "memory")
    want = MEMORY_MODELS[engine].bytes(est.neurons_total, est.synapses_total, cfg.run.simulation_time / 1000.0)
    assert memory == pytest.approx(want, abs=0.051e9)  # printed to 0.1 GB
    assert f"on {engine}" in out and _figure(out, "available") > 0


# ---- refusals --------------------------------------------------------------------------------


def test_a_network_too_big_for_this_machine_is_refused_in_one_line(tmp_path):
    """100 hypercolumns (about 37 GB on NEST): refused before anything is built, exit 2, no folder."""
    out = tmp_path / "output"
    proc = run_cli("run", "--set", "network.hypercolumns=100", "--set", f"run.output_dir='{out}'", "-q", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.splitlines()[-1].startswith("spiking: error: the network needs about ")
    assert "of memory per process but" in proc.stderr and proc.stderr.rstrip().endswith("or pass --force")
    assert not out.exists()


def _tiny_config(tmp_path: Path) -> Path:
    data = tiny(run={"output_dir": str(tmp_path / "output"), "simulation_time": 100.0})
    path = tmp_path / "c.toml"
    path.write_text(to_toml(from_mapping(data)))
    return path


def test_force_runs_what_the_memory_check_refuses(tmp_path, monkeypatch, capsys):
    """With less memory available than the estimate (faked: 1 MB), refused; with ``--force`` the run completes."""
    from spiking.cli import main
    from spiking.run import preflight

    monkeypatch.setattr(preflight, "available_memory_bytes", lambda: 1e6)
    cfg = _tiny_config(tmp_path)
    assert main(["run", str(cfg), "--no-progress", "--no-render", "-q"]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "spiking: error: the network needs about 0.2 GB of memory per process but 0.0 GB is available; lower "
        "network.hypercolumns or network.neurons_per_minicolumn, run on more processes, or pass --force"
    ]
    assert not (tmp_path / "output").exists()
    assert main(["run", str(cfg), "--no-progress", "--no-render", "-q", "--force"]) == 0
    folder = Path(capsys.readouterr().out.strip().splitlines()[-1])
    assert json.loads((folder / "manifest.json").read_text())["status"] == "complete"


def test_the_memory_check_uses_the_engines_model(tmp_path, monkeypatch):
    """The same network with just enough memory for one engine's estimate: the other engine's run is refused."""
    from spiking.model.network import build_model
    from spiking.run import preflight

    nest = from_mapping(tiny(run={"engine": "nest"}))
    brian2 = from_mapping(tiny(run={"engine": "brian2"}))
    a, b = estimate(nest), estimate(brian2)
    low, high = sorted([(a.memory_bytes, nest), (b.memory_bytes, brian2)], key=lambda x: x[0])
    monkeypatch.setattr(preflight, "available_memory_bytes", lambda: (low[0] + high[0]) / 2)
    assert preflight.preflight_problem(low[1], estimate(low[1], build_model(low[1], stimuli=False)), 1, False) is None
    problem = preflight.preflight_problem(high[1], estimate(high[1]), 1, False)
    assert problem and problem.startswith(f"the network needs about {high[0] / 1e9:.1f} GB of memory")


def _measured_table(engine_heading: str) -> list[dict]:
    """The rows of a memory-model table in docs/benchmarks.md."""
    from conftest import ROOT

    text = (ROOT / "docs" / "benchmarks.md").read_text()
    section = text[text.index(engine_heading) :]
    rows = []
    for line in section.splitlines()[1:]:
        if line.startswith("####"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 8 and cells[0][0].isdigit():
            rows.append(
                {
                    "seconds": float(cells[1].removesuffix(" ms")) / 1000.0,
                    "nodes": int(cells[2].replace(",", "")),
                    "synapses": int(cells[3].replace(",", "")),
                    "peak_mb": float(cells[4].replace(",", "")),
                    "role": cells[7],
                }
            )
    return rows


@pytest.mark.parametrize("engine, heading", [("nest", "#### NEST"), ("brian2", "#### Brian2")])
def test_the_constants_reproduce_the_measured_table(engine, heading):
    """The constants in the code against the runs docs/benchmarks.md lists: held-out size within 15%, fitted within 5%.

    Changing a constant without measuring again fails here.
    """
    rows = _measured_table(heading)
    assert len(rows) >= 4 and [r["role"] for r in rows].count("held out") == 1
    assert len({(r["nodes"], r["synapses"]) for r in rows if r["role"] == "fit"}) >= 3  # three sizes or more
    model = MEMORY_MODELS[engine]
    for r in rows:
        pred = model.bytes(r["nodes"], r["synapses"], r["seconds"]) / 1e6
        err = (pred - r["peak_mb"]) / r["peak_mb"]
        assert abs(err) <= (0.15 if r["role"] == "held out" else 0.05), (engine, r, pred)
