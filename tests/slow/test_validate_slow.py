"""``spiking validate``: the comparison rules (pure numpy) and the command on both engines (tiny network): the slow part (``make test-slow``); the rest is in ``tests/test_validate.py``."""

import csv
import json

import pytest

from spiking.config import from_mapping, to_toml
from test_engines import net_data


@pytest.mark.nest
@pytest.mark.brian2
def test_validate_command_compares_both_engines(cli, tmp_path):
    """On a tiny network (three seeds): the folder holds the tables and the figure, and the exit status says agree."""
    cfg = tmp_path / "tiny.toml"
    cfg.write_text(to_toml(from_mapping(net_data(run={"simulation_time": 100.0, "threads": 2}))))
    proc = cli("validate", cfg, "--seeds", "3", "--set", f"run.output_dir='{tmp_path / 'out'}'", timeout=1500)
    assert proc.returncode in (0, 1), proc.stderr
    folder = tmp_path / "out" / proc.stdout.strip().splitlines()[-1].split("/")[-1]
    assert folder.is_dir()
    m = json.loads((folder / "manifest.json").read_text())
    assert m["engines"] == ["nest", "brian2"] and m["seeds"] == [1, 2, 3]
    rows = list(csv.DictReader(open(folder / "rates_compared.csv")))
    assert {r["layer"] for r in rows} == {"ex_on", "ex_off", "in_on", "in_off"}
    syn = list(csv.DictReader(open(folder / "synapses_compared.csv")))
    assert len(syn) == 16 and all(int(r["nest_synapses"]) > 0 for r in syn)
    assert (folder / "validate.png").stat().st_size > 10000
    agree = all(r["agree"] == "True" for r in rows) and all(r["agree"] == "True" for r in syn)
    agree = agree and all(r["agree"] == "True" for r in csv.DictReader(open(folder / "distances_compared.csv")))
    assert proc.returncode == (0 if agree else 1) and m["agree"] == agree
    assert agree, proc.stderr  # the engines are one model: on this network they must agree
    # the network and the input drawn by the model: compared spike for spike, and identical
    assert m["compared"] == "spike for spike" and m["identical_spikes"] is True
    spikes = list(csv.DictReader(open(folder / "spikes_compared.csv")))
    assert len(spikes) == 3 * 4 and all(r["identical"] == "True" for r in spikes)
    assert sum(int(r["nest_spikes"]) for r in spikes) > 1000
