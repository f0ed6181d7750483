"""A compiled Brian2 C++ standalone project: built once per network shape, kept in the cache, run with arguments.

The project folder is named by a key of everything that changes the generated
code (:func:`code_key`); a run that differs only in seed, stimulus, rates or
model time (within the compiled duration) finds it and does not compile. A
project is built in a private folder and renamed into place, so concurrent
runs never see half of one. Each run of the program writes its results into
its own scratch folder under ``runs/``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import shutil
import signal
import subprocess
import threading
import time
from importlib import metadata
from pathlib import Path

from ...errors import EngineUnavailableError
from ...io.runfolder import pid_alive
from .install import cache_root, compiler

__all__ = ["code_key", "compiled_duration", "Project"]

logger = logging.getLogger(__name__)

#: The shortest model time a project is compiled for, ms; longer runs take the next power of two of it.
COMPILED_BASE_MS = 1000.0


def compiled_duration(ms: float) -> float:
    """The model time to compile for: ``COMPILED_BASE_MS`` times the smallest power of two that covers ``ms``."""
    out = COMPILED_BASE_MS
    while out < ms * (1 - 1e-12):
        out *= 2
    return out


def _source_hash() -> str:
    """The engine's own source, so a changed engine never reuses an old project."""
    h = hashlib.sha256()
    for f in sorted(Path(__file__).parent.glob("*.py")):
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def code_key(description: dict) -> str:
    """A short hash of what the generated code depends on (plus Brian2, the compiler and this engine)."""
    text = json.dumps(
        {
            "model": description,
            "brian2": metadata.version("brian2"),
            "compiler": compiler() or "",
            "machine": platform.machine(),
            "engine": _source_hash(),
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def _vm_hwm_mb(pid: int) -> float:
    """Peak resident memory of a running process since it started its program (Linux ``VmHWM``), MB; 0 if unknown."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except (OSError, ValueError, IndexError):
        pass
    return 0.0


class _PeakWatch(threading.Thread):
    """Samples the peak memory (``VmHWM``) of a running program every ``every`` seconds until stopped.

    ``getrusage``/``wait4`` cannot be used: on Linux a child's ``ru_maxrss``
    keeps the resident memory of the Python process it was forked from (the
    high-water mark survives ``exec``), which hides the program's own peak
    below a few hundred MB.
    """

    def __init__(self, pid: int, every: float = 0.05):
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.peak = 0.0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.peak = max(self.peak, _vm_hwm_mb(self.pid))
            self.done.wait(self.every)

    def stop(self) -> float:
        """Stop sampling; the peak seen, MB."""
        self.done.set()
        self.join()
        return self.peak


class Project:
    """One compiled network in the cache.

    Parameters
    ----------
    name : str
        A readable prefix of the folder name.
    key : str
        :func:`code_key` of the network.
    """

    def __init__(self, name: str, key: str):
        self.root = cache_root()
        self.folder = self.root / f"{name}-{key}"
        self.compiled_now = False
        self.compile_s = 0.0
        self.child: subprocess.Popen | None = None
        #: peak resident memory of the last run of the program (its ``VmHWM``, sampled every 50 ms), MB
        self.peak_rss_mb = 0.0

    @property
    def exists(self) -> bool:
        return (self.folder / "main").is_file()

    def build(self, device, jobs: int, extra_files: dict[str, str] | None = None) -> None:
        """Compile the declared network into the cache (a private folder first, then renamed into place).

        ``extra_files`` (name -> text) are written into the project with it.
        """
        import brian2

        problem = None if compiler() else "no C++ compiler found; on Debian or Ubuntu: apt-get install g++"
        if problem:
            raise EngineUnavailableError(f"Brian2 cannot compile the network: {problem}")
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / f".build-{self.folder.name}-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        make_args = brian2.prefs["devices.cpp_standalone.extra_make_args_unix"]
        # the compiler's output goes to make.log (shown in one line if it fails), not to the run's stdout
        brian2.prefs["devices.cpp_standalone.extra_make_args_unix"] = [f"-j{max(1, jobs)}", ">make.log 2>&1"]
        t0 = time.perf_counter()
        try:
            device.build(directory=str(tmp), compile=True, run=False, with_output=False)
        except Exception as err:  # noqa: BLE001 - the compiler's complaint, in one line
            log = _read(tmp / "make.log")
            logger.debug("compiling the network in %s failed; make.log (removed with it):\n%s", tmp, log, exc_info=True)
            errors = [ln for ln in log.splitlines() if "error" in ln.lower()]
            shutil.rmtree(tmp, ignore_errors=True)
            first = errors[0] if errors else (str(err).strip().splitlines() or [type(err).__name__])[0]
            raise EngineUnavailableError(f"Brian2 could not compile the network: {first}") from None
        finally:
            brian2.prefs["devices.cpp_standalone.extra_make_args_unix"] = make_args
        self.compile_s = time.perf_counter() - t0
        for name, text in (extra_files or {}).items():
            (tmp / name).write_text(text)
        try:
            tmp.rename(self.folder)
        except OSError:  # another process published the same project meanwhile
            shutil.rmtree(tmp, ignore_errors=True)
        self.compiled_now = True

    def scratch(self) -> Path:
        """A new scratch folder for one run of the program (removed by :meth:`clean`)."""
        runs = self.root / "runs"
        for old in runs.glob("*-*"):  # of processes that died without cleaning up
            pid = old.name.split("-")[0]
            if pid.isdigit() and not pid_alive(int(pid)):
                shutil.rmtree(old, ignore_errors=True)
        folder = runs / f"{os.getpid()}-{os.urandom(4).hex()}"
        (folder / "results").mkdir(parents=True)
        return folder

    def run(self, args: list[str], env: dict, scratch: Path, on_line=None) -> int:
        """Run the program; ``on_line(text)`` gets each line it prints. Returns its exit status.

        The program runs in its own session, so a Ctrl-C in the terminal reaches
        only Python, which decides (:meth:`interrupt`).
        """
        cmd = [str(self.folder / "main"), "--results_dir", f"{scratch / 'results'}{os.sep}", *args]
        with open(scratch / "stderr.txt", "w") as err:
            self.child = subprocess.Popen(
                cmd,
                cwd=self.folder,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
                env={**os.environ, **env},
                start_new_session=True,
            )
            watch = _PeakWatch(self.child.pid)
            watch.start()
            try:
                for line in self.child.stdout:
                    watch.peak = max(watch.peak, _vm_hwm_mb(self.child.pid))
                    if on_line is not None:
                        on_line(line.rstrip("\n"))
                watch.peak = max(watch.peak, _vm_hwm_mb(self.child.pid))  # its output closed: it is ending
                return self._wait()
            finally:
                self.interrupt()  # when leaving early (a signal): the program stops and writes what it has
                self.peak_rss_mb = watch.stop()
                self.child.stdout.close()
                self.child = None

    def _wait(self) -> int:
        """Wait for the program; its exit status."""
        return self.child.wait()

    def interrupt(self, timeout: float = 30.0) -> None:
        """Ask a running program to stop (it writes what it has), and kill it if it does not."""
        child = self.child
        if child is None or child.poll() is not None:
            return
        child.send_signal(signal.SIGINT)
        try:
            child.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()

    def stderr(self, scratch: Path) -> str:
        return _read(scratch / "stderr.txt").strip()

    @staticmethod
    def clean(scratch: Path) -> None:
        shutil.rmtree(scratch, ignore_errors=True)
