"""The phases of a run, batch by batch: learn, label, test; with checkpoints and clean stops.

An engine simulates a batch of presentations and reports the digits it
accepted (:class:`BatchResult`); this loop feeds it the next digits of each
phase, keeps every response in the :class:`~spiking.learn.state.TrainingState`,
saves that state every ``save_every`` digits and at the end of each phase,
and stops between two batches (a digit boundary) when asked to. The engine is
seeded per batch from the run's seed, the phase and the batch's number, so
stopping and resuming changes nothing.

A frozen phase with a ``segment`` is cut into segments of that many digits,
each shown to the learnt network from rest (:func:`~spiking.learn.model.rest_state`)
with seeds of its own (:func:`~spiking.learn.model.segment_seed`): segments are
independent, so an engine with ``workers`` > 1 runs that many side by side
(each in a thread that waits for the engine's own process), and the result is
the same on any number of cores. A segment is done when all its digits are;
a run resumed in the middle of a phase runs the unfinished segments again
from their start.
"""

from __future__ import annotations

import os
import queue
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from .model import PHASES, batch_seed, segment_seed

__all__ = ["BatchResult", "DigitsEngine", "Phase", "Stopped", "StopSignals", "run_phases"]


@dataclass
class BatchResult:
    """What an engine reports after a batch.

    Attributes
    ----------
    network : dict of str to ndarray
        The state after the batch.
    accepted : int
        Digits accepted (the next batch starts with the digit after them).
    counts : ndarray of int32, shape (accepted, n_neurons)
        Each neuron's spikes while each accepted digit was shown (its
        accepted presentation only).
    shown : ndarray of int16, shape (accepted,)
        Presentations each accepted digit needed, counting those of earlier batches.
    presentations : int
        Presentations simulated.
    spikes : int
        Excitatory spikes in the batch.
    """

    network: dict
    accepted: int
    counts: np.ndarray
    shown: np.ndarray
    presentations: int
    spikes: int


class DigitsEngine(Protocol):
    """What the loop needs from a simulator (``workers``, optional: batches it can run at once, default 1)."""

    batch: int

    def run_batch(self, rates_hz: np.ndarray, network: dict, plastic: bool, seed: int) -> BatchResult: ...


@dataclass(frozen=True)
class Phase:
    """One phase: its digits (as input rates at intensity 1, Hz), whether the network learns, and how many passes.

    ``rates_hz / divisor`` are the rates: the digits can be kept as pixels (uint8) and turned into
    rates a batch at a time, which keeps 60,000 digits at 47 MB instead of 376.

    The digits are shown ``passes`` times, in the same order each time; a
    batch never spans two passes, so the network after ``k`` passes is the
    same whatever the number of passes that follow.

    ``segment`` (frozen phases only): digits per independent segment, each
    started from ``start(network)`` (e.g. the learnt network at rest); 0 runs
    the phase as one chain from where the state is.
    """

    name: str
    rates_hz: np.ndarray
    plastic: bool
    passes: int = 1
    divisor: float = 1.0
    segment: int = 0
    start: Callable[[dict], dict] | None = None

    @property
    def digits(self) -> int:
        """Digits shown in the phase, over all passes."""
        return len(self.rates_hz) * self.passes

    def chunk(self, position: int, batch: int) -> np.ndarray:
        """The next digits from ``position`` (counted over all passes): at most ``batch``, up to the end of the pass."""
        start = position % len(self.rates_hz)
        rows = np.asarray(self.rates_hz[start : start + batch], dtype=np.float64)
        return rows if self.divisor == 1.0 else rows / self.divisor


class Stopped(Exception):
    """The run stopped at a digit boundary because of a signal; the state is saved."""

    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(signal.Signals(signum).name)


class StopSignals:
    """SIGINT/SIGTERM ask the loop to stop after the current batch; a second one ends at once.

    Parameters
    ----------
    on_second : callable, optional
        Called with the signal number before a second signal ends the process
        (e.g. to stop the simulator's child process).
    """

    def __init__(self, on_second=None):
        self.on_second = on_second
        self.received: int | None = None
        self._old: dict = {}

    def __enter__(self) -> StopSignals:
        for s in (signal.SIGINT, signal.SIGTERM):
            try:
                self._old[s] = signal.signal(s, self._handle)
            except ValueError:  # not the main thread: no signals to catch
                pass
        return self

    def _handle(self, signum, frame) -> None:
        if self.received is not None:
            if self.on_second is not None:
                self.on_second(signum)
            os._exit(128 + signum)
        self.received = signum

    def __exit__(self, *exc) -> None:
        for s, h in self._old.items():
            signal.signal(s, h)
        self._old = {}


