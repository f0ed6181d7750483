"""Logging: what the library could not do is logged, the command line decides what is shown (no simulator).

Each place that goes on after a failure (a fallback, a file not written or
not removed, a run marked failed) is made to fail here, and the warning must
say what was lost. The command shows warnings on stderr as
``spiking: warning: ...``; ``--quiet`` keeps only errors, ``-v`` adds
informational messages, ``-vv`` debug messages and tracebacks.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from types import SimpleNamespace

import pytest

from spiking.cli import build_parser, main
from spiking.cli.logs import log_level
from spiking.config import from_mapping
from spiking.errors import StimulusError

# ---------------------------------------------------------------- the command line: levels and output


@pytest.mark.parametrize(
    ("argv", "level"),
    [
        (["run"], logging.WARNING),
        (["run", "-q"], logging.ERROR),
        (["run", "--quiet"], logging.ERROR),
        (["-v", "run"], logging.INFO),
        (["run", "-v"], logging.INFO),
        (["run", "--verbose"], logging.INFO),
        (["-vv", "run"], logging.DEBUG),
        (["-v", "run", "-v"], logging.DEBUG),
        (["run", "-q", "-v"], logging.INFO),
        (["render", "FOLDER"], logging.WARNING),
        (["render", "FOLDER", "-vv"], logging.DEBUG),
        (["learn", "-v", "digits", "-v"], logging.DEBUG),
        (["learn", "digits", "-q"], logging.ERROR),
        (["izhikevich", "types", "-v"], logging.INFO),
    ],
)
def test_verbosity_flags_set_the_level(argv, level):
    assert log_level(build_parser().parse_args(argv)) == level


def test_help_lists_verbose_before_and_after_the_command(capsys):
    for argv in (["--help"], ["run", "--help"], ["learn", "digits", "--help"]):
        with pytest.raises(SystemExit):
            main(argv)
        assert "-v, --verbose" in capsys.readouterr().out, argv


def _warn_from_the_library(args):
    logging.getLogger("spiking.render").info("drawing the movies")
    logging.getLogger("spiking.render").warning("a plot was not drawn")
    return 0


@pytest.mark.parametrize(
    ("flags", "shown"),
    [
        ([], ["spiking: warning: a plot was not drawn"]),
        (["-q"], []),
        (["-v"], ["spiking: info: drawing the movies", "spiking: warning: a plot was not drawn"]),
    ],
)
def test_the_command_shows_library_records_on_stderr_at_its_level(flags, shown, monkeypatch, capsys):
    from spiking.cli import simulate

    monkeypatch.setattr(simulate, "cmd_run", _warn_from_the_library)
    assert main(["run", *flags]) == 0
    assert capsys.readouterr().err.splitlines() == shown
    # the handler and the level are the command's only: nothing is left on the package's logger after it
    assert all(isinstance(h, logging.NullHandler) for h in logging.getLogger("spiking").handlers)
    assert logging.getLogger("spiking").level == logging.NOTSET


def _warn_with_a_traceback(args):
    try:
        raise ValueError("bad value")
    except ValueError:
        logging.getLogger("spiking.export").warning("an export fell back", exc_info=True)
    return 0


def test_tracebacks_are_shown_at_vv_only(monkeypatch, capsys):
    from spiking.cli import simulate

    monkeypatch.setattr(simulate, "cmd_run", _warn_with_a_traceback)
    assert main(["run", "-v"]) == 0
    assert capsys.readouterr().err == "spiking: warning: an export fell back\n"
    assert main(["run", "-vv"]) == 0
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "spiking: warning: an export fell back" and lines[1] == "Traceback (most recent call last):"
    assert lines[-1] == "ValueError: bad value"


def test_a_failed_rendering_shows_its_traceback_at_vv_only(tmp_path, monkeypatch, capsys):
    """``spiking render``: one error line by default; with ``-vv`` the traceback of what failed follows."""
    import spiking.config

    (tmp_path / "manifest.json").write_text(json.dumps({"run_id": "r", "status": "complete"}))

    def broken(path):
        raise RuntimeError("the config reader broke")

    monkeypatch.setattr(spiking.config, "read_toml", broken)
    assert main(["render", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.splitlines() == [f"spiking: error: rendering {tmp_path} failed: RuntimeError: the config reader broke"]
    assert main(["-vv", "render", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert f"spiking: debug: where rendering {tmp_path} failed:" in err
    assert "Traceback (most recent call last)" in err and "in broken" in err


def _cli(*args):
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    return subprocess.run(
        [sys.executable, "-m", "spiking", *map(str, args)], capture_output=True, text=True, timeout=120, env=env
    )


def test_a_one_line_error_gets_its_traceback_with_vv(tmp_path):
    """A bad input stays one line with exit status 2; ``-vv`` (before or after the command) adds where it was raised."""
    plain = _cli("render", tmp_path)
    assert plain.returncode == 2
    assert plain.stderr.splitlines() == [f"spiking: error: {tmp_path}: not a run folder (no manifest.json)"]
    for argv in (("-vv", "render", tmp_path), ("render", tmp_path, "-vv")):
        proc = _cli(*argv)
        assert proc.returncode == 2, argv
        lines = proc.stderr.splitlines()
        assert lines[0] == plain.stderr.strip() and lines[1] == "spiking: debug: where the error was raised:", argv
        assert "Traceback (most recent call last)" in proc.stderr and "RunFolderError" in lines[-1], argv
    assert _cli("-v", "render", tmp_path).stderr == plain.stderr  # -v: no traceback


def test_the_library_alone_prints_nothing():
    """Without the command (a script that imports spiking) nothing is printed until logging is configured."""
    code = "import logging, spiking; logging.getLogger('spiking.export.nwb').warning('lost')"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stderr == ""


# ---------------------------------------------------------------- what the library logs when it goes on


def _warnings(caplog, logger: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == logger and r.levelno == logging.WARNING]


def _run_like(tmp_path, tiny_data, patterns=("a", "b")):
    """What the stimulus readers use of a run: its config, patterns, schedule, folder and manifest (no snapshots)."""
    schedule = [SimpleNamespace(pattern=p, start=100.0 * i, stop=100.0 * (i + 1)) for i, p in enumerate(patterns)]
    return SimpleNamespace(
        config=from_mapping(tiny_data()), patterns=list(patterns), schedule=schedule, folder=tmp_path, manifest={}
    )


def _stimuli_cannot_be_rebuilt(monkeypatch):
    import spiking.model.network

    def build_model(*a, **k):
        raise StimulusError("patterns/cat.png: no such file")

    monkeypatch.setattr(spiking.model.network, "build_model", build_model)


def test_nwb_stimuli_from_snapshots_say_so(tmp_path, tiny_data, monkeypatch, caplog):
    from spiking.export.nwb import _stimuli

    _stimuli_cannot_be_rebuilt(monkeypatch)
    with caplog.at_level(logging.WARNING, logger="spiking"):
        assert _stimuli(_run_like(tmp_path, tiny_data)) == {}
    fallback, missing = _warnings(caplog, "spiking.export.nwb")
    assert "cannot be rebuilt (StimulusError: patterns/cat.png: no such file)" in fallback
    assert "from the run's 8-bit snapshots" in fallback
    assert "no retina snapshot of 'a', 'b'" in missing and "left out of the stimulus templates" in missing


def test_movie_stimuli_not_available_say_why(tmp_path, tiny_data, monkeypatch, caplog):
    from spiking.render.source import stimulus_images

    _stimuli_cannot_be_rebuilt(monkeypatch)
    with caplog.at_level(logging.WARNING, logger="spiking"):
        assert stimulus_images(_run_like(tmp_path, tiny_data)) == {"a": None, "b": None}
    (text,) = _warnings(caplog, "spiking.render.source")
    assert "no retina snapshot of 'a', 'b'" in text and "StimulusError: patterns/cat.png" in text
    assert "not available" in text


class _Fails:
    summary = {}

    def close(self, **kw):
        raise OSError(5, "Input/output error")


def test_spikes_and_weights_not_closed_are_logged(caplog):
    from spiking.run.orchestrate import _close, _close_weights

    manifest = SimpleNamespace(error=None, note=None, t_reached_ms=200.0, weights=None)
    with caplog.at_level(logging.WARNING, logger="spiking"):
        assert _close(_Fails(), "complete", manifest, None, SimpleNamespace(is_root=False)) == "failed"
        assert _close_weights(_Fails(), "complete", manifest) == "failed"
    spikes, weights = _warnings(caplog, "spiking.run.orchestrate")
    assert spikes.startswith("spikes.h5 could not be closed (OSError: [Errno 5] Input/output error)")
    assert weights.startswith("weights.h5 could not be written (OSError: [Errno 5] Input/output error)")
    # the manifest keeps the first error only: the second one is in the log
    assert manifest.error.startswith("spikes.h5")


def test_a_manifest_not_marked_at_the_second_signal_is_logged(tmp_path, caplog):
    from spiking.run.orchestrate import _on_second_signal

    class Manifest:
        def write(self, folder):
            raise OSError(28, "No space left on device")

    with caplog.at_level(logging.WARNING, logger="spiking"):
        _on_second_signal(tmp_path, Manifest(), SimpleNamespace(is_root=True), signal.SIGINT)
    (text,) = _warnings(caplog, "spiking.run.orchestrate")
    assert "manifest.json could not be marked interrupted (OSError: [Errno 28] No space left on device)" in text


def test_a_broken_cached_network_is_drawn_again_and_said(tmp_path, tiny_data, monkeypatch, caplog):
    from spiking.model.network import build_model
    from spiking.run.network import obtain_network

    monkeypatch.setenv("SPIKING_CACHE", str(tmp_path))
    monkeypatch.delenv("SPIKING_NETWORK_CACHE_GB", raising=False)
    model = build_model(from_mapping(tiny_data(run={"seed": 11})), stimuli=False)
    net, info = obtain_network(model)
    assert info.source == "drawn"
    (net.folder / "network.json").write_text("{ not json")
    with caplog.at_level(logging.WARNING, logger="spiking"):
        again, info = obtain_network(model)
    assert info.source == "drawn" and again.folder == net.folder
    (text,) = _warnings(caplog, "spiking.run.network")
    assert f"the cached network {net.folder} cannot be read" in text and "drawn again" in text


def test_a_network_cache_that_cannot_be_made_is_said(tmp_path, tiny_data, monkeypatch, caplog):
    from spiking.model.network import build_model
    from spiking.run.network import obtain_network

    (tmp_path / "file").write_text("")
    monkeypatch.setenv("SPIKING_CACHE", str(tmp_path / "file"))  # the cache would go under a file
    monkeypatch.delenv("SPIKING_NETWORK_CACHE_GB", raising=False)
    (tmp_path / "scratch").mkdir()
    model = build_model(from_mapping(tiny_data(run={"seed": 12})), stimuli=False)
    with caplog.at_level(logging.WARNING, logger="spiking"):
        net, info = obtain_network(model, scratch=tmp_path / "scratch")
    assert info.source == "drawn" and net.folder.parent == tmp_path / "scratch"
    (text,) = _warnings(caplog, "spiking.run.network")
    assert text.startswith(f"the network cache {tmp_path / 'file' / 'networks'} cannot be created (")
    assert "not kept for later runs" in text


def test_a_cache_size_that_is_not_a_number_is_said_once(monkeypatch, caplog):
    from spiking.run import network

    network._cache_gb.cache_clear()
    monkeypatch.setenv("SPIKING_NETWORK_CACHE_GB", "lots")
    with caplog.at_level(logging.WARNING, logger="spiking"):
        assert network.cache_limit_bytes() == network.cache_limit_bytes() == network.DEFAULT_CACHE_GB * 1e9
    assert _warnings(caplog, "spiking.run.network") == [
        "SPIKING_NETWORK_CACHE_GB='lots' is not a number: the default, 4 GB, is used"
    ]


def test_report_tables_that_cannot_be_read_are_said(tmp_path, caplog):
    from spiking.render.report import _read_rate_rows
    from spiking.render.statistics import read_statistics_rows

    with caplog.at_level(logging.WARNING, logger="spiking"):
        assert _read_rate_rows(tmp_path / "absent.csv") == [] and read_statistics_rows(tmp_path / "absent.csv") == []
        assert not caplog.records  # a file that is not there is no loss: the report says so itself
        assert _read_rate_rows(tmp_path) == [] and read_statistics_rows(tmp_path) == []  # a folder: unreadable
    (rates,) = _warnings(caplog, "spiking.render.report")
    (stats,) = _warnings(caplog, "spiking.render.statistics")
    assert rates.startswith(f"{tmp_path} cannot be read") and "no table of mean rates" in rates
    assert stats.startswith(f"{tmp_path} cannot be read") and "no spike statistics" in stats


def test_room_not_given_back_is_said(tmp_path, monkeypatch, caplog):
    from spiking.io.space import Room

    path = tmp_path / "spikes.h5.part"
    path.write_bytes(b"x" * 10)
    room = Room(path)

    def ftruncate(fd, size):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "ftruncate", ftruncate)
    with caplog.at_level(logging.WARNING, logger="spiking"):
        room.release(10)
    (text,) = _warnings(caplog, "spiking.io.space")
    assert text.startswith(f"{path}: the room reserved past its end could not be given back (Input/output error)")


def test_a_spike_file_that_cannot_be_closed_after_a_failure_is_logged(tmp_path, caplog):
    """Cleaning up after a failed write: the failure is raised anyway, the close that failed too is a debug line."""
    from spiking.io.spikefile import SpikeWriter

    class H5:
        def close(self):
            raise RuntimeError("HDF5: file is already closed")

    writer = object.__new__(SpikeWriter)
    writer.h5, writer.room, writer.tmp = H5(), None, tmp_path / "spikes.h5.part"
    writer.tmp.write_bytes(b"")
    with caplog.at_level(logging.DEBUG, logger="spiking"):
        writer._discard()
    assert not writer.tmp.exists()
    (record,) = [r for r in caplog.records if r.name == "spiking.io.spikefile"]
    assert record.getMessage() == f"closing {writer.tmp} after a failed write failed too:"
    assert isinstance(record.exc_info[1], RuntimeError)


def test_learning_that_ends_with_an_error_after_a_signal_says_which(tmp_path, caplog):
    """The signal stops the simulator's process too; the run is interrupted and the error it raised is logged."""
    from spiking.learn.model import DigitsOptions
    from spiking.learn.runs import start_digits

    class Engine:
        batch = 5

        def __init__(self, *a):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return None

        def run_batch(self, rates, network, plastic, seed):
            os.kill(os.getpid(), signal.SIGINT)
            raise BrokenPipeError(32, "Broken pipe")

    options = DigitsOptions(neurons=6, train=20, test=10, epochs=1, save_every=10, window=10, batch=5)
    with caplog.at_level(logging.INFO, logger="spiking"):
        run = start_digits(options, tmp_path, engine_factory=Engine, quiet=True)
    assert run.status == "interrupted"
    (record,) = [r for r in caplog.records if r.name == "spiking.learn.runs"]
    assert record.levelno == logging.INFO
    assert record.getMessage() == (
        "after SIGINT learning ended with BrokenPipeError: [Errno 32] Broken pipe: the run is recorded as interrupted"
    )


