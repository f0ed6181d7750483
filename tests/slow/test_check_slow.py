"""`spiking check`: NEST's capabilities and the test network plots, Brian2's compiler and a small build;: the slow part (``make test-slow``); the rest is in ``tests/test_check.py``."""

import re

import pytest

from conftest import run_cli


@pytest.mark.brian2
def test_check_builds_a_small_brian2_network(tmp_path):
    proc = run_cli("check", "--engine", "brian2", cwd=tmp_path, timeout=900)
    assert proc.returncode == 0, proc.stderr
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith("Brian2 2.") and "compiler" in line and "OpenMP yes" in line
    m = re.search(r"build took ([0-9.]+) s \((\d+) spikes\)", line)
    assert m and float(m.group(1)) > 0 and int(m.group(2)) > 0, line  # built, and the test network spiked
