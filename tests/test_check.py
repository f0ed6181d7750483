"""`spiking check`: NEST's capabilities and the test network plots, Brian2's compiler and a small build;
a clear line when an engine is broken."""

import os
import sys

import pytest
from PIL import Image

from conftest import run_cli


@pytest.mark.nest
def test_check_draws_the_test_network(tmp_path):
    proc = run_cli("check", "--engine", "nest", "--out", tmp_path / "chk", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "NEST 3." in proc.stderr and "MPI" in proc.stderr and "HDF5" in proc.stderr
    for name in ("test0.png", "test1.png"):
        with Image.open(tmp_path / "chk" / name) as im:
            assert im.size[0] >= 500 and im.size[1] >= 500
    # a divergent Gaussian projection from 16 sources: some, but not all, of the 16 x 81 pairs
    n = int(proc.stderr.split("built with ")[1].split()[0])
    assert 16 <= n < 16 * 81


@pytest.mark.nest
def test_check_without_nest_says_so_in_one_line(tmp_path):
    fake = tmp_path / "fake" / "nest"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('libnestkernel.so: cannot open shared object file')\n")
    proc = run_cli(
        "check", "--engine", "nest", "--out", tmp_path / "chk", cwd=tmp_path, env={"PYTHONPATH": str(tmp_path / "fake")}
    )
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "NEST is not usable" in lines[0] and "pip install nest-simulator" in lines[0]


@pytest.mark.brian2
def test_check_without_a_compiler_names_the_package(tmp_path):
    """No C++ compiler on the PATH: one line that says to install Debian's g++, exit 1."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    os.symlink(sys.executable, bindir / "python")
    proc = run_cli("check", "--engine", "brian2", cwd=tmp_path, env={"PATH": str(bindir), "CXX": ""})
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Brian2 is not usable" in lines[0] and "apt-get install g++" in lines[0]
