"""The simulator-free part of ``spiking learn digits``: data and split, read-out, state files, the loop, run folders: the slow part (``make test-slow``); the rest is in ``tests/test_learn.py``."""

import hashlib
import os

import numpy as np
import pytest

from test_learn import MNIST_CACHE


@pytest.mark.skipif(
    not os.path.exists(MNIST_CACHE), reason="full MNIST not fetched (spiking learn digits --dataset mnist fetches it)"
)
def test_the_real_mnist_file_is_mnist():
    from spiking.learn import mnist
    from spiking.learn.data import load_dataset

    digits, split = load_dataset("mnist", MNIST_CACHE)
    assert digits.pixels.shape == (70000, 784) and digits.sha256 == mnist.PICKLE_SHA256
    assert np.bincount(digits.labels[split.test]).tolist() == list(mnist.TEST_COUNTS)
    assert digits.pixels.max() == 255 and split.validation == 50000
    assert hashlib.sha256(open(MNIST_CACHE, "rb").read()).hexdigest() == mnist.WHEEL_SHA256
