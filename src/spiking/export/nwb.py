"""A run as one NWB file: the units table, the stimulus epochs, the stimulus and retina images, the config.

Neurodata Without Borders (https://nwb.org) is the archive format of
neurophysiology (DANDI takes it); ``pynwb`` reads it back and
``nwbinspector`` checks it. What goes where:

- ``units``: one row per recorded neuron (silent ones too), its spike times
  in seconds, with columns ``layer``, ``node_id`` (index in the layer, as in
  ``spikes.h5``), ``x``, ``y`` (model units), ``row``, ``col`` (grid);
- ``intervals/epochs``: one row per stimulus epoch, column ``pattern``, the
  pattern also as the epoch's tag;
- ``stimulus_templates/patterns``: each pattern as placed on the retina
  (grey levels 0-1); ``stimulus/stimulus``: an ``IndexSeries`` saying which
  pattern was shown from when on;
- ``processing/misc/retina_rates``: the ON and OFF Poisson rates of each
  pattern, Hz;
- ``notes``: ``config.toml``; ``data_collection``: ``manifest.json``;
  ``subject``: the simulated network (see :func:`model_subject`).
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from datetime import datetime
from pathlib import Path

import numpy as np

from .. import __version__
from ..config import RETINA_SOURCE_TEXT
from ..errors import RunFolderError, describe

__all__ = ["export_nwb", "nwb_path", "model_subject", "require_complete"]

logger = logging.getLogger(__name__)

_DESCRIPTION = (
    "A simulation of the early visual pathway with spiking neurons: a picture drives ON- and OFF-centre "
    "retina layers (Gabor receptive fields, Poisson rates), relayed by an LGN layer to excitatory and "
    "inhibitory Izhikevich layers of V1 wired by distance."
)


def _import_pynwb():
    try:
        import pynwb
    except ImportError as err:  # pragma: no cover - a dependency of the package
        raise ImportError(f"the NWB export needs pynwb: pip install pynwb ({err})") from err
    return pynwb


def nwb_path(run, out_dir=None) -> Path:
    """Where the NWB file of a run goes: ``<out_dir or the run folder>/<run-id>.nwb``."""
    return Path(out_dir if out_dir is not None else run.folder) / f"{run.run_id}.nwb"


def require_complete(run) -> None:
    """Raise a one-line :class:`RunFolderError` unless the run completed."""
    if run.status != "complete":
        raise RunFolderError(
            f"{run.folder}: the run did not complete (status {run.status}); only a complete run exports"
        )


def model_subject(run):
    """The NWB ``Subject`` of a simulation: the network itself.

    NWB's best practices (and ``nwbinspector``) ask every file for a subject
    with an age and a sex. A simulated network has neither, so the subject
    says what it is, its age is ``P0D`` (built when the run started) and its
    sex ``O`` (other); no species is given.
    """
    from pynwb.file import Subject

    sizes = run.manifest.get("sizes") or {}
    return Subject(
        subject_id=f"spiking-model-{run.run_id}",
        description=(
            "Not an animal: the network simulated by spiking "
            f"({sizes.get('total_neurons', '?')} V1 neurons, seed {run.manifest.get('seed', '?')}). "
            "Age P0D: the network was built when the run started; sex O (other): not applicable."
        ),
        age="P0D",
        sex="O",
    )


def _started(run) -> datetime:
    try:
        t = datetime.fromisoformat(str(run.manifest.get("started", "")))
    except ValueError:
        t = datetime.fromtimestamp((run.folder / "manifest.json").stat().st_mtime)
    return t if t.tzinfo else t.astimezone()


def _units(run):
    """The units table, built column by column (one ``add_unit`` per neuron would cost seconds)."""
    from hdmf.common import ElementIdentifiers, VectorData, VectorIndex
    from pynwb.misc import Units

    times, ends, layer, node, x, y, row, col = [], [], [], [], [], [], [], []
    total = 0
    for name in run.spikes:
        s = run.spikes[name]
        order = np.argsort(s.node_ids, kind="stable")  # by node; times stay sorted within a node
        times.append(s.times[order] / 1000.0)
        counts = np.bincount(s.node_ids, minlength=s.n_nodes)[: s.n_nodes]
        ends.append(total + np.cumsum(counts))
        total += int(counts.sum())
        layer += [name] * s.n_nodes
        node.append(np.arange(s.n_nodes, dtype=np.int64))
        grid = s.side > 0
        x.append(s.positions[:, 0] if grid else np.full(s.n_nodes, np.nan))
        y.append(s.positions[:, 1] if grid else np.full(s.n_nodes, np.nan))
        row.append(s.row.astype(np.int32) if grid else np.full(s.n_nodes, -1, np.int32))
        col.append(s.col.astype(np.int32) if grid else np.full(s.n_nodes, -1, np.int32))
    cat = np.concatenate
    spike_times = VectorData(
        name="spike_times", description="the spike times of each unit, in seconds", data=cat(times) if times else []
    )
    columns = [
        spike_times,
        VectorIndex(name="spike_times_index", data=cat(ends) if ends else [], target=spike_times),
        VectorData(name="layer", description="the layer of the neuron (ex_on, in_off, lgn_on, ...)", data=layer),
        VectorData(
            name="node_id",
            description="index of the neuron in its layer, as in spikes.h5",
            data=cat(node) if node else [],
        ),
        VectorData(
            name="x",
            description="x position of the neuron, model units (layers span [-extent/2, extent/2])",
            data=cat(x) if x else [],
        ),
        VectorData(name="y", description="y position of the neuron, model units", data=cat(y) if y else []),
        VectorData(name="row", description="grid row of the neuron, 0 at the top", data=cat(row) if row else []),
        VectorData(name="col", description="grid column of the neuron", data=cat(col) if col else []),
    ]
    n = len(layer)
    return Units(
        name="units",
        id=ElementIdentifiers(name="id", data=np.arange(n, dtype=np.int64)),
        columns=columns,
        description="every recorded neuron of the simulation, silent ones included",
        resolution=float(run.config.run.resolution) / 1000.0,
    )


def _stimuli(run) -> dict:
    """``pattern -> (image [0, 1], rates_on Hz, rates_off Hz)`` as ``[row, col]`` arrays; exact from the model, else the snapshots."""
    try:
        from ..model.network import build_model

        model = build_model(run.config)
        return {p: (s.image, s.rates_on, s.rates_off) for p, s in model.stimuli.items()}
    except Exception as err:  # noqa: BLE001 - an image that moved: the run's own snapshots
        logger.warning(
            "NWB: the config's stimuli cannot be rebuilt (%s): the patterns and retina rates come from "
            "the run's 8-bit snapshots",
            describe(err),
            exc_info=logger.isEnabledFor(logging.DEBUG),
        )
        from ..io.snapshots import read_retina_snapshot

        lo, hi = run.config.retina.min_rate, run.config.retina.max_rate
        out = {}
        for p in run.patterns:
            start = next(e.start for e in run.schedule if e.pattern == p)
            snap = read_retina_snapshot(run.folder, start, lo, hi, (run.manifest.get("sizes") or {}).get("retina_side"))
            if snap is not None:
                out[p] = snap
        missing = [p for p in run.patterns if p not in out]
        if missing:
            logger.warning(
                "NWB: no retina snapshot of %s either: left out of the stimulus templates, the stimulus "
                "series and the retina rates (their epochs stay)",
                ", ".join(repr(p) for p in missing),
            )
        return out


def _add_stimulus(nwb, run, labels: dict) -> None:
    """Stimulus templates, the IndexSeries of what was shown when, the retina rates and the epochs."""
    from pynwb.base import ImageReferences, Images
    from pynwb.image import GrayscaleImage, IndexSeries

    stimuli = _stimuli(run)
    shown = [p for p in run.patterns if p in stimuli]
    templates = [
        GrayscaleImage(
            name=labels[p],
            data=np.asarray(stimuli[p][0], dtype=float),
            description=f"pattern {p!r} as placed on the retina grid, grey 0 (black) to 1 (white), [row, col], row 0 at the top",
        )
        for p in shown
    ]
    epochs = run.epochs()
    if templates:
        patterns = Images(
            name="patterns",
            images=templates,
            description="the stimulus patterns as the retina saw them",
            order_of_images=ImageReferences(name="order_of_images", data=templates),
        )
        nwb.add_stimulus_template(patterns)
        index = np.array([shown.index(e.pattern) for e in epochs if e.pattern in shown], dtype=np.uint32)
        starts = np.array([e.start for e in epochs if e.pattern in shown], dtype=float) / 1000.0
        timing = {"timestamps": starts}
        if starts.size > 2 and np.allclose(np.diff(starts), starts[1] - starts[0]):
            timing = {"starting_time": float(starts[0]), "rate": 1.0 / float(starts[1] - starts[0])}
        nwb.add_stimulus(
            IndexSeries(
                name="stimulus",
                data=index,
                indexed_images=patterns,
                unit="N/A",
                description="index into stimulus_templates/patterns of the pattern shown from each time on",
                **timing,
            )
        )
        rates = []
        for p in shown:
            for kind, arr in (("on", stimuli[p][1]), ("off", stimuli[p][2])):
                rates.append(
                    GrayscaleImage(
                        name=f"{labels[p]}_{kind}",
                        data=np.asarray(arr, dtype=float),
                        description=f"retina {kind.upper()} Poisson rates under {p!r}, Hz, [row, col]",
                    )
                )
        module = nwb.create_processing_module(name="misc", description="the retina's encoding of each pattern")
        module.add(Images(name="retina_rates", images=rates, description="retina ON and OFF rates per pattern, Hz"))
    nwb.add_epoch_column(name="pattern", description="the pattern shown to the retina")
    for e in epochs:
        nwb.add_epoch(
            start_time=e.start / 1000.0,
            stop_time=e.stop / 1000.0,
            tags=[labels.get(e.pattern, "pattern")],
            pattern=e.pattern,
        )


def build_nwbfile(run):
    """The ``pynwb.NWBFile`` of a run (in memory; :func:`export_nwb` writes it)."""
    pynwb = _import_pynwb()
    from ..render.source import pattern_labels

    m = run.manifest
    started = _started(run)
    engine = m.get("engine") or {}
    nwb = pynwb.NWBFile(
        session_description=(
            f"spiking run {run.run_id}: {run.t_stop:g} ms of model time on {run.engine} {engine.get('version', '')}; "
            f"retina input: {RETINA_SOURCE_TEXT.get(run.retina_source, run.retina_source)}"
        ),
        identifier=str(uuid.uuid5(uuid.NAMESPACE_URL, f"spiking:{run.run_id}:{m.get('started', '')}")),
        session_start_time=started,
        session_id=run.run_id,
        experiment_description=_DESCRIPTION,
        keywords=["simulation", "spiking neural network", "visual pathway", "Izhikevich", run.engine],
        notes="config.toml of the run:\n" + (run.folder / "config.toml").read_text(encoding="utf-8"),
        data_collection="manifest.json of the run:\n" + json.dumps(m, indent=1),
        source_script=f"spiking {__version__}",
        source_script_file_name="spiking",
        subject=model_subject(run),
    )
    nwb.units = _units(run)
    _add_stimulus(nwb, run, pattern_labels(run.patterns))
    return nwb


def export_nwb(run, path=None) -> Path:
    """Write a complete run as an NWB file, atomically (a temporary name, renamed when complete).

    Parameters
    ----------
    run : spiking.api.Run
    path : path-like, optional
        Default: :func:`nwb_path` (``<run folder>/<run-id>.nwb``).

    Returns
    -------
    Path

    Raises
    ------
    RunFolderError
        The run did not complete, or the file cannot be written (one line).
    """
    require_complete(run)
    pynwb = _import_pynwb()
    path = Path(path) if path is not None else nwb_path(run)
    nwb = build_nwbfile(run)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.nwb")
    try:
        with pynwb.NWBHDF5IO(str(tmp), "w") as io:
            io.write(nwb)
        os.replace(tmp, path)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise RunFolderError(f"{path}: cannot be written ({err.strerror or str(err).splitlines()[0]})") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
