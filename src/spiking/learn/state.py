"""The saved training state (``state.npz``): where a run is, the network, and every response so far.

Written atomically at every checkpoint, so the file is always a complete
state from a digit boundary; a run resumed from it continues exactly as the
run that saved it would have. Reading checks every array's name, shape and
values and raises :class:`~spiking.errors.CheckpointError` in one line.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import CheckpointError
from ..io.atomic import atomic_write_bytes
from .model import PHASES

__all__ = ["TrainingState", "save_state", "load_state", "STATE_FILE", "STATE_FORMAT"]

STATE_FILE = "state.npz"
STATE_FORMAT = "spiking-learn-digits-state/3"
#: The format before responses were stored sparsely (still read, so older runs resume).
DENSE_FORMAT = "spiking-learn-digits-state/2"


@dataclass
class TrainingState:
    """Where a run is.

    Attributes
    ----------
    phase : int
        Index into :data:`~spiking.learn.model.PHASES`; ``len(PHASES)`` when done.
    position : int
        Digits of the current phase done.
    batches : int
        Batches of the current phase simulated (they seed the simulator).
    network : dict of str to ndarray
        The network between two presentations
        (:func:`~spiking.learn.model.state_shapes`).
    counts : dict of str to ndarray of int32, shape (n_digits, n_neurons)
        Per phase: each neuron's spikes while each digit was shown (the
        accepted presentation).
    shown : dict of str to ndarray of int16, shape (n_digits,)
        Per phase: how often each digit was presented (0: not yet).
    presentations : ndarray of int64, shape (3,)
        Presentations simulated per phase.
    elapsed_s : ndarray of float, shape (3,)
        Wall time spent per phase, over all sessions.
    """

    phase: int
    position: int
    batches: int
    network: dict[str, np.ndarray]
    counts: dict[str, np.ndarray]
    shown: dict[str, np.ndarray]
    presentations: np.ndarray = field(default_factory=lambda: np.zeros(len(PHASES), np.int64))
    elapsed_s: np.ndarray = field(default_factory=lambda: np.zeros(len(PHASES)))

    @classmethod
    def fresh(cls, network: dict[str, np.ndarray], sizes: dict[str, int], neurons: int, phase: int = 0):
        return cls(
            phase=phase,
            position=0,
            batches=0,
            network=network,
            counts={p: np.zeros((sizes[p], neurons), np.int32) for p in PHASES},
            shown={p: np.zeros(sizes[p], np.int16) for p in PHASES},
        )


def save_state(folder, state: TrainingState) -> Path:
    """Write ``state.npz`` atomically."""
    arrays = {
        "format": np.array(STATE_FORMAT),
        "phase": np.array(state.phase),
        "position": np.array(state.position),
        "batches": np.array(state.batches),
        "presentations": state.presentations,
        "elapsed_s": state.elapsed_s,
    }
    arrays.update({f"network/{k}": v for k, v in state.network.items()})
    # responses are sparse (a digit's spikes go to a few neurons): only the non-zero counts, by their
    # flat index; at most 700 spikes per neuron in a digit's 700 steps, so 16 bits hold every count.
    # For 400 neurons and 3 passes over 60,000 digits: about 4 MB instead of 144.
    for k, v in state.counts.items():
        index = np.flatnonzero(v)
        arrays[f"counts/{k}/index"] = index.astype(np.uint32 if v.size < 2**32 else np.int64)
        arrays[f"counts/{k}/value"] = v.reshape(-1)[index].astype(np.int16)
    arrays.update({f"shown/{k}": v for k, v in state.shown.items()})
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return atomic_write_bytes(Path(folder) / STATE_FILE, buf.getvalue())


def _read(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no saved state (the run stopped before its first checkpoint)") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as err:
        raise CheckpointError(f"{path}: broken state file ({type(err).__name__}: {err})") from None


def _check(path: Path, name: str, a: np.ndarray, shape: tuple, kind: str) -> np.ndarray:
    if a.shape != tuple(shape):
        raise CheckpointError(f"{path}: {name} has shape {a.shape}, expected {tuple(shape)}")
    if a.dtype.kind not in kind:
        raise CheckpointError(f"{path}: {name} has type {a.dtype}, expected numbers")
    if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
        raise CheckpointError(f"{path}: {name} holds values that are not finite")
    return a


def _dense(path: Path, phase: str, data: dict, shape: tuple[int, int]) -> np.ndarray:
    """A phase's responses from their non-zero counts (checked: indices in range and increasing, counts positive)."""
    try:
        index, value = data.pop(f"counts/{phase}/index"), data.pop(f"counts/{phase}/value")
    except KeyError as err:
        raise CheckpointError(f"{path}: broken state file (no {err.args[0]})") from None
    size = shape[0] * shape[1]
    if index.ndim != 1 or index.shape != value.shape or index.dtype.kind not in "iu" or value.dtype.kind not in "iu":
        raise CheckpointError(f"{path}: counts/{phase} are not matching index and value lists")
    index = index.astype(np.int64)
    if len(index) and (index[0] < 0 or index[-1] >= size or np.any(np.diff(index) <= 0) or value.min() <= 0):
        raise CheckpointError(f"{path}: counts/{phase} do not fit {shape[0]} digits x {shape[1]} neurons")
    dense = np.zeros(size, np.int32)
    dense[index] = value
    return dense.reshape(shape)


def load_state(folder, network_shapes: dict[str, tuple], sizes: dict[str, int], neurons: int) -> TrainingState:
    """Read and check ``state.npz`` of a run folder.

    Parameters
    ----------
    network_shapes : dict
        Expected network arrays (:func:`~spiking.learn.model.state_shapes`).
    sizes : dict of str to int
        Digits per phase.
    neurons : int
    """
    path = Path(folder) / STATE_FILE
    data = _read(path)
    if "format" not in data or str(data["format"]) not in (STATE_FORMAT, DENSE_FORMAT):
        raise CheckpointError(f"{path}: not a saved state of spiking learn digits")
    if str(data["format"]) == STATE_FORMAT:
        for p in PHASES:
            data[f"counts/{p}"] = _dense(path, p, data, (sizes[p], neurons))
    expected = {
        "phase": ((), "iu"),
        "position": ((), "iu"),
        "batches": ((), "iu"),
        "presentations": ((len(PHASES),), "iu"),
        "elapsed_s": ((len(PHASES),), "f"),
    }
    expected.update({f"network/{k}": (s, "fiu") for k, s in network_shapes.items()})
    expected.update({f"counts/{p}": ((sizes[p], neurons), "iu") for p in PHASES})
    expected.update({f"shown/{p}": ((sizes[p],), "iu") for p in PHASES})
    missing = sorted(set(expected) - set(data))
    if missing:
        raise CheckpointError(f"{path}: broken state file (no {missing[0]})")
    for name, (shape, kind) in expected.items():
        _check(path, name, data[name], shape, kind)
    phase, position = int(data["phase"]), int(data["position"])
    if not 0 <= phase <= len(PHASES) or not 0 <= position <= (sizes[PHASES[phase]] if phase < len(PHASES) else 0):
        raise CheckpointError(f"{path}: phase {phase} and position {position} do not fit this run")
    return TrainingState(
        phase=phase,
        position=position,
        batches=int(data["batches"]),
        network={k: data[f"network/{k}"] for k in network_shapes},
        counts={p: data[f"counts/{p}"].astype(np.int32) for p in PHASES},
        shown={p: data[f"shown/{p}"].astype(np.int16) for p in PHASES},
        presentations=data["presentations"].astype(np.int64),
        elapsed_s=data["elapsed_s"].astype(float),
    )
