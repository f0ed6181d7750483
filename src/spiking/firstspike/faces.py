"""``spiking learn faces``: Delorme & Thorpe (2001), face identification with one spike per neuron, into a run folder.

The protocol, with SpikeNET's 40-face configuration (:mod:`.spikenet`) and the
ORL faces (40 people x 10 views, 92 x 112 pixels):

1. **Learn** views 3 to 10 of each person (SpikeNET's learning list, with its
   face centres), each presentation stopped after SpikeNET's ``TIME_STOP``
   steps: the face map of the person shown learns at the face's centre
   (:meth:`.rankorder.FaceLayer.learn`).
2. **Thresholds.** Each face map fires when a neuron's input exceeds a
   fraction ``f`` of the largest input its first ``K`` input spikes could
   bring (the input arriving in the learnt order; rank-order coding's natural
   scale). ``K`` and ``f`` are chosen by cross-validation within the learnt
   views (:data:`THRESHOLD_GRID`): for each of views 3-10, the face maps learn
   the other seven views and identify that one; the pair that identifies most
   of these held-out views wins. Then the maps learn all eight views and, as
   SpikeNET's own convergence of thresholds on its learning set, a map that
   fires first for another person's learnt view is raised by 2% and the right
   one lowered by 2%, sweep after sweep, keeping the thresholds that identify
   most learnt views. Views 1-2 play no part.
3. **Test**: the decision is the face map that fires first (ties in one
   step: the map furthest over its threshold; silence: an error). Views 1 and 2
   (never learnt) and views 3-10, at full contrast, then degraded (8-bit
   images, :mod:`.images`): contrast from 100% down to 1% (:data:`CONTRASTS`),
   noise from 0 to 100% (:data:`NOISES`, seeded).

Writes ``results.csv`` (condition, level, views, images, correct, silent,
accuracy, median step of the decision), ``accuracy.png`` (accuracy against
contrast and against noise, learnt and unseen views), ``weights.png`` (the
learnt patches), ``decision.png`` (the step of the decisive spike, right and
wrong), ``examples.png`` (a face at every degradation), ``weights.npz`` and a
manifest, and prints the folder.
"""

from __future__ import annotations

import platform
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from .. import __version__
from ..errors import DatasetError
from ..io.atomic import atomic_write_csv, atomic_write_text, new_figure, save_figure
from ..io.runfolder import create_run_folder, write_manifest
from ..machine import usable_cpus
from .images import add_noise, lower_contrast, read_grey
from .rankorder import FaceLayer, OrientationLayer, Spikes, decide, retina
from .spikenet import SpikeNetConfig, read_config

__all__ = ["CONTRASTS", "NOISES", "THRESHOLD_GRID", "FacesOptions", "FaceNetwork", "learn_faces", "find_data"]

#: Contrast levels tested (fractions of the image's own).
CONTRASTS = (1.0, 0.5, 0.2, 0.1, 0.05, 0.03, 0.02, 0.01)
#: Noise levels tested (share of uniform white noise).
NOISES = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
#: ``(K, f)`` values tried for the face maps' thresholds, by cross-validation within the learnt views.
THRESHOLD_GRID = (
    (25, 50, 75, 100, 150, 200, 300, 450, 700, 1000),
    tuple(round(0.2 + 0.025 * i, 3) for i in range(31)),
)
#: Views SpikeNET's protocol never learns.
UNSEEN_VIEWS = (1, 2)
#: Balancing sweeps of the thresholds over the learnt views, at most.
SWEEPS = 20


@dataclass(frozen=True)
class FacesOptions:
    """What a ``learn faces`` run does."""

    faces: str
    spikenet: str
    output_dir: str = "output"
    seed: int = 1
    workers: int = 0
    contrasts: tuple = CONTRASTS
    noises: tuple = NOISES

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.__dict__.items()}


def find_data(folder) -> tuple[Path, Path]:
    """The ORL faces and SpikeNET folders inside ``folder`` (``orl_faces/``, ``spikenet_40faces/``), checked."""
    folder = Path(folder)
    faces, spikenet = folder / "orl_faces", folder / "spikenet_40faces"
    if not (faces / "s1-1.pgm").is_file():
        raise DatasetError(
            f"{folder}: no ORL faces in {faces} (s1-1.pgm ... s40-10.pgm; public copies: the repository "
            "arnodelorme/SpikeNET, Images/orl_faces, or AT&T Laboratories Cambridge's database)"
        )
    if not (spikenet / "learn_lst_img").is_file():
        raise DatasetError(
            f"{folder}: no SpikeNET 40-face configuration in {spikenet} (from the repository arnodelorme/SpikeNET: "
            "networkdemo40faceslearn, networkdemo40facesrun and the Convolutions they name)"
        )
    return faces, spikenet


