"""``spiking validate``: one config on two engines over several seeds, compared and written to a folder.

For each engine and seed the config runs as a normal run (spikes, synapse
counts, and a sample of the connections as built in ``connectivity.h5``);
then :mod:`.compare` decides whether the engines agree. Where nothing is left
to chance (the model draws the network, ``network.wiring = "model"``, and the
retina's spikes are pre-drawn trains, ``retina.source = "trains"``) they must
give the very same spikes, neuron for neuron and step for step, and the same
synapses; otherwise (each engine samples its own network, or simulates its
own Poisson generators) they agree when the statistics do: per-layer mean
rates (10% or 3 standard errors), synapses per projection (1%) and the
distances of realised connections (two-sample KS). Both comparisons are
written either way; the exit status says whether the one that applies holds.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import platform
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from .. import __version__
from ..config import Config, to_toml
from ..engines.registry import engine_names
from ..io.atomic import atomic_write_text, save_figure
from ..io.connectivity import read_connectivity
from ..io.runfolder import create_run_folder, read_manifest
from ..io.spikefile import load_spikes
from ..model.network import Model, build_model
from .compare import compare_counts, compare_distances, compare_rates, compare_spikes

__all__ = ["Validation", "validate_engines"]


@dataclass
class Validation:
    """What ``spiking validate`` found."""

    folder: Path
    engines: tuple[str, str]
    seeds: list[int]
    rates: list
    counts: list
    distances: list
    spikes: list = dataclasses.field(default_factory=list)
    exact: bool = False

    @property
    def identical(self) -> bool:
        """Every spike of every layer and seed the same, and the same synapses."""
        return all(s.identical for s in self.spikes) and all(c.count_a == c.count_b for c in self.counts)

    @property
    def agree(self) -> bool:
        """Spike for spike where the engines must be identical (``exact``); by the statistics otherwise."""
        if self.exact:
            return self.identical
        return all(x.agree for x in (*self.rates, *self.counts, *self.distances))


def _distances(folder: Path, model: Model) -> dict[str, np.ndarray]:
    """Source-target distances (model units) of the sampled connections of each projection in ``connectivity.h5``."""
    data = read_connectivity(folder / "connectivity.h5")
    out = {}
    for p in model.projections:
        d = data.get(f"{p.index:02d}.{p.name}")
        if d is None:
            continue
        sp, tp = model.layers[p.source].positions(), model.layers[p.target].positions()
        out[p.name] = np.linalg.norm(sp[d["sources"]] - tp[d["targets"]], axis=1)
    return out


def exact_expected(model: Model) -> bool:
    """Whether two engines must give the very same spikes: the network drawn by the model, the input pre-drawn."""
    return model.wiring == "model" and model.source == "trains" and model.connect


def _one_engine(config: Config, engine: str, seeds: list[int], out: Path, say) -> tuple[dict, dict, dict, dict]:
    """Run the config on one engine for every seed: rates, synapses, distances and run folders."""
    from ..run import run

    rates: dict[str, list[float]] = {}
    synapses: dict[str, int] = {}
    distances: dict[str, list] = {}
    folders = {}
    model = build_model(config, stimuli=False)
    for seed in seeds:
        cfg = dataclasses.replace(
            config,
            run=dataclasses.replace(
                config.run, engine=engine, seed=seed, output_dir=str(out / "runs"), name=f"{engine}-s{seed}"
            ),
            render=dataclasses.replace(config.render, plot_layers=True),
        )
        t0 = time.perf_counter()
        result = run(cfg, progress=False, quiet=True)
        m = result.manifest
        if result.status != "complete":
            raise RuntimeError(f"the {engine} run with seed {seed} ended {result.status}")
        for layer, s in m["spikes"].items():
            rates.setdefault(layer, []).append(s["mean_rate_hz"])
        for name, n in m["synapses"].items():
            synapses[name] = synapses.get(name, 0) + int(n)
        for name, d in _distances(result.folder, model).items():
            distances.setdefault(name, []).append(d)
        folders[seed] = result.folder
        say(
            f"{engine:7s} seed {seed:3d}: {time.perf_counter() - t0:6.1f} s  "
            + "  ".join(f"{k} {v['mean_rate_hz']:.2f} Hz" for k, v in m["spikes"].items())
        )
    dist = {k: np.concatenate(v) for k, v in distances.items()}
    return rates, synapses, dist, folders


def validate_engines(
    config: Config, seeds: int = 6, engines: tuple[str, str] | None = None, output_dir="output", say=print
) -> Validation:
    """Run ``config`` on both ``engines`` for seeds ``1 .. seeds`` and compare; write the folder.

    Returns
    -------
    Validation
        The comparisons and the folder; ``agree`` says whether everything agreed.
    """
    engines = tuple(engines or engine_names()[:2])
    out = create_run_folder(output_dir, f"{datetime.now():%Y%m%d-%H%M%S}-validate-{engines[0]}-{engines[1]}")
    atomic_write_text(out / "config.toml", to_toml(config))
    seed_list = list(range(1, seeds + 1))
    t0 = time.perf_counter()
    results = {e: _one_engine(config, e, seed_list, out, say) for e in engines}
    a, b = results[engines[0]], results[engines[1]]
    model = build_model(config, stimuli=False)
    v = Validation(
        folder=out,
        engines=tuple(engines),
        seeds=seed_list,
        rates=compare_rates(a[0], b[0]),
        counts=compare_counts(a[1], b[1]),
        distances=[compare_distances(name, a[2].get(name, np.zeros(0)), b[2].get(name, np.zeros(0))) for name in a[1]],
        spikes=_compare_spikes(a[3], b[3], seed_list, model.resolution),
        exact=exact_expected(model),
    )
    for c in v.spikes:
        if not c.identical:
            say(
                f"seed {c.seed} {c.layer}: {100 * c.coincident_fraction:.2f}% of the spikes coincide; first difference "
                f"at {c.first_time:g} ms, neuron {c.first_neuron}"
            )
    _write_tables(v, results)
    _plot(v)
    versions = {e: read_manifest(next(iter(results[e][3].values()))).get("engine", {}).get("version") for e in engines}
    manifest = {
        "command": "validate",
        "agree": v.agree,
        "compared": "spike for spike" if v.exact else "statistics over seeds",
        "identical_spikes": v.identical,
        "engines": list(engines),
        "engine_versions": versions,
        "seeds": seed_list,
        "versions": {"spiking": __version__, "python": platform.python_version()},
        "runs": {e: {str(s): str(f) for s, f in results[e][3].items()} for e in engines},
        "seconds": round(time.perf_counter() - t0, 1),
    }
    atomic_write_text(out / "manifest.json", json.dumps(manifest, indent=2) + "\n")
    return v


def _compare_spikes(folders_a: dict, folders_b: dict, seeds: list[int], resolution: float) -> list:
    """Every recorded layer of every seed, spike for spike (:func:`~spiking.validate.compare.compare_spikes`)."""
    out = []
    for seed in seeds:
        sa, sb = load_spikes(folders_a[seed] / "spikes.h5"), load_spikes(folders_b[seed] / "spikes.h5")
        for layer in sa:
            b = sb.get(layer)
            pair_b = (b.node_ids, b.times) if b is not None else (np.zeros(0, np.int64), np.zeros(0))
            out.append(compare_spikes(layer, seed, (sa[layer].node_ids, sa[layer].times), pair_b, resolution))
    return out


def _csv(rows: list[list]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


def _write_tables(v: Validation, results: dict) -> None:
    a, b = v.engines
    rows = [["engine", "seed", "layer", "mean_rate_hz"]]
    for e in v.engines:
        for layer, values in results[e][0].items():
            rows += [[e, s, layer, f"{r:.6g}"] for s, r in zip(v.seeds, values)]
    atomic_write_text(v.folder / "rates.csv", _csv(rows))
    rows = [
        ["layer", f"{a}_mean_hz", f"{a}_sd_hz", f"{b}_mean_hz", f"{b}_sd_hz", "difference_hz", "tolerance_hz", "agree"]
    ]
    rows += [
        [
            r.layer,
            f"{r.mean_a:.6g}",
            f"{r.sd_a:.6g}",
            f"{r.mean_b:.6g}",
            f"{r.sd_b:.6g}",
            f"{r.difference:.6g}",
            f"{r.tolerance:.6g}",
            r.agree,
        ]
        for r in v.rates
    ]
    atomic_write_text(v.folder / "rates_compared.csv", _csv(rows))
    rows = [["projection", f"{a}_synapses", f"{b}_synapses", "relative_difference", "agree"]]
    rows += [[c.projection, c.count_a, c.count_b, f"{c.relative_difference:.6g}", c.agree] for c in v.counts]
    atomic_write_text(v.folder / "synapses_compared.csv", _csv(rows))
    rows = [["projection", f"{a}_sampled", f"{b}_sampled", "ks_statistic", "p_value", "agree"]]
    rows += [[d.projection, d.n_a, d.n_b, f"{d.statistic:.6g}", f"{d.pvalue:.6g}", d.agree] for d in v.distances]
    atomic_write_text(v.folder / "distances_compared.csv", _csv(rows))
    rows = [
        ["seed", "layer", f"{a}_spikes", f"{b}_spikes", "coincident", "coincident_fraction", "identical"]
        + ["first_difference_ms", "first_difference_neuron"]
    ]
    rows += [
        [c.seed, c.layer, c.spikes_a, c.spikes_b, c.coincident, f"{c.coincident_fraction:.6g}", c.identical]
        + ["" if c.first_time is None else f"{c.first_time:g}", "" if c.first_neuron is None else c.first_neuron]
        for c in v.spikes
    ]
    atomic_write_text(v.folder / "spikes_compared.csv", _csv(rows))


def _plot(v: Validation) -> None:
    from matplotlib.figure import Figure

    a, b = v.engines
    fig = Figure(figsize=(18, 4.6))
    ax = fig.subplots(1, 4)
    x = np.arange(len(v.rates))
    ax[0].bar(x - 0.2, [r.mean_a for r in v.rates], 0.4, yerr=[r.sd_a for r in v.rates], label=a, capsize=3)
    ax[0].bar(x + 0.2, [r.mean_b for r in v.rates], 0.4, yerr=[r.sd_b for r in v.rates], label=b, capsize=3)
    ax[0].set_xticks(x, [r.layer for r in v.rates])
    ax[0].set_ylabel("mean rate over seeds (Hz), +/- sd")
    ax[0].set_title("rates: " + ", ".join(f"{r.layer} {'ok' if r.agree else 'DIFFER'}" for r in v.rates), fontsize=8)
    ax[0].legend()
    y = np.arange(len(v.counts))
    ax[1].barh(
        y,
        [100 * c.relative_difference for c in v.counts],
        color=["tab:green" if c.agree else "tab:red" for c in v.counts],
    )
    ax[1].axvline(-1, color="k", lw=0.7, ls="--")
    ax[1].axvline(1, color="k", lw=0.7, ls="--")
    ax[1].set_yticks(y, [c.projection for c in v.counts], fontsize=7)
    ax[1].set_xlabel(f"synapses: ({b} - {a}) / {a} (%)")
    if all(c.count_a == c.count_b for c in v.counts):
        ax[1].set_title("synapses: the same on both, projection by projection", fontsize=8)
    ax[2].barh(
        y[: len(v.distances)],
        [max(d.pvalue, 1e-12) for d in v.distances],
        color=["tab:green" if d.agree else "tab:red" for d in v.distances],
    )
    ax[2].set_xscale("log")
    ax[2].axvline(v.distances[0].alpha if v.distances else 1e-3, color="k", lw=0.7, ls="--")
    ax[2].set_yticks(y[: len(v.distances)], [d.projection for d in v.distances], fontsize=7)
    ax[2].set_xlabel("connection distances: KS p-value")
    order = [r.layer for r in v.rates]
    layers = sorted({c.layer for c in v.spikes}, key=lambda x: (order.index(x) if x in order else len(order), x))
    for k, seed in enumerate(v.seeds):
        row = {c.layer: c for c in v.spikes if c.seed == seed}
        frac = [100 * row[layer].coincident_fraction if layer in row else 0.0 for layer in layers]
        ax[3].plot(np.arange(len(layers)), frac, "o-", ms=4, label=f"seed {seed}" if k < 8 else None)
    ax[3].set_xticks(np.arange(len(layers)), layers)
    ax[3].set_ylim(-2, 102)
    ax[3].set_ylabel("spikes that coincide (same neuron, same step), %")
    same = "every spike identical" if v.identical else "spikes differ"
    ax[3].set_title(
        f"spike for spike: {same}" + (" (required)" if v.exact else " (not expected: chance differs)"), fontsize=8
    )
    ax[3].legend(fontsize=7)
    how = "spike for spike" if v.exact else "by the statistics"
    fig.suptitle(
        f"{a} against {b}, seeds {v.seeds[0]}-{v.seeds[-1]}, compared {how}: {'they agree' if v.agree else 'they DIFFER'}"
    )
    fig.tight_layout()
    save_figure(fig, v.folder / "validate.png", dpi=90)