def run_phases(engine: DigitsEngine, state, phases: list[Phase], seed: int, save_every: int, checkpoint, report, stop):
    """Run the phases from where ``state`` is to the end.

    Parameters
    ----------
    engine : DigitsEngine
    state : TrainingState
        Updated in place.
    phases : list of Phase
        One per :data:`~spiking.learn.model.PHASES`.
    seed : int
        The run's seed.
    save_every : int
        Digits between checkpoints (taken at the first batch end at or past each multiple).
    checkpoint : callable
        ``checkpoint(state)`` saves it.
    report : callable
        ``report(state, result, seconds)`` after every batch.
    stop : callable
        Returns a signal number when the run is to stop, else None.

    Raises
    ------
    Stopped
        After saving the state, when ``stop()`` said so.
    """
    while state.phase < len(PHASES):
        phase = phases[state.phase]
        total = phase.digits
        if phase.segment and not phase.plastic:
            _run_segments(engine, state, phase, seed, save_every, checkpoint, report, stop)
        while state.position < total:
            before = state.position
            t0 = time.perf_counter()
            chunk = phase.chunk(before, engine.batch)
            result = engine.run_batch(chunk, state.network, phase.plastic, batch_seed(seed, state.phase, state.batches))
            seconds = time.perf_counter() - t0
            _record(state, phase.name, result, seconds)
            report(state, result, seconds)
            saved = False
            if state.position // save_every > before // save_every and state.position < total:
                checkpoint(state)  # the end of a phase is saved below
                saved = True
            signum = stop()
            if signum is not None:
                if not saved:
                    checkpoint(state)
                raise Stopped(signum)
        state.phase += 1
        state.position = state.batches = 0
        checkpoint(state)
    return state


def _segments(phase: Phase, shown: np.ndarray) -> list[tuple[int, int, int]]:
    """``(number, first, end)`` of each segment with a digit not yet shown."""
    bounds = [(i, a, min(a + phase.segment, phase.digits)) for i, a in enumerate(range(0, phase.digits, phase.segment))]
    return [(i, a, b) for i, a, b in bounds if np.any(shown[a:b] == 0)]


def _segment_batches(engine, phase: Phase, start: dict, phase_index: int, seed: int, segment, cancelled):
    """Run one segment from ``start`` batch by batch; yields ``(first digit, result, seconds)`` after each batch."""
    number, pos, end = segment
    network, k = start, 0
    while pos < end and not cancelled():
        t0 = time.perf_counter()
        rows = phase.chunk(pos, min(engine.batch, end - pos))
        result = engine.run_batch(rows, network, False, segment_seed(seed, phase_index, number, k))
        yield pos, result, time.perf_counter() - t0
        network, pos, k = result.network, pos + result.accepted, k + 1


def _run_segments(engine, state, phase: Phase, seed: int, save_every: int, checkpoint, report, stop) -> None:
    """A frozen phase in independent segments, ``engine.workers`` at a time; ``state.network`` is left as it is."""
    name = phase.name
    shown, counts = state.shown[name], state.counts[name]
    todo = _segments(phase, shown)
    for _, a, b in todo:  # a segment cut short by a stop runs again from its start
        shown[a:b], counts[a:b] = 0, 0
    state.position = int(np.count_nonzero(shown))
    workers = max(1, min(int(getattr(engine, "workers", 1)), len(todo)))
    start = phase.start(state.network) if phase.start is not None else state.network
    last = time.perf_counter()

    def record(pos: int, result: BatchResult, seconds: float) -> None:
        nonlocal last
        before = state.position
        k = result.accepted
        counts[pos : pos + k] = result.counts
        shown[pos : pos + k] = result.shown
        now = time.perf_counter()
        state.position += k
        state.batches += 1
        state.presentations[state.phase] += result.presentations
        state.elapsed_s[state.phase] += now - last  # wall time: segments overlap
        last = now
        report(state, result, seconds)
        if state.position // save_every > before // save_every and state.position < phase.digits:
            checkpoint(state)

    if workers == 1:
        for segment in todo:
            for item in _segment_batches(engine, phase, start, state.phase, seed, segment, lambda: False):
                record(*item)
                signum = stop()
                if signum is not None:
                    checkpoint(state)
                    raise Stopped(signum)
        return
    _run_in_threads(engine, state, phase, start, seed, todo, workers, record, checkpoint, stop)


def _run_in_threads(engine, state, phase, start, seed, todo, workers, record, checkpoint, stop) -> None:
    """Segments on ``workers`` threads (each waits for the engine's process); results are recorded here, in order of arrival."""
    pending = list(reversed(todo))
    lock = threading.Lock()
    cancel = threading.Event()
    results: queue.Queue = queue.Queue()

    def work() -> None:
        try:
            while not cancel.is_set():
                with lock:
                    if not pending:
                        break
                    segment = pending.pop()
                for item in _segment_batches(engine, phase, start, state.phase, seed, segment, cancel.is_set):
                    results.put(item)
        except BaseException as err:  # noqa: BLE001 - handed to the main thread, which raises it
            results.put(err)
        finally:
            results.put(None)

    threads = [threading.Thread(target=work, name=f"segment-{i}", daemon=True) for i in range(workers)]
    for t in threads:
        t.start()
    running, failure, signum = len(threads), None, None
    try:
        while running:
            try:
                item = results.get(timeout=0.2)
            except queue.Empty:
                item = ()
            if item is None:
                running -= 1
            elif isinstance(item, BaseException):
                failure = failure or item
                cancel.set()
            elif item:
                record(*item)
            if signum is None and failure is None:
                signum = stop()
                if signum is not None:
                    cancel.set()  # the batches under way finish; their digits are kept
    finally:
        cancel.set()
        for t in threads:
            t.join()
    if failure is not None:
        raise failure
    if signum is not None:
        checkpoint(state)
        raise Stopped(signum)


def _record(state, name: str, result: BatchResult, seconds: float) -> None:
    p, k = state.position, result.accepted
    state.counts[name][p : p + k] = result.counts
    state.shown[name][p : p + k] = result.shown
    state.network = result.network
    state.position += k
    state.batches += 1
    state.presentations[state.phase] += result.presentations
    state.elapsed_s[state.phase] += seconds