@dataclass
class FaceNetwork:
    """The whole network: retina kernel, orientation maps, face maps, with the names of both map sets."""

    config: SpikeNetConfig
    on_centre: np.ndarray
    orientation: OrientationLayer
    faces: FaceLayer
    face_names: list
    orientation_names: list = field(default_factory=list)

    @classmethod
    def from_config(cls, cfg: SpikeNetConfig) -> FaceNetwork:
        proj = {(s, t): k for s, t, k in cfg.projections}
        omaps = cfg.orientation_maps
        kernels = [(cfg.kernels[proj[("ON", o)]], cfg.kernels[proj[("OFF", o)]]) for o in omaps]
        first = cfg.maps[omaps[0]]
        orientation = OrientationLayer(kernels, first.threshold, first.mod)
        names = cfg.face_maps
        patch = next(iter(v for k, v in _patch_kernels(cfg).items()))
        face = FaceLayer(len(names), len(omaps), patch, cfg.maps[names[0]].mod)
        return cls(cfg, cfg.kernels[proj[("image", "ON")]], orientation, face, names, omaps)

    def orientation_spikes(self, img: np.ndarray, stop: int | None = None) -> tuple[Spikes, tuple[int, int]]:
        r = retina(img, self.on_centre)
        return self.orientation.run(r, stop), r.shape


def _patch_kernels(cfg: SpikeNetConfig) -> dict:
    """The face maps' patch size (rows, cols), from the learning projections' kernel (``superv21x25``: 25 x 21)."""
    text = (cfg.folder / "learn_net_projs").read_text().split()
    names = [Path(t).name for t in text if "superv" in t]
    if not names:
        raise DatasetError(f"{cfg.folder}: learn_net_projs names no supervised face kernel")
    from .spikenet import read_kernel

    k = read_kernel(cfg.folder / f"kernel_{names[0]}")
    return {names[0]: k.shape}


# ---- evaluation, possibly in worker processes ---------------------------------------------------

#: The network the worker processes present images to (set before they start: they inherit it).
_SHARED: dict = {}


def _trajectory(job: tuple) -> tuple[np.ndarray, np.ndarray]:
    """The face maps' trajectories of one image under one degradation: ``(n_maps, n_spikes)`` and arrival steps."""
    path, kind, level, seed = job
    img = read_grey(path)
    if kind == "contrast":
        img = lower_contrast(img, level)
    elif kind == "noise":
        img = add_noise(img, level, np.random.default_rng(seed))
    net = _SHARED["net"]
    spikes, shape = net.orientation_spikes(img)
    return net.faces.trajectories(spikes, shape), spikes.step + 1


def _trajectories(jobs: list, workers: int, progress=None) -> list:
    if workers <= 1:
        out = []
        for j in jobs:
            out.append(_trajectory(j))
            if progress is not None:
                progress(1)
        return out
    out = []
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for r in pool.map(_trajectory, jobs, chunksize=8):
            out.append(r)
            if progress is not None:
                progress(1)
    return out


def _score(trajectories: list, labels: list[int], thresholds: np.ndarray) -> tuple[int, int, list, list]:
    """Correct and silent counts, the winners, and each decision's step (-1: none)."""
    correct = silent = 0
    winners, steps = [], []
    for (traj, arrival), label in zip(trajectories, labels):
        w, first, _ = decide(traj, thresholds)
        winners.append(w)
        steps.append(int(arrival[first[w]]) if w >= 0 else -1)
        correct += w == label
        silent += w < 0
    return correct, silent, winners, steps


def _view(image: str) -> int:
    """The view number of an ORL file name (``s1-10.pgm``: 10)."""
    return int(Path(image).stem.split("-")[1])


