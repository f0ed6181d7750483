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
