"""``spiking learn categories``: Mozafari et al. (2018), first-spike categorisation with reward-modulated STDP.

Two data sets:

* ``caltech``: the Caltech 101 faces and motorbikes sample that the authors
  ship with their program, read from a folder you name with one subfolder
  per class (``Face/``, ``Motorbike/``); 50 images per class learnt, the rest
  tested (a seeded draw), with the authors' settings
  (:class:`~spiking.firstspike.rstdp.RSTDPParams`'s defaults, 200 epochs).
* ``digits``: the 5,000 MNIST digits the project reads (4,000 learnt, 1,000
  held out, :mod:`spiking.learn.data`), with settings for 28 x 28 images
  (:data:`DIGITS_PARAMS`: no scaling, C1 pooling 2 x 2, S2 windows 9 x 9, 10
  maps per digit, threshold 12, 20 epochs). The paper has no figure for this
  shallow network.

For each, R-STDP (reward and punishment, adaptive rates, drop-out) and, beside
it, the same network trained with plain STDP (every winner rewarded, no
drop-out) and read out by the most active map, each map labelled by the class
for which it is most often the most active on the learnt images, and by its
first spike, each map labelled by the class it most often fires first for:
what the reward adds. The accuracies are those of the last epoch (the authors' program
kept the epoch with the best test accuracy). Writes ``results.csv``,
``epochs.csv`` (accuracy after each epoch), ``accuracy.png``, ``maps.png``
(the learnt feature maps), ``weights.npz`` and a manifest.
"""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import numpy as np

from .. import __version__
from ..errors import DatasetError
from ..io.atomic import atomic_write_csv, new_figure, save_figure
from ..io.runfolder import create_run_folder, write_manifest
from .rstdp import RSTDPParams, S2Layer, features, gabor_bank

__all__ = ["DATASETS", "DIGITS_PARAMS", "CategoriesOptions", "load_caltech", "learn_categories"]

DATASETS = ("caltech", "digits")
#: Settings for the 28 x 28 digits (the authors' are for images of about 227 x 150).
#: Chosen on validation digits (learn 3,000 of the 4,000, test on the other 1,000; ``docs/first-spike.md``).
DIGITS_PARAMS = RSTDPParams(scale=1.0, pool=2, stride=2, window=9, maps_per_class=10, threshold=12.0, epochs=20)
#: Images per class learnt from the Caltech sample (the authors' split).
CALTECH_TRAIN_PER_CLASS = 50


@dataclass(frozen=True)
class CategoriesOptions:
    """What a ``learn categories`` run does (``epochs``/``time_steps``: 0 keeps the data set's own)."""

    dataset: str = "caltech"
    data: str = ""
    output_dir: str = "output"
    seed: int = 40
    epochs: int = 0
    time_steps: int = 0
    plain: bool = True

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def load_caltech(folder, scale: float) -> tuple[list[np.ndarray], np.ndarray, list[str]]:
    """Grey images in [0, 1] (resized by ``scale``), their class indices and the class names (subfolders, sorted)."""
    from PIL import Image, UnidentifiedImageError

    folder = Path(folder)
    classes = sorted(d.name for d in folder.iterdir() if d.is_dir()) if folder.is_dir() else []
    if len(classes) < 2:
        raise DatasetError(
            f"{folder}: needs a subfolder of images per class (e.g. Face/ and Motorbike/: the sample of Mozafari "
            "et al. 2018, ModelDB 240369, RLSNN/Tester/dataset/caltech)"
        )
    images, labels = [], []
    for c, name in enumerate(classes):
        files = sorted(p for p in (folder / name).iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".pgm"))
        if not files:
            raise DatasetError(f"{folder / name}: no images")
        for path in files:
            try:
                with Image.open(path) as im:
                    im = im.convert("L")
                    size = (max(1, round(im.width * scale)), max(1, round(im.height * scale)))
                    images.append(np.asarray(im.resize(size, Image.BILINEAR), dtype=float) / 255.0)
            except (OSError, UnidentifiedImageError) as err:
                raise DatasetError(f"{path}: cannot be read as an image ({err})") from None
            labels.append(c)
    return images, np.array(labels), classes


