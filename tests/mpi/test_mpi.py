"""Distributed runs under a real ``mpirun`` with NEST built with MPI (``make mpi``).

Run by ``make test-mpi`` (which sets SPIKING_MPI_PYTHON to the MPI build's Python).
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import fill_disk, tmpfs, wait_for_model_time
from spiking.io.spikefile import load_spikes

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
    """The same run on 2 ranks x 1 thread and on 1 rank x 2 threads, each into an output folder of its own."""
    tmp = tmp_path_factory.mktemp("mpi")
    ranks = f"run.output_dir='{tmp / 'ranks'}'"
    threads = f"run.output_dir='{tmp / 'threads'}'"
    two_ranks = _folder(_mpirun(2, MPI_PYTHON, "run", *SMALL, "--set", "run.threads=1", "--set", ranks, cwd=tmp))
    two_threads = _folder(_serial(MPI_PYTHON, "run", *SMALL, "--set", "run.threads=2", "--set", threads, cwd=tmp))
    return two_ranks, two_threads


def test_two_ranks_give_one_complete_run_folder(pair):
    folder, _ = pair
    m = json.loads((folder / "manifest.json").read_text())
    assert m["status"] == "complete" and m["processes"] == 2 and m["threads"] == 1
    assert m["engine"]["build_info"]["have_mpi"] is True
    # every rank agreed on one folder: the run's output folder holds exactly it, and nothing else
    assert list(folder.parent.iterdir()) == [folder]
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


def test_ranks_threads_and_brian2_give_identical_spikes(pair, tmp_path):
    """The network and the input drawn by the model: 2 ranks x 1 thread == 1 rank x 2 threads == Brian2, spike for spike."""
    proc = subprocess.run(
        [sys.executable, "-m", "spiking", "run", *SMALL, "--no-render", "--engine", "brian2", "--set", "run.threads=2",
         "--set", f"run.output_dir='{tmp_path / 'brian2'}'"],
        cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    folder = _folder(proc)
    ranks = load_spikes(pair[0] / "spikes.h5")
    brian2 = load_spikes(folder / "spikes.h5")
    m_ranks, m_brian2 = (json.loads((f / "manifest.json").read_text()) for f in (pair[0], folder))
    assert m_ranks["synapses"] == m_brian2["synapses"] and m_ranks["network"]["key"] == m_brian2["network"]["key"]
    assert set(ranks) == set(brian2)
    for name in ranks:
        a = sorted(zip(ranks[name].node_ids.tolist(), np.round(ranks[name].times, 6).tolist()))
        b = sorted(zip(brian2[name].node_ids.tolist(), np.round(brian2[name].times, 6).tolist()))
        assert len(a) > 100 and a == b, name


_SONATA_RUN = """
import sys, json
import h5py  # before nest: NEST's HDF5 and h5py's in one process
import nest
import numpy as np
net_dir, threads = sys.argv[1], int(sys.argv[2])
nest.set(local_num_threads=threads)
net = nest.SonataNetwork(net_dir + "/circuit_config.json", sim_config=net_dir + "/simulation_config.json")
nodes = net.BuildNetwork()
recorders = {}
for name in ("ex_on", "ex_off", "in_on", "in_off"):
    recorders[name] = nest.Create("spike_recorder")
    nest.Connect(nodes[name], recorders[name])
net.Simulate()
out = {}
for name, sr in recorders.items():
    ev = sr.get("events")
    out[name] = [np.asarray(ev["senders"] - nodes[name][0].global_id).tolist(), np.asarray(ev["times"]).tolist()]
