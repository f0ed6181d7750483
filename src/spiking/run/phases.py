"""Timing the phases of a run, and saying what happened on rank 0."""

from __future__ import annotations

import contextlib
import sys
import time

__all__ = ["Phases", "Reporter"]


class Phases:
    """Wall time of named phases, s; a phase timed twice adds up.

    ``with phases("build"): ...`` times a block; :meth:`add` books time measured elsewhere.
    """

    def __init__(self):
        self.start = time.perf_counter()
        self.times: dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, name: str):
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - t0)

    def add(self, name: str, seconds: float) -> None:
        self.times[name] = self.times.get(name, 0.0) + seconds

    def rounded(self) -> dict[str, float]:
        """The times so far, and ``total`` since the start, to 0.1 ms."""
        return {**{k: round(v, 4) for k, v in self.times.items()}, "total": round(time.perf_counter() - self.start, 4)}


class Reporter:
    """Lines for people on stderr, from rank 0 only, unless quiet."""

    def __init__(self, is_root: bool, quiet: bool):
        self.on = is_root and not quiet

    def __call__(self, msg: str) -> None:
        if self.on:
            print(msg, file=sys.stderr, flush=True)

    def phase(self, name: str, seconds: float, what: str) -> None:
        self(f"{name:<10} {seconds:7.2f} s   {what}")
