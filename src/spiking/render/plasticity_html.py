"""The report's "Plasticity" section: the plastic projections, their weights over time, receptive fields and selectivity."""

from __future__ import annotations

from ..analysis.selectivity import MIN_SPIKES
from .html import esc, img, num, table, url
from .plasticity import PLASTICITY_DIR
from .source import RunSource

__all__ = ["plasticity_html"]


def _rules(info: dict) -> str:
    rows = []
    for name, p in info["projections"].items():
        r = p.rule
        start, end = info.get("mean_weights", {}).get(name, (None, None))
        rows.append(
            [
                esc(name),
                esc(f"{p.source} → {p.target}"),
                num(int(p.sources.size)),
                esc(
                    f"{r.dependence}; τ+ {r.tau_plus:g} ms, τ- {r.tau_minus:g} ms; a+ {r.a_plus:g}, a- {r.a_minus:g}"
                    + (f"; learning from {r.start:g} ms" if r.start > 0 else "")
                ),
                num(r.w_max, "mV"),
                f"{num(start, 'mV')} → {num(end, 'mV')}" if start is not None else "",
                num(int(p.times.size)),
            ]
        )
    head = ["projection", "source → target", "synapses", "rule", "w_max", "mean weight, start → end", "times"]
    return table(head, rows, "num")


def _figure(src: RunSource, name: str, alt: str, caption: str) -> str:
    p = src.folder / PLASTICITY_DIR / name
    if not p.is_file():
        return ""
    return f"<figure>{img(src.folder, p, alt, 'plot')}<figcaption>{esc(caption)}</figcaption></figure>"


def _selectivity(src: RunSource, info: dict) -> str:
    changes = info.get("selectivity") or {}
    if not changes:
        return "<p>No recorded V1 layer is the target of a plastic LGN projection: no selectivity to show.</p>"
    window = info["window_ms"]
    out = (
        "<h3>Pattern selectivity</h3>"
        f"<p>Each neuron's rate under each pattern in the first and in the last {esc(f'{window:g}')} ms of the run "
        "(<code>render.selectivity_window</code>) gives its selectivity index "
        "(r<sub>max</sub> − r<sub>min</sub>) / (r<sub>max</sub> + r<sub>min</sub>): 0 when it fires alike under "
        f"every pattern, 1 when under one only. Neurons with at least {MIN_SPIKES} spikes in each window are compared, "
        "with a paired one-sided Wilcoxon signed-rank test (after &gt; before).</p>"
    )
    rows = [
        [
            esc(layer),
            num(ch.n),
            num(round(ch.mean_before, 4)),
            num(round(ch.mean_after, 4)),
            num(round(ch.ratio, 3)),
            esc(f"{ch.p_value:.3g}"),
        ]
        for layer, ch in changes.items()
    ]
    out += table(["layer", "neurons compared", "mean before", "mean after", "after / before", "p"], rows, "num")
    out += (
        f'<p><a href="{url(PLASTICITY_DIR + "/selectivity.csv")}">selectivity.csv</a> (every neuron), '
        f'<a href="{url(PLASTICITY_DIR + "/selectivity_summary.csv")}">selectivity_summary.csv</a></p>'
    )
    for layer in changes:
        out += _figure(
            src, f"selectivity-{layer}.png", f"selectivity of {layer}", f"{layer}: index after against before"
        )
    return out


def plasticity_html(src: RunSource, info: dict) -> str:
    """The section's HTML from what :func:`spiking.render.plasticity.write_plasticity` returned."""
    out = (
        "<p>Projections with spike-timing-dependent plasticity (NEST's <code>stdp_synapse</code>: all-to-all pairs "
        "through traces, the whole delay dendritic). Their weights were recorded at each stimulus change and at the "
        'end, in <a href="weights.h5">weights.h5</a>.</p>' + _rules(info)
    )
    for name in info["projections"]:
        out += f"<h3>{esc(name)}</h3>"
        out += _figure(
            src,
            f"weights-{name}.png",
            f"weights of {name} over time",
            "The distribution of the weights at each recorded time (colour: fraction of synapses), and their mean.",
        )
        if name in info.get("fields", {}):
            out += _figure(
                src,
                f"fields-{name}.png",
                f"receptive fields of {name}",
                "A seeded sample of the V1 neurons compared below (most selective after learning first): "
                "each pattern's retina rates over the neuron's LGN inputs, and its weights from them at the start "
                "and at the end of the run (pale blue outside its inputs).",
            )
    return out + _selectivity(src, info)
