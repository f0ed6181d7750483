"""Distributed runs under a real ``mpirun`` with NEST built with MPI (``make mpi``).

Run by ``make test-mpi`` (which sets SPIKING_MPI_PYTHON to the MPI build's Python).
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from spiking.io.spikefile import load_spikes

pytestmark = pytest.mark.mpi

MPI_PYTHON = os.environ.get("SPIKING_MPI_PYTHON")
ENV = {
    **os.environ,
    "OMPI_ALLOW_RUN_AS_ROOT": "1",
    "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
    "OMPI_MCA_rmaps_base_oversubscribe": "1",
}


@pytest.fixture(autouse=True, scope="module")
def _mpi_available():
    """Skip without the MPI build, except in CI, where its absence is a failure."""
    if not MPI_PYTHON or not shutil.which("mpirun"):
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("MPI tests need `make mpi` first (SPIKING_MPI_PYTHON and mpirun)")
        pytest.skip("needs `make mpi` (set SPIKING_MPI_PYTHON) and mpirun")


SMALL = ["--preset", "small", "--no-progress", "--set", "run.simulation_time=200.0"]


def _mpirun(n, python, *args, cwd, timeout=300):
    cmd = ["mpirun", "-np", str(n), python, "-m", "spiking", *map(str, args)]
    return subprocess.run(cmd, cwd=cwd, env=ENV, capture_output=True, text=True, timeout=timeout)


def _serial(python, *args, cwd, timeout=300):
    return subprocess.run(
        [python, "-m", "spiking", *map(str, args)], cwd=cwd, env=ENV, capture_output=True, text=True, timeout=timeout
    )


def _folder(proc):
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1, proc.stdout  # only rank 0 prints the folder
    return Path(lines[0])


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mpi")
    out = f"run.output_dir='{tmp}'"
    two_ranks = _folder(_mpirun(2, MPI_PYTHON, "run", *SMALL, "--set", "run.threads=1", "--set", out, cwd=tmp))
    two_threads = _folder(_serial(MPI_PYTHON, "run", *SMALL, "--set", "run.threads=2", "--set", out, cwd=tmp))
    return two_ranks, two_threads


def test_two_ranks_give_one_complete_run_folder(pair):
    folder, _ = pair
    m = json.loads((folder / "manifest.json").read_text())
    assert m["status"] == "complete" and m["processes"] == 2 and m["threads"] == 1
    assert m["engine"]["build_info"]["have_mpi"] is True
    assert len(list(folder.parent.iterdir())) >= 1
    spikes = load_spikes(folder / "spikes.h5")
    assert set(spikes) == {"ex_on", "ex_off", "in_on", "in_off"}
    for name, s in spikes.items():
        pairs = np.rec.fromarrays([s.node_ids, s.times])
        assert len(np.unique(pairs)) == len(pairs), f"{name}: a spike written twice"
        assert m["spikes"][name]["count"] == len(s.times) > 0
        # NEST spreads the nodes over both ranks: spikes of both halves are in the file
        assert len(np.unique(s.node_ids % 2)) == 2
        assert np.all(np.diff(s.times) >= 0)


def test_ranks_and_threads_give_identical_spikes(pair):
    """Same seed, same number of virtual processes: 2 ranks x 1 thread == 1 rank x 2 threads."""
    a, b = (load_spikes(f / "spikes.h5") for f in pair)
    ma, mb = (json.loads((f / "manifest.json").read_text()) for f in pair)
    assert ma["synapses"] == mb["synapses"]
    for name in a:
        assert np.array_equal(a[name].times, b[name].times), name
        assert np.array_equal(a[name].node_ids, b[name].node_ids), name


def test_bad_config_fails_on_every_rank_without_hanging(tmp_path):
    proc = _mpirun(2, MPI_PYTHON, "run", *SMALL, "--set", "network.hypercolumns=3", cwd=tmp_path, timeout=120)
    assert proc.returncode == 2
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("spiking: error:")]
    assert errors == ["spiking: error: network.hypercolumns: must be a square number (1, 4, 9, 16, ...), got 3"]
    assert "Traceback" not in proc.stderr


def test_unwritable_output_fails_on_every_rank(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    proc = _mpirun(2, MPI_PYTHON, "run", *SMALL, "--set", f"run.output_dir='{blocker}/sub'", cwd=tmp_path, timeout=120)
    assert proc.returncode == 2
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("spiking: error:")]
    assert len(errors) == 1 and "output folder cannot be created" in errors[0]


def test_nest_without_mpi_under_a_launcher_says_so(tmp_path):
    """The PyPI NEST (no MPI; the test runner's own) started by mpirun: one line saying how to get the MPI build."""
    proc = _mpirun(2, sys.executable, "run", *SMALL, cwd=tmp_path, timeout=120)
    if "have_mpi" in proc.stderr or proc.returncode == 0:
        pytest.fail(proc.stderr)
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("spiking: error:")]
    assert proc.returncode == 2
    assert len(errors) == 1 and "the installed NEST has no MPI" in errors[0] and "make mpi" in errors[0]
    assert not any(tmp_path.rglob("manifest.json"))
