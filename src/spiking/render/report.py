"""The run report: ``index.html`` in the run folder, self-contained and offline (relative links, inline CSS, no script)."""

from __future__ import annotations

import csv
import logging
from datetime import datetime
from pathlib import Path

from .. import __version__
from ..config import PROJECTION_TABLE, RECORDABLE_LAYERS, RETINA_SOURCE_TEXT, diff_from_defaults
from ..io.atomic import atomic_write_text
from .html import esc, img, kv, movie, num, section, table, url, value
from .plasticity_html import plasticity_html
from .rates import RATES_DIR
from .source import RunSource, pattern_labels
from .statistics import statistics_html

__all__ = ["REPORT_NAME", "MOVIES_DIR", "write_report", "status_banner", "engine_text", "retina_text"]

logger = logging.getLogger(__name__)

REPORT_NAME = "index.html"
#: Sub-folder of the run folder that holds the movies.
MOVIES_DIR = "movies"
_CONNECTIVITY_DIRS = ("connectivity", "layers")


def status_banner(src: RunSource) -> str:
    """The banner of a run that did not complete (empty for a complete run)."""
    m = src.manifest
    st = src.status
    reached = m.get("t_reached_ms")
    total = m.get("simulation_time_ms", src.config.run.simulation_time)
    part = (
        f"Model time reached: {num(reached, 'ms')} of {num(total, 'ms')}; the plots and movies show that part."
        if reached is not None
        else ""
    )
    if st == "complete":
        return ""
    if st == "interrupted":
        sig = m.get("signal")
        text = f"<strong>Interrupted</strong>{' by ' + esc(sig) if sig else ''}. {part}"
        if m.get("note"):
            text += f" {esc(m['note'])}"
        cls = "warn"
    elif st == "failed":
        text = f"<strong>Failed</strong>: {esc(m.get('error', 'no error recorded'))}. {part}"
        cls = "bad"
    elif st == "died":
        text = (
            f"<strong>Died</strong>: the manifest still says running, but process {esc(m.get('pid', '?'))} is gone "
            f"(killed, or the machine stopped). {part}"
        )
        cls = "bad"
    elif st == "running":
        text = (
            f"<strong>Running, or died without saying so</strong>: the manifest says running "
            f"(process {esc(m.get('pid', '?'))}). {part}"
        )
        cls = "warn"
    else:
        text = f"<strong>Status {esc(st)}</strong>: the run did not complete. {part}"
        cls = "bad"
    return f'<div class="banner {cls}" id="status-banner">{text}</div>'


def engine_text(src: RunSource) -> str:
    """Which engine ran the run, its version and threads/processes, as plain text."""
    e = src.manifest.get("engine") or {}
    name = e.get("engine", src.config.run.engine)
    text = f"{name} {e.get('version', '')}".strip()
    if e.get("threads") is not None:
        t, p = int(e["threads"]), int(e.get("processes", 1))
        text += f" ({t} thread{'s' * (t != 1)} x {p} process{'es' * (p != 1)})"
    return text


def retina_text(src: RunSource) -> str:
    """Which retina input the run used, and what that means, as plain text."""
    source = src.manifest.get("retina_source", src.config.retina.source)
    meaning = RETINA_SOURCE_TEXT.get(source)
    return f"{source}: {meaning}" if meaning else str(source)


def _summary(src: RunSource) -> str:
    m = src.manifest
    rows = [
        ("status", f'<span class="st-{esc(src.status)}">{esc(src.status)}</span>'),
        ("engine", esc(engine_text(src))),
        ("retina input", esc(retina_text(src))),
        ("run id", esc(m.get("run_id", src.folder.name))),
        ("started", esc(m.get("started", ""))),
        ("finished", esc(m.get("finished", ""))),
        (
            "command",
            f"<code>{esc(' '.join(map(str, m.get('command', []))) if isinstance(m.get('command'), list) else m.get('command', ''))}</code>",
        ),
        ("seed", num(m.get("seed"))),
        ("threads per process", num(m.get("threads"))),
        ("processes", num(m.get("processes"))),
        ("simulation time", num(m.get("simulation_time_ms"), "ms")),
        ("model time reached", num(m.get("t_reached_ms"), "ms")),
        ("resolution", num(m.get("resolution_ms"), "ms")),
        ("platform", esc(m.get("platform", ""))),
    ]
    for k, v in (m.get("versions") or {}).items():
        rows.append((f"version: {k}", esc(v)))
    sizes = m.get("sizes") or {}
    for k, v in sizes.items():
        rows.append((f"size: {k}", num(v)))
    return kv(rows)