print(json.dumps(out))
"""


def test_nest_sonata_reader_runs_the_export_to_the_same_spikes(pair, tmp_path):
    """A SONATA simulator takes the export as it is: NEST's own SonataNetwork (the MPI build has HDF5) builds the
    exported nodes, edges and input spike files, and gives every V1 spike of the run."""
    run = pair[1]  # 1 process x 2 threads
    proc = subprocess.run(
        [sys.executable, "-m", "spiking", "export", run, "--sonata-network", "--out", tmp_path, "-q"],
        env=ENV, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    sim = subprocess.run(
        [MPI_PYTHON, "-c", _SONATA_RUN, tmp_path / "network", "2"], env=ENV, capture_output=True, text=True, timeout=600
    )
    assert sim.returncode == 0, sim.stderr[-3000:]
    got = json.loads(sim.stdout.strip().splitlines()[-1])
    want = load_spikes(run / "spikes.h5")
    for name, (ids, times) in got.items():
        a = sorted(zip(ids, np.round(times, 6).tolist()))
        b = sorted(zip(want[name].node_ids.tolist(), np.round(want[name].times, 6).tolist()))
        assert len(b) > 100 and a == b, name


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


# ---- faults under MPI ---------------------------------------------------------------------------

LONG = ["--preset", "small", "--no-progress", "--no-render", "--set", "run.threads=1"]


def _start(tmp_path: Path, out: Path, seconds: float = 60.0) -> tuple[subprocess.Popen, Path, list[str]]:
    """``mpirun -np 2 spiking run`` of a long run into ``out``; returns once rank 0 named its folder."""
    cmd = ["mpirun", "-np", "2", MPI_PYTHON, "-m", "spiking", "run", *LONG]
    cmd += ["--set", f"run.simulation_time={seconds * 1000.0}", "--set", f"run.output_dir='{out}'"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = []
    for line in proc.stderr:
        lines.append(line)
        if line.startswith("run folder "):
            return proc, Path(line[len("run folder ") :].strip()), lines
    proc.wait(timeout=60)
    pytest.fail("".join(lines))


def _children(parent: int) -> dict[int, int]:
    """``rank -> pid`` of the processes ``parent`` (mpirun) started, from /proc."""
    ranks = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            if int((d / "stat").read_text().rsplit(")", 1)[1].split()[1]) != parent:
                continue
            env = (d / "environ").read_bytes().split(b"\0")
        except (OSError, ValueError, IndexError):
            continue
        for var in env:
            if var.startswith(b"OMPI_COMM_WORLD_RANK="):
                ranks[int(var.split(b"=", 1)[1])] = int(d.name)
    return ranks


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _watchers(folder: Path) -> list[int]:
    """Pids of run-folder watchers (``spiking.io.guard``) of ``folder`` still running."""
    out = []
    for d in Path("/proc").iterdir():
        try:
            cmd = (d / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"spiking.io.guard" in cmd and str(folder).encode() in cmd:
            out.append(int(d.name))
    return out


def _manifest_when(folder: Path, status: str, timeout: float = 10.0) -> dict:
    end = time.time() + timeout
    while True:
        m = json.loads((folder / "manifest.json").read_text())
        if m["status"] == status or time.time() > end:
            return m
        time.sleep(0.1)


@pytest.mark.parametrize("victim", [1, 0])
def test_a_rank_killed_mid_run_stops_every_process_and_the_folder_says_failed(tmp_path, victim):
    """SIGKILL to one rank while the run simulates: every process ends within 60 s, the manifest says ``failed``.

    mpirun stops the other rank (SIGTERM, then SIGKILL a second later, while
    it waits inside NEST for the dead one); rank 0's watcher then writes
    ``failed`` with the model time that ``spikes.h5.part`` reached.
    """
    proc, folder, lines = _start(tmp_path, tmp_path / "out")
    wait_for_model_time(folder / "spikes.h5.part", 100.0, proc)
    ranks = _children(proc.pid)
    assert set(ranks) == {0, 1}, ranks
    t0 = time.monotonic()
    os.kill(ranks[victim], signal.SIGKILL)
    out, err = proc.communicate(timeout=60)  # a hang fails here
    assert proc.returncode != 0
    while any(_alive(pid) for pid in ranks.values()) and time.monotonic() - t0 < 60:
        time.sleep(0.1)  # mpirun may leave before the rank it killed is gone
    assert not [pid for pid in ranks.values() if _alive(pid)], "a rank outlived 60 s"
    m = _manifest_when(folder, "failed")
    assert m["status"] == "failed", "".join(lines) + err
    assert m["error"].startswith("ProcessDied: rank 0 of 2 processes") and "another rank died" in m["error"]
    assert m["t_reached_ms"] >= 100.0 and m["finished"]
    assert (
        m["note"]
        == f"spikes.h5.part holds the spikes written up to {m['t_reached_ms']:g} ms (the last chunk may be cut)"
    )
    end = time.time() + 10
    while _watchers(folder) and time.time() < end:
        time.sleep(0.1)
    assert not _watchers(folder)


def test_a_complete_mpi_run_leaves_no_watcher(pair):
    folder, _ = pair
    assert not _watchers(folder)


def test_disk_full_under_mpi_stops_both_ranks_in_one_line(tmp_path):
    """A tmpfs filled while 2 ranks simulate: rank 0 cannot write, both ranks stop at that chunk; exit 1, one line."""
    with tmpfs(tmp_path / "disk", "200m") as disk:
        proc, folder, lines = _start(tmp_path, disk / "out", seconds=20.0)
        wait_for_model_time(folder / "spikes.h5.part", 100.0, proc)
        fill_disk(disk, leave=256 * 1024)
        out, err = proc.communicate(timeout=120)
        err = "".join(lines) + err
        assert proc.returncode == 1, err
        assert "Traceback" not in err and "MPI_ABORT" not in err
        errors = [ln for ln in err.splitlines() if ln.startswith("spiking: error:")]
        assert len(errors) == 1 and errors[0].startswith("spiking: error: disk full: "), err
        m = json.loads((folder / "manifest.json").read_text())
        assert m["status"] == "failed" and m["error"].startswith("DiskFullError") and m["t_reached_ms"] >= 100.0
        kept = load_spikes(folder / "spikes.h5")
        assert sum(m["spikes"][n]["count"] for n in kept) == sum(len(s.times) for s in kept.values())
        assert len(np.unique(kept["ex_on"].node_ids % 2)) == 2  # both ranks' spikes up to the stop


def test_a_plastic_projection_learns_from_its_start_alike_on_ranks_and_threads(tmp_path):
    """STDP with a later ``start`` under mpirun: the MPI build has the synapse model, the weights stay as built
    until the start and move after it, and 2 ranks x 1 thread give the spikes and weights of 1 rank x 2 threads."""
    plastic = [
        "--set", "stimulus.switch_every=100.0",
        "--set", 'projections.lgn_on_to_ex_on.plasticity="stdp"',
        "--set", "projections.lgn_on_to_ex_on.stdp.w_max=3.0",
        "--set", "projections.lgn_on_to_ex_on.stdp.a_plus=0.05",
        "--set", "projections.lgn_on_to_ex_on.stdp.start=100.0",
    ]  # fmt: skip
    ranks = _folder(
        _mpirun(2, MPI_PYTHON, "run", *SMALL, *plastic, "--set", "run.threads=1",
                "--set", f"run.output_dir='{tmp_path / 'ranks'}'", cwd=tmp_path)
    )  # fmt: skip
    threads = _folder(
        _serial(MPI_PYTHON, "run", *SMALL, *plastic, "--set", "run.threads=2",
                "--set", f"run.output_dir='{tmp_path / 'threads'}'", cwd=tmp_path)
    )  # fmt: skip
    import h5py

    a, b = (load_spikes(f / "spikes.h5") for f in (ranks, threads))
    for name in a:
        assert np.array_equal(a[name].times, b[name].times) and np.array_equal(a[name].node_ids, b[name].node_ids)
    with h5py.File(ranks / "weights.h5") as fa, h5py.File(threads / "weights.h5") as fb:
        ga, gb = fa["edges/lgn_on_to_ex_on"], fb["edges/lgn_on_to_ex_on"]
        assert ga["times"][()].tolist() == pytest.approx([0.0, 100.0, 200.0])
        wa = ga["weights"][()]
        np.testing.assert_array_equal(wa, gb["weights"][()])
        np.testing.assert_array_equal(ga["source_node_id"][()], gb["source_node_id"][()])
        np.testing.assert_allclose(wa[1], wa[0], rtol=1e-14, atol=0)  # no learning before the start
        assert np.mean(np.abs(wa[2] - wa[1])) > 1e-3  # learning after it
