"""Faults of a run and what the user sees: a full disk, an output folder that cannot be written, runs started together.

Each test backs a row of ``docs/faults.md``. A full disk is tested twice: with
the file system's answer faked at the system call (``posix_fallocate``
saying ``ENOSPC``) in an in-process run, which always runs, and for real on a
small tmpfs filled while the run goes on, where this machine lets the test
mount one (root with CAP_SYS_ADMIN, as in CI). A rank killed under MPI is in
``test_mpi.py``.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from conftest import formats_config, run_cli, tiny, tmpfs
from spiking.config import from_mapping, to_toml
from spiking.io.spikefile import load_spikes

RUN_FILES = {"config.toml", "manifest.json", "schedule.csv", "spikes.h5", "retina"}


def _config(tmp_path: Path, name: str = "c.toml", fires: bool = False, **sections) -> Path:
    """A tiny config into ``tmp_path/output`` (``fires``: V1 fires and the LGN ON layer is recorded too)."""
    data = formats_config(**sections) if fires else tiny(**sections)
    data["run"] = {"output_dir": str(tmp_path / "output"), **data["run"]}
    path = tmp_path / name
    path.write_text(to_toml(from_mapping(data)))
    return path


def _one_error_line(err: str) -> str:
    assert "Traceback" not in err, err
    lines = [ln for ln in err.splitlines() if ln.startswith("spiking: error:")]
    assert len(lines) == 1, err
    return lines[0]


def _only_folder(out: Path) -> Path:
    folders = [p for p in out.iterdir() if p.is_dir()]
    assert len(folders) == 1, folders
    return folders[0]


# ---- a full disk, faked at the system call --------------------------------------------------


@pytest.fixture
def small_chunks(monkeypatch):
    """HDF5 chunks of 16 spikes and 4 kB kept for closing, so that every chunk of spikes asks the file system for room."""
    from spiking.io import spikefile

    monkeypatch.setattr(spikefile, "_GROW", 16)
    monkeypatch.setattr(spikefile, "_CHUNK_BYTES", 16 * 8)
    monkeypatch.setattr(spikefile, "CLOSE_ROOM", 4096)


def _full_after(monkeypatch, appends: int) -> dict:
    """A file system that fills up after ``appends`` chunks of spikes: later requests for room get ENOSPC.

    The capacity is set to what the spike file had reserved when its
    ``appends``-th chunk was written; ``posix_fallocate`` past it fails as on
    a full disk (nothing allocated).
    """
    from spiking.io import space
    from spiking.io.spikefile import SpikeWriter

    state = {"appends": 0, "capacity": None, "refused": 0}
    real_fallocate, real_append = os.posix_fallocate, SpikeWriter.append

    def fallocate(fd, offset, length):
        if state["capacity"] is not None and offset + length > state["capacity"]:
            state["refused"] += 1
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_fallocate(fd, offset, length)

    def append(self, spikes, t_stop):
        real_append(self, spikes, t_stop)
        state["appends"] += 1
        if state["appends"] == appends:
            state["capacity"] = self.room.end

    monkeypatch.setattr(space.os, "posix_fallocate", fallocate)
    monkeypatch.setattr(SpikeWriter, "append", append)
    return state


def test_disk_full_during_the_simulation_keeps_the_spikes_written(tmp_path, monkeypatch, capsys, small_chunks):
    """The run stops at the chunk that found no room: one line, exit 1, manifest ``failed``, spikes.h5 readable.

    The spikes kept are exactly those of the same run without the fault, up
    to the model time reached.
    """
    from spiking.cli import main

    cfg = _config(tmp_path, fires=True, run={"simulation_time": 300.0, "chunk": 50.0, "threads": 1})
    state = _full_after(monkeypatch, appends=2)
    code = main(["run", str(cfg), "--no-progress", "--no-render"])
    err = capsys.readouterr().err
    assert code == 1, err
    line = _one_error_line(err)
    assert state["refused"] >= 1
    folder = _only_folder(tmp_path / "output")
    m = json.loads((folder / "manifest.json").read_text())
    assert m["status"] == "failed" and m["error"].startswith("DiskFullError: disk full: ")
    assert str(folder / "spikes.h5.part") in m["error"] and "no space left on the device" in m["error"]
    t = m["t_reached_ms"]
    assert 100.0 <= t < 300.0
    assert line.startswith("spiking: error: disk full: ") and f"the run stopped at {t:g} ms of model time" in line
    assert (
        f"{folder.name}/manifest.json says failed" in line and m["note"] == f"spikes.h5 holds the spikes up to {t:g} ms"
    )
    assert set(os.listdir(folder)) == RUN_FILES  # nothing half-written left behind
    with h5py.File(folder / "spikes.h5") as h5:
        assert h5.attrs["status"] == "failed" and h5.attrs["t_stop"] == t
    kept = load_spikes(folder / "spikes.h5")
    # the same run with room to spare
    monkeypatch.undo()
    capsys.readouterr()
    assert (
        main(["run", str(cfg), "--no-progress", "--no-render", "--set", f"run.output_dir='{tmp_path / 'full'}'"]) == 0
    )
    whole = load_spikes(_only_folder(tmp_path / "full") / "spikes.h5")
    assert sum(len(s.times) for s in kept.values()) > 0
    for name, s in kept.items():
        assert m["spikes"][name]["count"] == len(s.times)
        before = whole[name].times <= t + 1e-9
        np.testing.assert_array_equal(s.times, whole[name].times[before])
        np.testing.assert_array_equal(s.node_ids, whole[name].node_ids[before])
    # and it renders, up to where it got, with the failure on the page
    capsys.readouterr()
    assert main(["render", str(folder), "--no-movies"]) == 0
    html = (folder / "index.html").read_text()
    assert 'id="status-banner"' in html and "Failed" in html and "DiskFullError" in html


def test_disk_full_before_the_simulation_leaves_a_failed_manifest(tmp_path, monkeypatch, capsys):
    """No room for the retina snapshots: the manifest, written first, says ``failed``; no spikes; exit 1."""
    from spiking.cli import main
    from spiking.io import images

    real = images.atomic_write_bytes

    def write(path, data):  # the PNG writer of the retina snapshots meets a full disk
        if Path(path).parent.name == "retina":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real(path, data)

    monkeypatch.setattr(images, "atomic_write_bytes", write)
    code = main(["run", str(_config(tmp_path)), "--no-progress", "--no-render"])
    err = capsys.readouterr().err
    assert code == 1
    line = _one_error_line(err)
    assert line.startswith("spiking: error: disk full: ") and "ms-stimulus.png: no space left on the device" in line
    m = json.loads((_only_folder(tmp_path / "output") / "manifest.json").read_text())
    assert m["status"] == "failed" and m["error"].startswith("DiskFullError") and m["note"] == "no spikes were written"
    assert "build" not in m["timings_s"]  # stopped before anything was built


def test_no_room_for_the_last_manifest_is_one_line(tmp_path, monkeypatch, capsys):
    """The run completed but its final manifest cannot be written: exit 1, one line, no traceback."""
    from spiking.cli import main
    from spiking.run.manifest import Manifest

    real, calls = Manifest.write, []

    def write(self, folder):
        calls.append(self.status)
        if self.status != "running":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(Path(folder) / ".manifest.json.tmp"))
        return real(self, folder)

    monkeypatch.setattr(Manifest, "write", write)
    code = main(["run", str(_config(tmp_path)), "--no-progress", "--no-render"])
    line = _one_error_line(capsys.readouterr().err)
    assert code == 1 and calls[-1] == "complete"
    assert line.startswith("spiking: error: disk full: ") and "the run's record is incomplete" in line


# ---- a full disk, for real ------------------------------------------------------------------


def test_no_room_for_the_run_is_refused_before_anything_is_built(tmp_path):
    """A 2 MB tmpfs: the pre-flight refuses in one line, exit 2, no folder; ``--force`` does not override it."""
    with tmpfs(tmp_path / "disk", "2m") as disk:
        cfg = _config(tmp_path, run={"output_dir": str(disk / "output")})
        for extra in ([], ["--force"]):
            proc = run_cli("run", cfg, "--no-progress", "-q", *extra)
            assert proc.returncode == 2, proc.stderr
            line = _one_error_line(proc.stderr)
            assert line.startswith(f"spiking: error: {disk / 'output'}: 2 MB free, the run needs about ")
            assert not (disk / "output").exists()


# ---- output that cannot be written ----------------------------------------------------------


def _refused(tmp_path: Path, output: Path, words: str) -> None:
    proc = run_cli("run", _config(tmp_path, run={"output_dir": str(output)}), "--no-progress", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.splitlines() == [f"spiking: error: {output}: {words}"]  # not even the estimate
    assert not list(tmp_path.rglob("manifest.json"))


def test_a_file_where_the_output_folder_should_be(tmp_path):
    (tmp_path / "file").write_text("x")
    _refused(tmp_path, tmp_path / "file", "output folder is a file")
    _refused(
        tmp_path,
        tmp_path / "file" / "sub",
        f"output folder cannot be created: {tmp_path / 'file'} is a file, not a folder",
    )


def test_a_read_only_output_folder(tmp_path):
    """Read-only for real: a read-only tmpfs where mounting is allowed (root ignores permission bits), else mode 555."""
    if os.geteuid() == 0:
        with tmpfs(tmp_path / "ro", "1m", "ro") as ro:
            _refused(tmp_path, ro, "output folder is not writable (Read-only file system)")
            _refused(tmp_path, ro / "output", f"output folder cannot be created in {ro} (Read-only file system)")
    else:
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o555)
        try:
            _refused(tmp_path, ro, "output folder is not writable (Permission denied)")
        finally:
            ro.chmod(0o755)


def test_output_problem_leaves_nothing_behind(tmp_path):
    from spiking.io.runfolder import output_problem

    assert output_problem(tmp_path / "new" / "deeper") is None
    assert not (tmp_path / "new").exists() and list(tmp_path.iterdir()) == []


# ---- runs started together ------------------------------------------------------------------


# ---- the watcher of an MPI run's folder ----------------------------------------------------------

_DIES = """
import json, os, sys
import numpy as np
from pathlib import Path
from spiking.io.guard import Guard
from spiking.io.spikefile import SpikeWriter