def test_one_line_and_traceback_only_at_debug(caplog):
    """The records carry the traceback only when debug messages are wanted (``-vv``)."""
    from spiking.run.orchestrate import _close

    manifest = SimpleNamespace(error=None, note=None, t_reached_ms=0.0)
    for level, traced in ((logging.WARNING, False), (logging.DEBUG, True)):
        caplog.clear()
        with caplog.at_level(level, logger="spiking"):
            _close(_Fails(), "complete", manifest, None, SimpleNamespace(is_root=False))
        (record,) = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert bool(record.exc_info) is traced
        assert "\n" not in record.getMessage()


# ---------------------------------------------------------------- the engines: what a one-line error leaves out


@pytest.mark.parametrize(
    ("module", "load", "logger"),
    [
        ("nest", "spiking.engines.nest.install:import_nest", "spiking.engines.nest.install"),
        ("brian2", "spiking.engines.brian2.install:import_brian2", "spiking.engines.brian2.install"),
    ],
)
def test_a_simulator_that_cannot_be_imported_keeps_its_traceback_for_vv(module, load, logger, monkeypatch, caplog):
    import importlib

    from spiking.errors import EngineUnavailableError

    path, name = load.split(":")
    importer = getattr(importlib.import_module(path), name)
    monkeypatch.setitem(sys.modules, module, None)  # `import` raises ImportError
    with (
        caplog.at_level(logging.DEBUG, logger="spiking"),
        pytest.raises(EngineUnavailableError, match="cannot be imported"),
    ):
        importer()
    (record,) = [r for r in caplog.records if r.name == logger]
    assert record.levelno == logging.DEBUG and record.getMessage() == f"importing {module} failed:"
    assert record.exc_info and isinstance(record.exc_info[1], ImportError)
