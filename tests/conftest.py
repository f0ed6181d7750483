"""Shared helpers: tiny configs and a CLI runner."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def tiny(**sections):
    """Plain config data for a tiny network (one hypercolumn of 3x3 minicolumns of 10 neurons)."""
    data = {
        "network": {"hypercolumns": 1, "minicolumn_side": 3, "neurons_per_minicolumn": 10},
        "run": {"simulation_time": 200.0, "threads": 1, "chunk": 50.0},
        "stimulus": {"switch_every": 100.0},
    }
    for section, values in sections.items():
        data.setdefault(section, {}).update(values)
    return data


@pytest.fixture
def tiny_data():
    return tiny


def run_cli(*args, cwd=None, timeout=600, env=None):
    """Run ``python -m spiking ARGS`` and return the completed process."""
    e = dict(os.environ)
    e.setdefault("PYTHONHASHSEED", "0")
    if env:
        e.update(env)
    return subprocess.run(
        [sys.executable, "-m", "spiking", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=e,
    )


@pytest.fixture
def cli():
    return run_cli


def formats_config(**sections):
    """A tiny network whose V1 fires (stronger LGN -> V1 weights), LGN ON recorded too, 400 ms, two threads.

    ``ex_on -> ex_on`` delays grow with distance (2 ms per unit), so exported delays can be checked.
    """
    lgn = {
        name: {"weight": 6.0}
        for name in ("lgn_on_to_ex_on", "lgn_on_to_in_on", "lgn_off_to_ex_off", "lgn_off_to_in_off")
    }
    data = tiny(
        network={"minicolumn_side": 4, "neurons_per_minicolumn": 20},
        run={"simulation_time": 400.0, "threads": 2, "seed": 7},
        recording={"layers": ["lgn_on", "ex_on", "ex_off", "in_on", "in_off"]},
        projections={**lgn, "ex_on_to_ex_on": {"delay_per_unit": 2.0}},
        retina={"source": "generators"},  # the original's machinery: the SONATA export has retina nodes
    )
    for section, values in sections.items():
        data.setdefault(section, {}).update(values)
    return data


def make_real_run(tmp: Path, data: dict, name: str = "run") -> Path:
    """``spiking run --no-render`` of ``data`` into ``tmp/output``; the run folder."""
    from spiking.config import from_mapping, to_toml

    data = {**data, "run": {**data.get("run", {}), "output_dir": str(tmp / "output"), "name": name}}
    cfg = tmp / f"{name}.toml"
    cfg.write_text(to_toml(from_mapping(data)))
    proc = run_cli("run", cfg, "--no-progress", "--no-render", "-q", cwd=tmp)
    assert proc.returncode == 0, proc.stderr
    return Path(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def formats_run(tmp_path_factory):
    """A real tiny run (NEST, retina generators) shared by the API, analysis and export tests. Do not modify it."""
    return make_real_run(tmp_path_factory.mktemp("formats"), formats_config())
