"""The last word on a run folder whose writing process died: a small watcher marks it ``failed``.

Under an MPI launcher a rank that dies (killed, out of memory) makes the
launcher stop the whole job, rank 0 included, usually while it is inside the
simulator where Python cannot run. Rank 0 therefore starts this watcher
first (:class:`Guard`): a separate Python process in its own session, which
the launcher does not stop, holding the read end of a pipe. When rank 0 ends
in any way the pipe closes; if ``manifest.json`` still says ``running``, the
watcher writes ``failed`` with the reason, the time, and the model time that
``spikes.h5.part`` reached, and exits. A run that ended normally has already
said how it ended, and the watcher leaves it alone.

Run as ``python -m spiking.io.guard FOLDER PID PROCESSES`` by :class:`Guard`
only; it imports nothing heavy until rank 0 is gone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

__all__ = ["Guard", "mark_failed"]


class Guard:
    """The watcher of one run folder, started by the process that writes it.

    Parameters
    ----------
    folder : path-like
        The run folder; its ``manifest.json`` must exist (or appear) before
        the process ends.
    processes : int
        Processes of the run, for the message.
    """

    def __init__(self, folder, processes: int):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "spiking.io.guard", str(folder), str(os.getpid()), str(processes)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # not stopped with the job: it outlives rank 0 on purpose
            close_fds=True,
        )

    def release(self, timeout: float = 10.0) -> None:
        """The run has written its final manifest: let the watcher look once more and go."""
        if self.proc.stdin is not None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _t_stop(part: Path) -> float | None:
    """``t_stop`` of a spike file left half-written, or None when it cannot be read."""
    try:
        import h5py

        with h5py.File(part, "r") as h5:
            return float(h5.attrs.get("t_stop", 0.0))
    except Exception:  # noqa: BLE001 - a file cut in the middle of a write
        return None


def mark_failed(folder, pid: int, processes: int) -> bool:
    """Mark the run in ``folder`` ``failed`` if its manifest still says ``running``; whether it did.

    The manifest gains ``error`` (why), ``finished``, ``t_reached_ms`` (from
    ``spikes.h5.part`` when it can be read) and ``note`` (what is kept).
    """
    folder = Path(folder)
    path = folder / "manifest.json"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(manifest, dict) or manifest.get("status") != "running":
        return False
    now = datetime.now().astimezone().isoformat(timespec="seconds")
    of = f"rank 0 of {processes} processes" if processes > 1 else "the run's process"
    manifest.update(
        status="failed",
        error=(
            f"ProcessDied: {of} (pid {pid}) ended before the run finished: killed by a signal or out of "
            "memory, or stopped by the MPI launcher because another rank died"
        ),
        finished=now,
        updated=now,
    )
    part = folder / "spikes.h5.part"
    if part.exists():
        t = _t_stop(part)
        if t is not None:
            manifest["t_reached_ms"] = t
            manifest["note"] = f"spikes.h5.part holds the spikes written up to {t:g} ms (the last chunk may be cut)"
        else:
            manifest["note"] = "spikes.h5.part was left in the middle of a write and cannot be read"
    tmp = folder / f".manifest.json.{os.getpid()}.tmp"
    try:
        tmp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
        return False
    return True


def main(argv: list[str]) -> int:
    folder, pid, processes = argv[0], int(argv[1]), int(argv[2])
    try:
        sys.stdin.buffer.read()  # until the run's process closes the pipe, or dies
    except (OSError, KeyboardInterrupt):
        pass
    mark_failed(folder, pid, processes)
    return 0


if __name__ == "__main__":  # pragma: no cover - run by Guard in its own process
    raise SystemExit(main(sys.argv[1:]))
