"""The ``spiking`` command line: the only place errors become exit codes.

Exit status: 0 done, 2 bad input (one line on stderr, no traceback),
130/143 interrupted by SIGINT/SIGTERM, 1 a run that failed for a reason
outside its input (a full disk: one line too, see :data:`EXIT_STATUS`), an
unexpected failure or a check that did not pass. ``docs/faults.md`` lists
each fault with what the user sees.

Each module registers its commands: :mod:`.simulate` (run, render, preview,
config, validate), :mod:`.export` (export), :mod:`.tools` (check,
izhikevich), :mod:`.experiment` (experiment orientation) and
:mod:`.learn` (learn digits); :mod:`.common` holds what they
share. A usage error (an unknown option, a missing argument) is one line too.
What the library logs is shown on stderr as ``spiking: warning: ...``
(:mod:`.logs`: ``-v``, ``-vv``, a command's ``--quiet``).
"""

from __future__ import annotations

import argparse
import logging
import sys

from .. import __version__
from ..errors import DiskFullError, SpikingError
from . import experiment, export, learn, simulate, tools
from .logs import add_verbose, log_level, logging_to_stderr

__all__ = ["main", "build_parser"]

EXIT_USAGE = 2

logger = logging.getLogger(__name__)

#: Exit status of each domain error (the first class that matches); other :class:`SpikingError`: ``EXIT_USAGE``.
EXIT_STATUS: tuple[tuple[type[SpikingError], int], ...] = ((DiskFullError, 1),)

#: Modules whose ``register(subparsers)`` adds commands, in the order ``--help`` lists them.
COMMAND_MODULES = (simulate, experiment, export, tools, learn)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line, ``spiking: error: ...``, exit status 2."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"spiking: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="spiking",
        description="The early visual pathway (retina, LGN, V1) with spiking neurons on NEST and Brian2.",
    )
    parser.add_argument("--version", action="version", version=f"spiking {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for module in COMMAND_MODULES:
        module.register(sub)
    add_verbose(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    with logging_to_stderr(log_level(args)):
        return _dispatch(args)


def _dispatch(args) -> int:
    try:
        return args.func(args)
    except SpikingError as err:
        _error(str(err))
        logger.debug("where the error was raised:", exc_info=True)
        return next((code for cls, code in EXIT_STATUS if isinstance(err, cls)), EXIT_USAGE)
    except KeyboardInterrupt:
        print("spiking: interrupted", file=sys.stderr)
        return 130
    except BaseException:
        # an unexpected failure on one rank must not leave the others waiting in a collective
        from ..run.parallel import launcher_size

        if launcher_size() > 1 and "mpi4py.MPI" in sys.modules:
            import traceback

            traceback.print_exc()
            sys.modules["mpi4py.MPI"].COMM_WORLD.Abort(1)
        raise


def _error(msg: str) -> None:
    from ..run.parallel import launcher_rank

    if launcher_rank() == 0:
        print(f"spiking: error: {msg.splitlines()[0] if msg else 'unknown error'}", file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