folder = Path(sys.argv[1])
(folder / "manifest.json").write_text(json.dumps({"status": "running", "t_reached_ms": 0.0}))
guard = Guard(folder, 2)
writer = SpikeWriter(folder / "spikes.h5", {"ex_on": (4, 1.0)})
writer.append({"ex_on": (np.array([1, 2]), np.array([10.0, 20.0]))}, 50.0)
print(guard.proc.pid, flush=True)
if sys.argv[2] == "killed":
    os.kill(os.getpid(), 9)
writer.close()
(folder / "manifest.json").write_text(json.dumps({"status": "complete", "t_reached_ms": 50.0}))
guard.release()
"""


def _gone(pid: int, timeout: float = 10.0) -> bool:
    end = time.time() + timeout
    while time.time() < end:
        try:
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                return True
        except OSError:
            return True
        time.sleep(0.05)
    return False


def test_the_watcher_marks_a_run_whose_process_was_killed_failed(tmp_path):
    """The process holding the watcher is killed: the watcher writes ``failed`` and the model time, then leaves."""
    proc = subprocess.run([sys.executable, "-c", _DIES, str(tmp_path), "killed"], capture_output=True, text=True)
    assert proc.returncode == -9, proc.stderr
    watcher = int(proc.stdout.split()[0])
    end = time.time() + 10
    while json.loads((tmp_path / "manifest.json").read_text())["status"] == "running" and time.time() < end:
        time.sleep(0.05)
    m = json.loads((tmp_path / "manifest.json").read_text())
    assert m["status"] == "failed" and m["finished"]
    assert m["error"].startswith("ProcessDied: rank 0 of 2 processes (pid ") and "another rank died" in m["error"]
    assert m["t_reached_ms"] == 50.0
    assert m["note"] == "spikes.h5.part holds the spikes written up to 50 ms (the last chunk may be cut)"
    assert _gone(watcher)
    assert not (tmp_path / "spikes.h5").exists() and (tmp_path / "spikes.h5.part").exists()


def test_the_watcher_leaves_a_run_that_ended_alone(tmp_path):
    proc = subprocess.run([sys.executable, "-c", _DIES, str(tmp_path), "ends"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert _gone(int(proc.stdout.split()[0]))
    assert json.loads((tmp_path / "manifest.json").read_text()) == {"status": "complete", "t_reached_ms": 50.0}


def test_a_full_disk_is_told_from_other_write_errors():
    """ENOSPC and EDQUOT, also inside HDF5's messages as h5py raises them; nothing else."""
    from spiking.errors import DiskFullError
    from spiking.io.space import as_disk_full, is_disk_full

    h5_message = "Can't flush cache (file write failed: ..., errno = 28, error message = 'No space left on device')"
    assert is_disk_full(OSError(errno.ENOSPC, "No space left on device"))
    assert is_disk_full(OSError(errno.EDQUOT, "Disk quota exceeded"))
    assert is_disk_full(RuntimeError(h5_message))
    assert not is_disk_full(OSError(errno.EACCES, "Permission denied"))
    assert not is_disk_full(RuntimeError("errno = 2, error message = 'No such file or directory'"))
    assert not is_disk_full(ValueError("errno = 28,"))
    err = as_disk_full(OSError(errno.ENOSPC, "No space left on device", "/nowhere/x.png"))
    assert isinstance(err, DiskFullError) and str(err).startswith(
        "disk full: /nowhere/x.png: no space left on the device ("
    )
    assert as_disk_full(OSError(errno.EIO, "I/O error")) is None
