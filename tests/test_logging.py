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
import subprocess
import sys

import pytest

from spiking.cli import build_parser, main
from spiking.cli.logs import log_level

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