def _timings(src: RunSource, render_timings: dict | None) -> str:
    m = src.manifest
    t = m.get("timings_s") or {}
    rows = [[esc(k), num(float(v) if isinstance(v, (int, float)) else v, "s")] for k, v in t.items()]
    for k, v in (render_timings or {}).items():
        rows.append([esc(f"render: {k}"), num(float(v), "s")])
    out = table(["phase", "wall time"], rows, "num")
    mem = m.get("memory_mb") or {}
    if mem:
        out += table(
            ["memory", "MB"],
            [[esc(k), num(float(v) if isinstance(v, (int, float)) else v)] for k, v in mem.items()],
            "num",
        )
    return out


def _network(src: RunSource) -> str:
    m = src.manifest
    neurons = m.get("neurons") or {}
    spikes = m.get("spikes") or {}
    rows = []
    for k, v in neurons.items():
        s = spikes.get(k) or {}
        rows.append([esc(k), num(v), num(s.get("count")) if s else "", num(s.get("mean_rate_hz"), "Hz") if s else ""])
    if neurons:
        rows.append(
            [
                "<strong>total</strong>",
                num(m.get("neurons_total", sum(v for v in neurons.values() if isinstance(v, int)))),
                "",
                "",
            ]
        )
    out = "<h3>Neurons per layer</h3>" + (
        table(["layer", "neurons", "spikes recorded", "mean rate"], rows, "num") if rows else "<p>none recorded</p>"
    )
    syn = m.get("synapses") or {}
    ends = {name: (a, b) for name, a, b, _ in PROJECTION_TABLE}
    rows = [[esc(k), esc(" → ".join(ends[k])) if k in ends else "", num(v)] for k, v in syn.items()]
    if syn:
        rows.append(
            [
                "<strong>total</strong>",
                "",
                num(m.get("synapses_total", sum(v for v in syn.values() if isinstance(v, int)))),
            ]
        )
    out += "<h3>Synapses per projection</h3>" + (
        table(["projection", "source → target", "synapses"], rows, "num") if rows else "<p>no projections built</p>"
    )
    return out


def _config(src: RunSource) -> str:
    cfg = src.run_config or src.config
    diff = diff_from_defaults(cfg)
    if diff:
        rows = [
            [f"<code>{esc(k)}</code>", f"<code>{esc(value(v))}</code>", f"<code>{esc(value(d))}</code>"]
            for k, v, d in diff
        ]
        out = "<p>Keys that differ from the defaults (the original model's):</p>" + table(
            ["key", "value", "default"], rows
        )
    else:
        out = "<p>All keys at their defaults.</p>"
    if src.overrides:
        out += (
            "<p>Rendered with: "
            + ", ".join(f"<code>render.{esc(k)} = {esc(value(v))}</code>" for k, v in src.overrides.items())
            + "</p>"
        )
    try:
        text = (src.folder / "config.toml").read_text(encoding="utf-8")
    except OSError:
        text = "(config.toml cannot be read)"
    out += f"<details><summary>Full config.toml</summary><pre>{esc(text)}</pre></details>"
    return out


def _schedule(src: RunSource) -> str:
    rows = [[num(e.start, "ms"), num(e.stop, "ms"), esc(e.pattern)] for e in src.schedule]
    body = table(["start", "stop", "pattern"], rows, "num")
    if len(rows) > 12:
        return f"<details><summary>{len(rows)} epochs</summary>{body}</details>"
    return body