def _split_caltech(labels: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    train, test = [], []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        train.append(idx[:CALTECH_TRAIN_PER_CLASS])
        test.append(idx[CALTECH_TRAIN_PER_CLASS:])
    return np.concatenate(train), np.concatenate(test)


def _dataset(options: CategoriesOptions, p: RSTDPParams, rng):
    if options.dataset == "caltech":
        images, labels, classes = load_caltech(options.data, p.scale)
        train, test = _split_caltech(labels, rng)
        return images, labels, classes, train, test, {"folder": str(Path(options.data).resolve())}
    from ..learn.data import load_digits, split_digits

    digits = load_digits()
    split = split_digits(digits.labels)
    images = [digits.pixels[i].reshape(28, 28) / 255.0 for i in range(len(digits.labels))]
    return (
        images,
        np.asarray(digits.labels),
        [str(d) for d in range(10)],
        split.train,
        split.test,
        {"source": digits.source, "sha256": digits.sha256},
    )


def _evaluate(net: S2Layer, inputs, labels, ids, map_labels=None, first_spike: bool = True) -> tuple[float, int, list]:
    """Accuracy, silent count and decision steps of a read-out: the first map to fire (``first_spike``) or the
    most active map, each map's class its own (``map_labels`` None) or ``map_labels``."""
    classes = net.classes if map_labels is None else map_labels
    correct = silent = 0
    steps = []
    for i in ids:
        if first_spike:
            m, _, t = net.winner(inputs[i])
            steps.append(t)
        else:
            m = net.most_active(inputs[i])
        ok = m >= 0 and classes[m] == labels[i]
        silent += m < 0
        correct += bool(ok)
    return correct / len(ids), silent, steps


def _train(net, p, inputs, labels, train, test, rng, reward: bool, say, name: str, n_classes: int) -> list:
    """Epochs of R-STDP (``reward``) or plain STDP; the accuracy after each (train, test)."""
    base = (p.a_plus, p.a_minus, p.anti_a_plus, p.anti_a_minus)
    first = (1 - 1 / n_classes) * p.adaptive_interval + p.adaptive_minimum
    anti_first = (1 / n_classes) * p.adaptive_interval + p.adaptive_minimum
    rates = (base[0] * first, base[1] * first, base[2] * anti_first, base[3] * anti_first)
    history = []
    t0 = time.perf_counter()
    for epoch in range(p.epochs):
        active = rng.random(net.n_maps) >= p.dropout if reward else None
        for i in rng.permutation(train):
            m, pos, t = net.winner(inputs[i], active)
            if m < 0:
                continue
            net.update(inputs[i], m, pos, t, (not reward) or net.classes[m] == labels[i], rates)
        if reward:
            acc_train, _, _ = _evaluate(net, inputs, labels, train)
            acc_test, silent, _ = _evaluate(net, inputs, labels, test)
            scale_stdp = (1 - acc_train) * p.adaptive_interval + p.adaptive_minimum
            scale_anti = acc_train * p.adaptive_interval + p.adaptive_minimum
            rates = (base[0] * scale_stdp, base[1] * scale_stdp, base[2] * scale_anti, base[3] * scale_anti)
        else:
            labels_of = _label_maps(net, inputs, labels, train, n_classes, first_spike=False)
            acc_train, _, _ = _evaluate(net, inputs, labels, train, labels_of, first_spike=False)
            acc_test, silent, _ = _evaluate(net, inputs, labels, test, labels_of, first_spike=False)
        history.append((epoch + 1, acc_train, acc_test, silent))
        if (epoch + 1) % max(1, p.epochs // 10) == 0 or epoch + 1 == p.epochs:
            say(
                f"{name:10s} epoch {epoch + 1:4d}: learnt {100 * acc_train:5.1f}%, tested {100 * acc_test:5.1f}% "
                f"({silent} silent)  {time.perf_counter() - t0:6.1f} s"
            )
    return history


def _label_maps(net: S2Layer, inputs, labels, ids, n_classes: int, first_spike: bool) -> np.ndarray:
    """Each map's class: the class for which it is most often the most active map (or fires first) on ``ids``
    (-1: never)."""
    votes = np.zeros((net.n_maps, n_classes))
    for i in ids:
        m = net.winner(inputs[i])[0] if first_spike else net.most_active(inputs[i])
        if m >= 0:
            votes[m, labels[i]] += 1
    return np.where(votes.sum(axis=1) > 0, votes.argmax(axis=1), -1)


def learn_categories(options: CategoriesOptions, say=lambda text: None) -> tuple[Path, dict]:
    """Run the protocol (module docstring) into a new run folder; the folder and the manifest."""
    if options.dataset not in DATASETS:
        raise DatasetError(f"dataset must be one of {', '.join(DATASETS)}, got {options.dataset!r}")
    p = RSTDPParams() if options.dataset == "caltech" else DIGITS_PARAMS
    if options.epochs:
        p = replace(p, epochs=options.epochs)
    if options.time_steps:
        p = replace(p, time_steps=options.time_steps)
    rng = np.random.default_rng(options.seed)
    t_all = time.perf_counter()
    images, labels, classes, train, test, source = _dataset(options, p, rng)
    folder = create_run_folder(options.output_dir, f"{datetime.now():%Y%m%d-%H%M%S}-learn-categories-{options.dataset}")
    manifest = {
        "command": "learn categories",
        "status": "running",
        "options": options.to_dict(),
        "params": p.to_dict(),
        "data": {**source, "classes": classes, "train": int(len(train)), "test": int(len(test))},
        "versions": {"spiking": __version__, "python": platform.python_version(), "numpy": np.__version__},
        "source": "Mozafari et al. (2018), IEEE TNNLS 29:6178-6190; the authors' program, ModelDB 240369 (RLSNN)",
    }
    write_manifest(folder, manifest)
    try:
        return _run(folder, manifest, options, p, rng, images, labels, classes, train, test, say, t_all)
    except KeyboardInterrupt:
        manifest.update(status="interrupted", note="stopped by the user; nothing after the last message was written")
        write_manifest(folder, manifest)
        raise


def _run(folder, manifest, options, p, rng, images, labels, classes, train, test, say, t_all):
    timings = {}
    t0 = time.perf_counter()
    bank = gabor_bank(p)
    n_or = bank.shape[0]
    template = S2Layer(len(classes), n_or, p, np.random.default_rng(options.seed))
    inputs = [template.inputs(features(img, p, bank)) for img in images]
    timings["features"] = time.perf_counter() - t0
    say(f"features   {timings['features']:7.1f} s   {len(images)} images, C1 spikes in {p.time_steps or 'one'} steps")

    t0 = time.perf_counter()
    rstdp = S2Layer(len(classes), n_or, p, rng)
    history = _train(rstdp, p, inputs, labels, train, test, rng, True, say, "R-STDP", len(classes))
    timings["rstdp"] = time.perf_counter() - t0
    acc_train, silent_train, _ = _evaluate(rstdp, inputs, labels, train)
    acc_test, silent_test, steps = _evaluate(rstdp, inputs, labels, test)
    rows = [
        ["R-STDP, first spike", "learnt", len(train), round(acc_train, 4), silent_train],
        ["R-STDP, first spike", "tested", len(test), round(acc_test, 4), silent_test],
    ]
    plain_history = []
    if options.plain:
        t0 = time.perf_counter()
        plain = S2Layer(len(classes), n_or, p, np.random.default_rng(options.seed + 1))
        plain_history = _train(plain, p, inputs, labels, train, test, rng, False, say, "STDP", len(classes))
        timings["stdp"] = time.perf_counter() - t0
        for readout, first in (("most active map", False), ("first spike", True)):
            labels_of = _label_maps(plain, inputs, labels, train, len(classes), first_spike=first)
            a_tr, s_tr, _ = _evaluate(plain, inputs, labels, train, labels_of, first_spike=first)
            a_te, s_te, _ = _evaluate(plain, inputs, labels, test, labels_of, first_spike=first)
            rows += [
                [f"STDP, {readout}", "learnt", len(train), round(a_tr, 4), s_tr],
                [f"STDP, {readout}", "tested", len(test), round(a_te, 4), s_te],
            ]
    atomic_write_csv(folder / "results.csv", ["network", "images", "count", "accuracy", "silent"], rows)
    epochs = [["network", "epoch", "learnt", "tested", "silent_tested"]]
    epochs += [["R-STDP", *h] for h in history] + [["STDP", *h] for h in plain_history]
    atomic_write_csv(folder / "epochs.csv", epochs[0], epochs[1:])
    np.savez_compressed(folder / "weights.npz", weights=rstdp.weights, classes=rstdp.classes, names=np.array(classes))
    _accuracy_figure(folder / "accuracy.png", history, plain_history, options.dataset)
    _maps_figure(folder / "maps.png", rstdp, classes)
    timings["total"] = time.perf_counter() - t_all
    decided = [s for s in steps if s >= 0]
    manifest.update(
        status="complete",
        results={
            "rstdp_tested": round(acc_test, 4),
            "rstdp_learnt": round(acc_train, 4),
            "rstdp_silent_tested": silent_test,
            "stdp_most_active_tested": rows[3][3] if options.plain else None,
            "stdp_first_spike_tested": rows[5][3] if options.plain else None,
            "median_decision_step": float(np.median(decided)) if decided else None,
        },
        timings_s={k: round(v, 2) for k, v in timings.items()},
    )
    write_manifest(folder, manifest)
    return folder, manifest


def _accuracy_figure(path: Path, history, plain_history, dataset: str) -> Path:
    fig = new_figure(figsize=(7, 4))
    ax = fig.subplots()
    for h, label, style in ((history, "R-STDP, first spike", "-"), (plain_history, "STDP, most active map", "--")):
        if h:
            e, tr, te, _ = zip(*h)
            ax.plot(e, [100 * x for x in te], style, label=f"{label}: tested")
            ax.plot(e, [100 * x for x in tr], style, alpha=0.4, label=f"{label}: learnt")
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, 102)
    ax.legend(fontsize=8)
    ax.set_title(f"{dataset}: what the reward adds", fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path, dpi=90)


def _maps_figure(path: Path, net: S2Layer, classes: list[str]) -> Path:
    """Each feature map: at each window position the orientation it weighs most, shaded by that weight."""
    n = net.n_maps
    cols = min(10, n)
    rows = -(-n // cols)
    fig = new_figure(figsize=(1.3 * cols, 1.5 * rows))
    axes = np.atleast_2d(fig.subplots(rows, cols, squeeze=False))
    hues = np.array([[0.85, 0.2, 0.2], [0.2, 0.7, 0.2], [0.2, 0.3, 0.9], [0.9, 0.7, 0.1]])
    for k, ax in enumerate(axes.ravel()):
        ax.set_axis_off()
        if k >= n:
            continue
        w = net.weights[k]
        best = w.argmax(axis=2)
        img = hues[best % len(hues)] * w.max(axis=2)[:, :, None]
        ax.imshow(np.clip(img, 0, 1), interpolation="nearest")
        ax.set_title(f"{classes[net.classes[k]]}", fontsize=6)
    fig.suptitle(
        "learnt S2 maps: the strongest orientation at each position (colour), its weight (brightness)", fontsize=8
    )
    fig.tight_layout()
    return save_figure(fig, path, dpi=90)
