"""Shared helpers: tiny configs and a CLI runner; the tiers, by folder.

``make test`` runs the fast tier: every test outside the folders below. A test goes
into a tier by where it lives, never by a decorator to remember:

- ``tests/slow/``: long simulations and whole learning runs (marked ``slow``; ``make test-slow``);
- ``tests/mpi/``: under a real ``mpirun`` (marked ``mpi``; ``make test-mpi``);
- ``tests/browser/``: the report in headless Chromium (marked ``browser``; ``make test-browser``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
#: Folder under tests/ -> the marker every test in it carries.
TIER_FOLDERS = {"slow": "slow", "mpi": "mpi", "browser": "browser"}


def pytest_collection_modifyitems(config, items):
    """Mark each test by the folder it lives in (:data:`TIER_FOLDERS`)."""
    for item in items:
        try:
            folder = Path(item.fspath).resolve().relative_to(TESTS).parts[0]
        except ValueError:
            continue
        if folder in TIER_FOLDERS:
            item.add_marker(getattr(pytest.mark, TIER_FOLDERS[folder]))


#: The recurrent projections a deterministic test network switches off (p = 0): all but
#: ``ex_on_to_ex_on`` and ``in_on_to_ex_on``.
QUIET_RECURRENT = (
    "ex_on_to_in_on",
    "in_on_to_in_on",
    "ex_off_to_ex_off",
    "ex_off_to_in_off",
    "in_off_to_ex_off",
    "in_off_to_in_off",
    "in_on_to_ex_off",
    "in_on_to_in_off",
    "in_off_to_ex_on",
    "in_off_to_in_on",
)


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


def connect(eng, model):
    """``eng.connect`` with the model's drawn network (from the network cache), or none for ``wiring = "engine"``."""
    network = None
    if model.connect and model.wiring == "model":
        from spiking.run.network import obtain_network

        network = obtain_network(model)[0]
    return eng.connect(network)


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


def make_real_run(tmp: Path, data: dict, name: str = "run", render: bool = False) -> Path:
    """``spiking run`` of ``data`` into ``tmp/output`` (``--no-render`` unless ``render``); the run folder."""
    from spiking.config import from_mapping, to_toml

    data = {**data, "run": {**data.get("run", {}), "output_dir": str(tmp / "output"), "name": name}}
    cfg = tmp / f"{name}.toml"
    cfg.write_text(to_toml(from_mapping(data)))
    proc = run_cli("run", cfg, "--no-progress", *([] if render else ["--no-render"]), "-q", cwd=tmp)
    assert proc.returncode == 0, proc.stderr
    return Path(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def formats_run(tmp_path_factory):
    """A real tiny run (NEST, retina generators) shared by the API, analysis and export tests. Do not modify it."""
    return make_real_run(tmp_path_factory.mktemp("formats"), formats_config())


# ---- faults: a small disk, and a run's progress seen from outside ---------------------------


@contextmanager
def tmpfs(path: Path, size: str, options: str = ""):
    """A tmpfs of ``size`` mounted at ``path`` (skips the test where mounting is not allowed)."""
    path.mkdir(parents=True, exist_ok=True)
    opts = f"size={size}" + (f",{options}" if options else "")
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(path)], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(
            f"cannot mount a tmpfs here ({proc.stderr.strip() or 'mount failed'}); needs root with CAP_SYS_ADMIN"
        )
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def fill_disk(path: Path, leave: int) -> Path:
    """Allocate a file that leaves ``leave`` bytes free on the file system of ``path``."""
    st = os.statvfs(path)
    filler = path / "filler"
    with open(filler, "wb") as fh:
        os.posix_fallocate(fh.fileno(), 0, max(0, st.f_bavail * st.f_frsize - leave))
    return filler


def wait_for_model_time(part: Path, t: float, proc, timeout: float = 120.0) -> None:
    """Until the spike file being written says it holds ``t`` ms (read without HDF5's lock, retried)."""
    import h5py

    end = time.time() + timeout
    while time.time() < end and proc.poll() is None:
        try:
            with h5py.File(part, "r", locking=False) as h5:
                if float(h5.attrs["t_stop"]) >= t:
                    return
        except (OSError, KeyError, RuntimeError):
            pass  # not there yet, or caught in the middle of a write
        time.sleep(0.2)
    raise AssertionError(f"{part} never reached {t} ms")