def _retina(src: RunSource) -> str:
    d = src.folder / "retina"
    if not d.is_dir():
        return "<p>No retina snapshots in this folder.</p>"
    stems = sorted({p.name.split("ms-", 1)[0] + "ms" for p in d.glob("*ms-*.png")})
    latency = any(d.glob("*-latency-on.png"))
    kinds = ("stimulus", "on", "off") + (("latency-on", "latency-off") if latency else ())
    rows = []
    for stem in stems:
        try:
            start = float(stem.removesuffix("ms"))
            pattern = next((e.pattern for e in src.schedule if abs(e.start - start) < 1e-6), "")
        except ValueError:
            start, pattern = stem, ""
        cells = [num(start, "ms") if isinstance(start, float) else esc(start), esc(pattern)]
        for kind in kinds:
            p = d / f"{stem}-{kind}.png"
            cells.append(img(src.folder, p, f"{kind} at {stem}", "pix") if p.is_file() else "")
        rows.append(cells)
    if not rows:
        return "<p>No retina snapshots in this folder.</p>"
    r = src.config.retina
    head = ["from", "pattern", "stimulus", "retina ON", "retina OFF"]
    text = (
        f"<p>At each pattern change: the placed stimulus (black 0 to white 1) and the retina's ON and OFF rates "
        f"(black {esc(f'{r.min_rate:g}')} Hz to white {esc(f'{r.max_rate:g}')} Hz)"
    )
    if latency:
        head += ["latency ON", "latency OFF"]
        text += (
            f", and with latency coding each pixel's spike latency (white {esc(f'{r.latency_min:g}')} ms, black "
            f"{esc(f'{r.latency_max:g}')} ms and the pixels that do not fire)"
        )
    return text + ".</p>" + table(head, rows, "imgs")


def _first_spikes(src: RunSource, info: dict) -> str:
    """Latency coding: when each neuron first responds to each pattern, and how fast each layer responds."""
    r = src.config.retina
    head = ["layer", "from", "pattern", "neurons", "responded", "first (ms)", "10% (ms)", "median (ms)", "90% (ms)"]
    rows = [[esc(x[0]), num(float(x[1]), "ms"), esc(x[2]), *(esc(v) for v in x[3:])] for x in info["rows"]]
    return (
        f"<p>Latency coding: each retina pixel fires once per stimulus epoch, {esc(f'{r.latency_min:g}')} ms after "
        f"the epoch starts at the strongest response and {esc(f'{r.latency_max:g}')} ms at "
        f"{esc(f'{r.latency_threshold:g}')}, not at all below it (the latency maps are beside the retina's rates, "
        "below). For each recorded layer and the first epoch of each pattern: every neuron's first spike after the "
        "onset, and the share of the layer that has responded against time.</p>"
        + img(src.folder, info["figure"], "first spike of each neuron after each pattern's onset", "plot")
        + table(head, rows, "num")
    )


def _movies(src: RunSource, movie_info: dict | None) -> str:
    d = src.folder / MOVIES_DIR
    if not d.is_dir():
        return "<p>No movies were drawn (<code>render.movies = false</code>, or no model time).</p>"
    fmt = (movie_info or {}).get("format")
    found = []
    for ext in (fmt,) if fmt else ("mp4", "gif"):
        found = sorted(d.glob(f"*.{ext}"))
        if found:
            break
    if not found:
        return "<p>No movies were drawn (<code>render.movies = false</code>, or no model time).</p>"
    frame_ms = (movie_info or {}).get("frame_ms", src.config.render.frame_ms)
    fps = (movie_info or {}).get("fps", src.config.render.fps)
    frames = (movie_info or {}).get("frames")
    intro = (
        f"<p>One frame per {esc(f'{frame_ms:g}')} ms of model time, played at {esc(fps)} frames per second"
        + (f" ({esc(frames)} frames)" if frames else "")
        + f". Colour: viridis, the original's scale (a neuron firing at {esc(f'{src.config.retina.max_rate:g}')} Hz over a frame is full scale).</p>"
    )
    combined = [p for p in found if p.stem == "activity"]
    order = {name: i for i, name in enumerate(RECORDABLE_LAYERS)}
    layers = sorted((p for p in found if p.stem != "activity"), key=lambda p: (order.get(p.stem, len(order)), p.stem))
    out = intro
    for p in combined:
        out += (
            '<div class="combined">' + movie(src.folder, p, "stimulus, retina and recorded layers, in sync") + "</div>"
        )
    if layers:
        out += '<div class="grid">' + "".join(movie(src.folder, p, p.stem) for p in layers) + "</div>"
    return out


def _read_rate_rows(path: Path) -> list[dict]:
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            return list(csv.DictReader(fh))
    except FileNotFoundError:
        return []
    except (OSError, csv.Error) as err:
        logger.warning("%s cannot be read (%s): the report has no table of mean rates", path, err)
        return []


