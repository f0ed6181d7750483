"""Signals during a run: SIGINT/SIGTERM stop it at the next safe point, never in the middle of a file.

The first signal raises :class:`RunInterrupted` in the main thread (held back
while a file is being written, see :meth:`Signals.deferred`); the run then
closes its files and says ``interrupted``. A second signal leaves at once,
after a last word in the manifest.
"""

from __future__ import annotations

import contextlib
import os
import signal

from ..errors import RunInterrupted

__all__ = ["RunInterrupted", "Signals"]


class Signals:
    """Turn SIGINT/SIGTERM into :class:`RunInterrupted`; a second one exits at once.

    Inside :meth:`deferred` (writing a file) the first signal is held until the
    block ends, so no file is left half-written.
    """

    def __init__(self, on_second):
        self.on_second = on_second
        self.received: int | None = None
        self.old = {}
        self._defer = 0
        self._pending: int | None = None
        self.closing = False

    def __enter__(self):
        for s in (signal.SIGINT, signal.SIGTERM):
            try:
                self.old[s] = signal.signal(s, self._handle)
            except ValueError:  # not the main thread
                pass
        return self

    def _handle(self, signum, frame):
        if self.received is not None:
            self.on_second(signum)
            os._exit(128 + signum)
        self.received = signum
        if self._defer or self.closing:
            self._pending = signum
            return
        raise RunInterrupted(signum)

    @contextlib.contextmanager
    def deferred(self):
        self._defer += 1
        try:
            yield
        finally:
            self._defer -= 1
        if not self._defer and self._pending is not None:
            signum, self._pending = self._pending, None
            raise RunInterrupted(signum)

    def __exit__(self, *exc):
        for s, h in self.old.items():
            signal.signal(s, h)
        return False