def _fold(job: tuple) -> tuple[list, list, dict]:
    """Face maps learnt without one view: that view's trajectories, labels, and each ``K``'s largest input."""
    faces_dir, held_out = job
    cfg = _SHARED["config"]
    net = FaceNetwork.from_config(cfg)
    index = {name: i for i, name in enumerate(net.face_names)}
    held = []
    for li in cfg.learn:
        if _view(li.image) == held_out:
            held.append(li)
            continue
        spikes, shape = net.orientation_spikes(read_grey(Path(faces_dir) / li.image), cfg.time_stop)
        net.faces.learn(spikes, shape, index[li.person], li.y // 4, li.x // 4, cfg.time_stop)
    out = []
    for li in held:
        spikes, shape = net.orientation_spikes(read_grey(Path(faces_dir) / li.image))
        out.append((net.faces.trajectories(spikes, shape), spikes.step + 1))
    return out, [index[li.person] for li in held], {k: net.faces.max_activation(k) for k in THRESHOLD_GRID[0]}


def _cross_validate(cfg: SpikeNetConfig, faces_dir: Path, workers: int, progress=None) -> tuple[int, float, int]:
    """``(K, f)`` identifying most learnt views when each view is left out of learning in turn, and that count.

    Ties go to the earlier median decision. Views 1-2 are never read.
    """
    _SHARED["config"] = cfg
    jobs = [(str(faces_dir), v) for v in sorted({_view(li.image) for li in cfg.learn})]
    folds = []
    if workers <= 1:
        for j in jobs:
            folds.append(_fold(j))
            if progress is not None:
                progress(len(folds[-1][0]))
    else:
        with ProcessPoolExecutor(max_workers=min(workers, len(jobs))) as pool:
            for fold in pool.map(_fold, jobs):
                folds.append(fold)
                if progress is not None:
                    progress(len(fold[0]))
    best = None
    for k in THRESHOLD_GRID[0]:
        for f in THRESHOLD_GRID[1]:
            correct, steps = 0, []
            for trajectories, labels, tops in folds:
                c, _, _, s = _score(trajectories, labels, f * tops[k])
                correct += c
                steps += [x for x in s if x >= 0]
            key = (correct, -float(np.median(steps)) if steps else -1e9)
            if best is None or key > best[0]:
                best = (key, k, f)
    return best[1], best[2], best[0][0]


def _calibrate(net: FaceNetwork, trajectories: list, labels: list[int], k: int, f: float) -> dict:
    """Thresholds ``f`` times each map's largest input from ``K`` spikes, then balancing sweeps on the learnt views."""
    thresholds = f * net.faces.max_activation(k)
    start_correct = _score(trajectories, labels, thresholds)[0]
    kept, kept_correct = thresholds.copy(), start_correct
    for _ in range(SWEEPS):
        changed = 0
        for (traj, _), label in zip(trajectories, labels):
            w, _, _ = decide(traj, thresholds)
            if w != label:
                changed += 1
                if w >= 0:
                    thresholds[w] *= 1.02
                thresholds[label] *= 0.98
        correct, _, _, _ = _score(trajectories, labels, thresholds)
        if correct > kept_correct:
            kept, kept_correct = thresholds.copy(), correct
        if changed == 0:
            break
    net.faces.thresholds = kept
    return {"K": k, "f": f, "learnt_correct_chosen": start_correct, "learnt_correct_balanced": kept_correct}


def learn_faces(options: FacesOptions, say=lambda text: None, progress=None) -> tuple[Path, dict]:
    """Run the protocol (module docstring) into a new run folder; the folder and the manifest.

    ``say`` hears lines for people; ``progress(n)`` is called as images are done.
    """
    t_all = time.perf_counter()
    cfg = read_config(options.spikenet)
    faces_dir = Path(options.faces)
    people = sorted({li.person for li in cfg.learn}, key=lambda p: int(p.lstrip("s")))
    missing = [f"{p}-{v}.pgm" for p in people for v in range(1, 11) if not (faces_dir / f"{p}-{v}.pgm").is_file()]
    if missing:
        raise DatasetError(f"{faces_dir}: {len(missing)} of the ORL images are missing, e.g. {missing[0]}")
    folder = create_run_folder(options.output_dir, f"{datetime.now():%Y%m%d-%H%M%S}-learn-faces")
    manifest = {
        "command": "learn faces",
        "status": "running",
        "options": options.to_dict(),
        "versions": {"spiking": __version__, "python": platform.python_version(), "numpy": np.__version__},
        "source": "Delorme & Thorpe (2001), Neural Networks 14:795-804; SpikeNET's networkdemo40faces configuration",
    }
    write_manifest(folder, manifest)
    try:
        return _run(folder, manifest, cfg, faces_dir, people, options, say, progress, t_all)
    except KeyboardInterrupt:
        manifest.update(status="interrupted", note="stopped by the user; nothing after the last message was written")
        write_manifest(folder, manifest)
        raise


def _run(folder, manifest, cfg, faces_dir, people, options, say, progress, t_all) -> tuple[Path, dict]:
    timings = {}
    workers = options.workers or usable_cpus()
    t0 = time.perf_counter()
    k, f, held_out_correct = _cross_validate(cfg, faces_dir, workers, progress)
    timings["cross_validation"] = time.perf_counter() - t0
    say(
        f"validated  {timings['cross_validation']:7.1f} s   K = {k}, f = {f}: {held_out_correct} of {len(cfg.learn)} "
        "learnt views identified, each left out of learning in turn"
    )
    net = FaceNetwork.from_config(cfg)
    index = {name: i for i, name in enumerate(net.face_names)}

    t0 = time.perf_counter()
    for li in cfg.learn:
        spikes, shape = net.orientation_spikes(read_grey(faces_dir / li.image), cfg.time_stop)
        net.faces.learn(spikes, shape, index[li.person], li.y // 4, li.x // 4, cfg.time_stop)
        if progress is not None:
            progress(1)
    timings["learn"] = time.perf_counter() - t0
    say(f"learnt     {timings['learn']:7.1f} s   {len(cfg.learn)} images (views 3-10), {cfg.time_stop} steps each")

    _SHARED["net"] = net
    learnt_views = sorted({_view(li.image) for li in cfg.learn})
    sets = {"learnt": learnt_views, "unseen": list(UNSEEN_VIEWS)}
    jobs, keys = [], []
    conditions = [("contrast", c) for c in options.contrasts] + [("noise", n) for n in options.noises if n > 0]
    for kind, level in conditions:
        for which, views in sets.items():
            for p in people:
                for v in views:
                    seed = options.seed * 1_000_003 + int(p.lstrip("s")) * 100 + v
                    jobs.append((str(faces_dir / f"{p}-{v}.pgm"), kind, level, seed))
                    keys.append((kind, level, which, index[p]))
    t0 = time.perf_counter()
    trajectories = _trajectories(jobs, workers, progress)
    timings["present"] = time.perf_counter() - t0
    say(
        f"presented  {timings['present']:7.1f} s   {len(jobs)} images ({len(conditions)} conditions) on {workers} processes"
    )

    t0 = time.perf_counter()
    calib = [i for i, k in enumerate(keys) if k[:3] == ("contrast", 1.0, "learnt")]
    thresholds = _calibrate(net, [trajectories[i] for i in calib], [keys[i][3] for i in calib], k, f)
    thresholds["held_out_correct"] = held_out_correct
    timings["thresholds"] = time.perf_counter() - t0

    rows, decisions = [], {}
    for kind, level in conditions:
        for which in sets:
            idx = [i for i, k in enumerate(keys) if k[:3] == (kind, level, which)]
            labels = [keys[i][3] for i in idx]
            correct, silent, winners, steps = _score([trajectories[i] for i in idx], labels, net.faces.thresholds)
            decided = [s for s in steps if s >= 0]
            rows.append(
                [kind, level, which, len(idx), correct, silent, round(correct / len(idx), 4)]
                + [float(np.median(decided)) if decided else ""]
            )
            if (kind, level) == ("contrast", 1.0):
                decisions[which] = (np.array(steps), np.array(winners) == np.array(labels))
    result = {r[2] if r[0] == "contrast" and r[1] == 1.0 else f"{r[0]}-{r[1]}-{r[2]}": r[6] for r in rows}
    _write_outputs(folder, net, rows, decisions, faces_dir, options, people)
    timings["total"] = time.perf_counter() - t_all
    manifest.update(
        status="complete",
        thresholds=thresholds,
        results={
            "learnt_views_full_contrast": result["learnt"],
            "unseen_views_full_contrast": result["unseen"],
            "contrast_at_90_learnt": _falls_below(rows, "contrast", "learnt"),
            "contrast_at_90_unseen": _falls_below(rows, "contrast", "unseen"),
            "noise_at_90_learnt": _falls_below(rows, "noise", "learnt"),
            "noise_at_90_unseen": _falls_below(rows, "noise", "unseen"),
        },
        timings_s={k: round(v, 2) for k, v in timings.items()},
    )
    write_manifest(folder, manifest)
    return folder, manifest


def _falls_below(rows: list, kind: str, which: str, level: float = 0.9):
    """The last level (in the order tested, degrading) at which the accuracy is still at least ``level``."""
    series = [(r[1], r[6]) for r in rows if r[0] == kind and r[2] == which]
    if kind == "noise":
        series = [(0.0, next(r[6] for r in rows if r[:3] == ["contrast", 1.0, which]))] + series
    last = None
    for x, acc in series:
        if acc < level:
            break
        last = x
    return last


def _write_outputs(folder: Path, net: FaceNetwork, rows, decisions, faces_dir: Path, options, people) -> None:
    head = ["degradation", "level", "views", "images", "correct", "silent", "accuracy", "median_decision_step"]
    atomic_write_csv(folder / "results.csv", head, rows)
    np.savez_compressed(
        folder / "weights.npz",
        weights=net.faces.weights,
        thresholds=net.faces.thresholds,
        face_maps=np.array(net.face_names),
        orientation_maps=np.array(net.orientation_names),
    )
    _accuracy_figure(folder / "accuracy.png", rows)
    _weights_figure(folder / "weights.png", net)
    _decision_figure(folder / "decision.png", decisions)
    _examples_figure(folder / "examples.png", faces_dir / f"{people[0]}-1.pgm", options)
    atomic_write_text(
        folder / "README.txt",
        "spiking learn faces: Delorme & Thorpe (2001) with SpikeNET's 40-face configuration.\n"
        "results.csv  accuracy per degradation and level, learnt views (3-10) and unseen views (1-2)\n"
        "accuracy.png accuracy against contrast and noise; weights.png the learnt patches; decision.png the step\n"
        "             of the decisive spike; examples.png one face at every degradation; weights.npz the network\n",
    )


def _accuracy_figure(path: Path, rows) -> Path:
    fig = new_figure(figsize=(10, 4))
    ax = fig.subplots(1, 2)
    for k, kind in enumerate(("contrast", "noise")):
        for which, style in (("learnt", "o-"), ("unseen", "s--")):
            pts = [(r[1], r[6]) for r in rows if r[0] == kind and r[2] == which]
            if kind == "noise":
                pts = [(0.0, next(r[6] for r in rows if r[:3] == ["contrast", 1.0, which]))] + pts
            xs, ys = zip(*pts)
            ax[k].plot([100 * x for x in xs], [100 * y for y in ys], style, label=f"{which} views")
        ax[k].axhline(90, color="k", lw=0.6, ls=":")
        ax[k].set_ylim(0, 102)
        ax[k].set_ylabel("faces identified (%)")
        ax[k].legend(fontsize=8)
    ax[0].set_xscale("log")
    ax[0].invert_xaxis()
    ax[0].set_xlabel("contrast (% of the image's own)")
    ax[1].set_xlabel("noise (% uniform white noise)")
    fig.suptitle("40 faces, one spike per neuron: the first face map to fire names the person")
    fig.tight_layout()
    return save_figure(fig, path, dpi=90)


def _weights_figure(path: Path, net: FaceNetwork) -> Path:
    """Each face map's learnt patch, summed over the orientation maps, as an image."""
    order = sorted(range(len(net.face_names)), key=lambda i: int(net.face_names[i].lstrip("s") or 0))
    w = net.faces.weights.sum(axis=1)[order]
    names = [net.face_names[i] for i in order]
    n = w.shape[0]
    cols = 10
    fig = new_figure(figsize=(cols * 1.0, 1.3 * ((n + cols - 1) // cols)))
    axes = fig.subplots((n + cols - 1) // cols, cols, squeeze=False)
    for i, ax in enumerate(axes.ravel()):
        ax.set_axis_off()
        if i < n:
            ax.imshow(w[i], cmap="gray", interpolation="nearest")
            ax.set_title(names[i], fontsize=7)
    fig.suptitle("learnt weights of each face map (summed over the 8 orientation maps)", fontsize=9)
    fig.tight_layout()
    return save_figure(fig, path, dpi=90)


def _decision_figure(path: Path, decisions: dict) -> Path:
    fig = new_figure(figsize=(6, 3.5))
    ax = fig.subplots()
    for which, (steps, right) in decisions.items():
        ok = steps >= 0
        bins = np.arange(0, max(int(steps[ok].max(initial=1)) + 10, 20), 5)
        ax.hist(steps[ok & right], bins=bins, alpha=0.6, label=f"{which}: right")
        ax.hist(steps[ok & ~right], bins=bins, alpha=0.6, label=f"{which}: wrong")
    ax.set_xlabel("time step of the decisive spike (one retina spike per map per step)")
    ax.set_ylabel("images")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path, dpi=90)


def _examples_figure(path: Path, image: Path, options: FacesOptions) -> Path:
    img = read_grey(image)
    shown = [("contrast", c) for c in options.contrasts] + [("noise", n) for n in options.noises if n > 0]
    fig = new_figure(figsize=(1.1 * len(shown), 1.8))
    axes = fig.subplots(1, len(shown))
    for ax, (kind, level) in zip(np.atleast_1d(axes), shown):
        x = lower_contrast(img, level) if kind == "contrast" else add_noise(img, level, np.random.default_rng(0))
        ax.imshow(x, cmap="gray", vmin=0, vmax=255)
        ax.set_title(f"{kind[0]} {100 * level:g}%", fontsize=6)
        ax.set_axis_off()
    fig.tight_layout()
    return save_figure(fig, path, dpi=90)
