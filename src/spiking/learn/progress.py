"""What the user sees while digits are learnt: digits done, digits per second, running accuracy, time left.

On a terminal one line is rewritten in place; in a log a line is written
every ``every_s`` seconds and at the end of each phase.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from .model import PHASES
from .readout import accuracy, assign_labels, predict

__all__ = ["Progress", "latest_running_accuracy", "format_seconds"]


def latest_running_accuracy(counts: np.ndarray, labels: np.ndarray, done: int, window: int) -> float | None:
    """Accuracy on the last ``window`` digits learnt, with labels from the ``window`` before (None if too few)."""
    if done < 2 * window:
        return None
    a, b = done - 2 * window, done - window
    assigned = assign_labels(counts[a:b], labels[a:b])
    return accuracy(predict(counts[b:done], assigned), labels[b:done])


def format_seconds(s: float) -> str:
    """``42 s``, ``3 min 5 s``, ``1 h 2 min``."""
    s = max(0.0, float(s))
    if s < 60:
        return f"{s:.0f} s"
    if s < 3600:
        return f"{int(s // 60)} min {int(s % 60)} s"
    return f"{int(s // 3600)} h {int(s % 3600 // 60)} min"


class Progress:
    """Called after every batch with ``(state, result, seconds)``.

    Parameters
    ----------
    labels : dict of str to ndarray
        Per phase, the labels of its digits in order (for the running accuracy).
    window : int
        Digits per running-accuracy window.
    stream : file, optional
        Default ``sys.stderr``; nothing is written when ``quiet``.
    """

    def __init__(self, labels: dict, window: int, stream=None, quiet: bool = False, every_s: float = 10.0):
        self.labels, self.window, self.quiet = labels, window, quiet
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.every_s = 0.5 if self.tty else every_s
        self._last = -float("inf")
        self._start: dict[int, tuple[float, int]] = {}

    def __call__(self, state, result, seconds: float) -> None:
        if self.quiet:
            return
        now = time.perf_counter()
        name = PHASES[state.phase]
        total = len(self.labels[name])
        t_start, p_start = self._start.setdefault(state.phase, (now - seconds, state.position - result.accepted))
        rate = (state.position - p_start) / max(now - t_start, 1e-9)
        end = state.position >= total
        if not end and now - self._last < self.every_s:
            return
        self._last = now
        line = f"{name:5s} {state.position:6d}/{total} digits  {rate:6.1f} digits/s"
        if name == "train":
            acc = latest_running_accuracy(state.counts[name], self.labels[name], state.position, self.window)
            if acc is not None:
                line += f"  running accuracy {acc:6.1%} (last {self.window})"
        line += "  done" if end else f"  {format_seconds((total - state.position) / max(rate, 1e-9))} left"
        if self.tty:
            self.stream.write("\r" + line + "\033[K" + ("\n" if end else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def say(self, text: str) -> None:
        """One line, unless quiet."""
        if not self.quiet:
            print(text, file=self.stream, flush=True)