def _rates(src: RunSource, rates_info: dict | None) -> str:
    d = src.folder / RATES_DIR
    if not d.is_dir():
        return "<p>No rate plots in this folder.</p>"
    out = ""
    for name, alt in (
        ("population_rates.png", "population rate of each layer over time"),
        ("raster.png", "raster plot"),
    ):
        p = d / name
        if p.is_file():
            out += f"<figure>{img(src.folder, p, alt, 'plot')}</figure>"
    rows = _read_rate_rows(d / "rates_by_pattern.csv")
    if rows:
        layers = list(dict.fromkeys(r["layer"] for r in rows))
        patterns = list(dict.fromkeys(r["pattern"] for r in rows))
        cell = {(r["layer"], r["pattern"]): r for r in rows}
        body = []
        for layer in layers:
            line = [esc(layer)]
            for p in patterns:
                r = cell.get((layer, p))
                line.append(
                    num(float(r["mean_rate_hz"]), "Hz") + f"<br><small>{num(int(r['spikes']))} spikes</small>"
                    if r
                    else ""
                )
            body.append(line)
        times = ", ".join(
            f"{esc(p)}: {num(float(cell[(layers[0], p)]['time_ms']), 'ms')}" for p in patterns if (layers[0], p) in cell
        )
        out += (
            "<h3>Mean rate per layer and pattern</h3><p>Spikes per neuron per second over all epochs of each pattern "
            f'(time shown: {times}). <a href="{url(RATES_DIR + "/rates_by_pattern.csv")}">rates_by_pattern.csv</a></p>'
        )
        out += table(["layer"] + patterns, body, "num rates")
    maps = sorted(d.glob("ratemap-*.png"))
    if maps:
        labels = pattern_labels(src.patterns)
        layers = list(
            dict.fromkeys([i.name for i in (rates_info or {}).get("layers", [])] or [r["layer"] for r in rows])
        )
        grid_rows = []
        for layer in layers:
            cells = [esc(layer)]
            any_map = False
            for p in src.patterns:
                f = d / f"ratemap-{layer}-{labels[p]}.png"
                if f.is_file():
                    cells.append(img(src.folder, f, f"rate map of {layer} under {p}", "map"))
                    any_map = True
                else:
                    cells.append("")
            if any_map:
                grid_rows.append(cells)
        if grid_rows:
            out += "<h3>Rate maps</h3><p>Each neuron's mean rate under each pattern, on the layer's grid (one colour scale per layer).</p>"
            out += table(["layer"] + list(src.patterns), grid_rows, "imgs")
    return out or "<p>No rate plots in this folder.</p>"


def _connectivity(src: RunSource) -> str:
    out = ""
    for name in _CONNECTIVITY_DIRS:
        d = src.folder / name
        if not d.is_dir():
            continue
        pngs = sorted(d.rglob("*.png"))
        if pngs:
            out += (
                f'<h3>{esc(name)}/</h3><div class="grid">'
                + "".join(
                    f"<figure>{img(src.folder, p, p.stem, 'plot')}<figcaption>{esc(p.relative_to(d).as_posix())}</figcaption></figure>"
                    for p in pngs
                )
                + "</div>"
            )
    return out


