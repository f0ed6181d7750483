"""What the library logs and the command line shows: ``-v``/``-vv``, ``--quiet``, one line per message on stderr.

The library logs through ``logging.getLogger(__name__)`` under the ``spiking``
logger and shows nothing by itself. The command shows warnings by default
(``spiking: warning: ...``), only errors with a command's ``--quiet``,
informational messages too with ``-v``, and debug messages and tracebacks
with ``-vv``. ``-v`` is accepted before the command and after it, and counts add
up (``spiking -v run -v`` is ``-vv``).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys

__all__ = ["add_verbose", "log_level", "logging_to_stderr"]

#: The logger every module of the package logs under.
PACKAGE = "spiking"

_HELP = "say more on stderr: -v informational messages, -vv also debug messages and tracebacks"


def _dest(depth: int) -> str:
    # a subcommand's parser fills its own namespace and copies it over the parent's: one name per depth
    return "verbose" if depth == 0 else f"verbose_{depth}"


def add_verbose(parser: argparse.ArgumentParser, depth: int = 0) -> None:
    """Add ``-v/--verbose`` to ``parser`` and to every command under it, at any depth."""
    parser.add_argument("-v", "--verbose", action="count", default=0, dest=_dest(depth), help=_HELP)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):  # an alias names the same parser
                add_verbose(sub, depth + 1)


def log_level(args: argparse.Namespace) -> int:
    """The level the command shows: WARNING; ERROR with ``--quiet``; INFO with ``-v``, DEBUG with ``-vv``.

    ``-v`` wins over ``--quiet`` for what is logged (``--quiet`` still keeps
    a command's progress lines off).
    """
    verbose = sum(v for k, v in vars(args).items() if k == "verbose" or k.startswith("verbose_"))
    if verbose >= 2:
        return logging.DEBUG
    if verbose == 1:
        return logging.INFO
    return logging.ERROR if getattr(args, "quiet", False) else logging.WARNING


class _Stderr(logging.StreamHandler):
    """A handler writing to the ``sys.stderr`` of the moment (which tests and callers may replace)."""

    def __init__(self):
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


class _OneLine(logging.Formatter):
    """``spiking: warning: message``; the traceback only when ``tracebacks`` (``-vv``)."""

    def __init__(self, tracebacks: bool):
        super().__init__()
        self.tracebacks = tracebacks

    def format(self, record: logging.LogRecord) -> str:
        text = f"spiking: {record.levelname.lower()}: {record.getMessage()}"
        if self.tracebacks:
            if record.exc_info:
                text += "\n" + self.formatException(record.exc_info)
            if record.stack_info:
                text += "\n" + self.formatStack(record.stack_info)
        return text


@contextlib.contextmanager
def logging_to_stderr(level: int):
    """Show the package's log records at ``level`` and above on stderr while the block runs; undone after."""
    logger = logging.getLogger(PACKAGE)
    handler = _Stderr()
    handler.setFormatter(_OneLine(tracebacks=level <= logging.DEBUG))
    old = logger.level
    logger.setLevel(level)
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old)