def _files(src: RunSource) -> str:
    names = [
        "config.toml",
        "manifest.json",
        "schedule.csv",
        "spikes.h5",
        "weights.h5",
        f"{RATES_DIR}/rates_by_pattern.csv",
        f"{RATES_DIR}/population_rates.csv",
    ]
    items = []
    for n in names:
        p = src.folder / n
        if p.is_file():
            items.append(f'<li><a href="{url(n)}">{esc(n)}</a> <small>({num(p.stat().st_size)} bytes)</small></li>')
    return "<ul>" + "".join(items) + "</ul>"


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1280px;padding:0 1.2em 3em;color:#1d1d1f;background:#fff;line-height:1.4}
h1{font-size:1.5em;margin:.8em 0 .2em}h2{font-size:1.2em;border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.8em}h3{font-size:1em;margin:1.2em 0 .4em}
nav{font-size:.9em;margin:.4em 0 1em}nav a{margin-right:.9em}
table{border-collapse:collapse;margin:.4em 0 1em;font-size:.9em}th,td{border:1px solid #ddd;padding:.25em .55em;vertical-align:top;text-align:left}
thead th{background:#f4f4f6}table.kv th{background:#f9f9fb;font-weight:600;white-space:nowrap}table.num td{text-align:right}table.num td:first-child{text-align:left}
table.imgs td{text-align:center}code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.88em}
pre{background:#f6f8fa;padding:.8em;overflow:auto;max-height:40em}
img.pix{width:160px;height:auto;image-rendering:pixelated}img.map{width:300px;height:auto}img.plot{max-width:100%;height:auto}
.movie{max-width:100%;height:auto;image-rendering:pixelated}.combined .movie{width:808px}
.grid{display:flex;flex-wrap:wrap;gap:1em}.grid figure{margin:0}.grid .movie{width:300px}
figure{margin:.6em 0}figcaption{font-size:.85em;color:#555}
.banner{padding:.7em 1em;border-radius:6px;margin:1em 0;font-size:1em}.banner.warn{background:#fff4ce;border:1px solid #e0b400}.banner.bad{background:#fde7e9;border:1px solid #d13438}
.st-complete{color:#107c10;font-weight:600}.st-interrupted,.st-running{color:#8a6d00;font-weight:600}.st-failed,.st-died{color:#a4262c;font-weight:600}
details summary{cursor:pointer;margin:.4em 0}footer{margin-top:3em;font-size:.8em;color:#777}
"""


def write_report(
    src: RunSource,
    *,
    movie_info: dict | None = None,
    rates_info: dict | None = None,
    render_timings: dict | None = None,
    statistics: list | None = None,
    plasticity: dict | None = None,
    first_spikes: dict | None = None,
) -> Path:
    """Write ``index.html`` into the run folder.

    Everything in the folder is linked relatively: the page works offline,
    from ``file://`` or any static server; it has inline CSS and no script.
    All text from the config, manifest and schedule is HTML-escaped.

    Parameters
    ----------
    src : RunSource
    movie_info : dict, optional
        ``format``, ``frame_ms``, ``fps``, ``frames`` of the movies drawn (else
        whatever movies are in ``movies/``, described by the config).
    rates_info : dict, optional
        What :func:`spiking.render.rates.write_rates` returned.
    render_timings : dict, optional
        Wall time (s) of the render parts, shown with the run's timings.
    statistics : list, optional
        Rows of ``rates/spike_statistics.csv`` (read from the file when not given).
    plasticity : dict, optional
        What :func:`spiking.render.plasticity.write_plasticity` returned (a "Plasticity" section when not empty).
    first_spikes : dict, optional
        What :func:`spiking.render.latency.write_first_spikes` returned (a "First spikes" section when not empty).

    Returns
    -------
    Path
    """
    m = src.manifest
    run_id = m.get("run_id", src.folder.name)
    sections = [
        ("run", "Run", _summary(src) + "<h3>Stimulus schedule</h3>" + _schedule(src)),
        ("movies", "Movies", _movies(src, movie_info)),
        ("rates", "Rates", _rates(src, rates_info)),
        ("statistics", "Spike statistics", statistics_html(src, statistics)),
        *([("first-spikes", "First spikes", _first_spikes(src, first_spikes))] if first_spikes else []),
        *([("plasticity", "Plasticity", plasticity_html(src, plasticity))] if plasticity else []),
        ("retina", "Stimulus and retina", _retina(src)),
        ("network", "Network", _network(src)),
        ("timings", "Timings", _timings(src, render_timings)),
    ]
    conn = _connectivity(src)
    if conn:
        sections.append(("connectivity", "Connectivity", conn))
    sections += [("config", "Config", _config(src)), ("files", "Files", _files(src))]
    nav = "<nav>" + "".join(f'<a href="#{i}">{esc(t)}</a>' for i, t, _ in sections) + "</nav>"
    t_end = f"{src.t_end:g}"
    page = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<link rel="icon" href="data:,">\n'  # no favicon request
        f"<title>{esc(run_id)} · spiking run</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f"<header><h1>Run {esc(run_id)}</h1><p>Retina → LGN → V1, {esc(t_end)} ms of model time; "
        f'status <span class="st-{esc(src.status)}">{esc(src.status)}</span>.<br>'
        f'Engine <span id="engine">{esc(engine_text(src))}</span>; retina input '
        f'<span id="retina-source">{esc(retina_text(src))}</span>.</p></header>\n'
        + status_banner(src)
        + "\n"
        + nav
        + "\n"
        + "\n".join(section(i, t, b) for i, t, b in sections)
        + f"\n<footer>Drawn by spiking {esc(__version__)} on {esc(datetime.now().astimezone().isoformat(timespec='seconds'))} "
        "from spikes.h5, config.toml, schedule.csv and manifest.json.</footer>\n</body>\n</html>\n"
    )
    return atomic_write_text(src.folder / REPORT_NAME, page)
