"""The run report: ``index.html`` in the run folder, self-contained and offline (relative links, inline CSS, no script)."""

from __future__ import annotations

import csv
import html
import json
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from .. import __version__
from ..config import PROJECTION_TABLE, RECORDABLE_LAYERS, diff_from_defaults
from ..io.atomic import atomic_write_text
from .rates import RATES_DIR
from .source import RunSource, pattern_labels

__all__ = ["REPORT_NAME", "MOVIES_DIR", "write_report", "status_banner"]

REPORT_NAME = "index.html"
#: Sub-folder of the run folder that holds the movies.
MOVIES_DIR = "movies"
_CONNECTIVITY_DIRS = ("connectivity", "layers")


def _e(value) -> str:
    """HTML-escaped text (quotes too) of any value."""
    return html.escape(str(value), quote=True)


def _url(rel: str) -> str:
    """A relative URL of a file in the run folder, percent-encoded and escaped for an attribute."""
    return html.escape(quote(rel, safe="/"), quote=True)


def _num(v, unit: str = "") -> str:
    """A number with thousands separators and its unit, escaped; empty for None."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return _e(v)
    if isinstance(v, int):
        s = f"{v:,}"
    elif isinstance(v, float):
        s = f"{v:,.4g}" if abs(v) < 1e6 else f"{v:,.0f}"
    else:
        s = str(v)
    return _e(f"{s} {unit}".strip())


def _value(v) -> str:
    """A config value as short text (TOML-like)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, (list, dict)):
        return json.dumps(v, ensure_ascii=False)
    return str(v)


def _table(head: list[str], rows: list[list[str]], cls: str = "") -> str:
    """A table; ``head`` is plain text, ``rows`` cells are already HTML."""
    c = f' class="{cls}"' if cls else ""
    th = "".join(f"<th>{_e(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in r) + "</tr>" for r in rows)
    return f"<table{c}><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _kv(rows: list[tuple[str, str]]) -> str:
    """A two-column table of (plain label, HTML value)."""
    return (
        '<table class="kv"><tbody>'
        + "".join(f"<tr><th>{_e(k)}</th><td>{v}</td></tr>" for k, v in rows)
        + "</tbody></table>"
    )


def status_banner(src: RunSource) -> str:
    """The banner of a run that did not complete (empty for a complete run)."""
    m = src.manifest
    st = src.status
    reached = m.get("t_reached_ms")
    total = m.get("simulation_time_ms", src.config.run.simulation_time)
    part = (
        f"Model time reached: {_num(reached, 'ms')} of {_num(total, 'ms')}; the plots and movies show that part."
        if reached is not None
        else ""
    )
    if st == "complete":
        return ""
    if st == "interrupted":
        sig = m.get("signal")
        text = f"<strong>Interrupted</strong>{' by ' + _e(sig) if sig else ''}. {part}"
        if m.get("note"):
            text += f" {_e(m['note'])}"
        cls = "warn"
    elif st == "failed":
        text = f"<strong>Failed</strong>: {_e(m.get('error', 'no error recorded'))}. {part}"
        cls = "bad"
    elif st == "died":
        text = (
            f"<strong>Died</strong>: the manifest still says running, but process {_e(m.get('pid', '?'))} is gone "
            f"(killed, or the machine stopped). {part}"
        )
        cls = "bad"
    elif st == "running":
        text = (
            f"<strong>Running, or died without saying so</strong>: the manifest says running "
            f"(process {_e(m.get('pid', '?'))}). {part}"
        )
        cls = "warn"
    else:
        text = f"<strong>Status {_e(st)}</strong>: the run did not complete. {part}"
        cls = "bad"
    return f'<div class="banner {cls}" id="status-banner">{text}</div>'


def _rel(folder: Path, p: Path) -> str:
    return p.relative_to(folder).as_posix()


def _img(folder: Path, p: Path, alt: str, cls: str = "") -> str:
    c = f' class="{cls}"' if cls else ""
    return f'<img src="{_url(_rel(folder, p))}" alt="{_e(alt)}"{c}>'


def _movie(folder: Path, p: Path, label: str) -> str:
    rel = _url(_rel(folder, p))
    if p.suffix == ".gif":
        return f'<figure><img src="{rel}" alt="{_e(label)}" class="movie"><figcaption>{_e(label)}</figcaption></figure>'
    return (
        f'<figure><video src="{rel}" controls loop muted autoplay playsinline preload="auto" class="movie">'
        f'<a href="{rel}">{_e(p.name)}</a></video><figcaption>{_e(label)} (<a href="{rel}">{_e(p.name)}</a>)</figcaption></figure>'
    )


def _section(id_: str, title: str, body: str) -> str:
    return f'<section id="{id_}"><h2>{_e(title)}</h2>{body}</section>'


def _summary(src: RunSource) -> str:
    m = src.manifest
    rows = [
        ("status", f'<span class="st-{_e(src.status)}">{_e(src.status)}</span>'),
        ("run id", _e(m.get("run_id", src.folder.name))),
        ("started", _e(m.get("started", ""))),
        ("finished", _e(m.get("finished", ""))),
        (
            "command",
            f"<code>{_e(' '.join(map(str, m.get('command', []))) if isinstance(m.get('command'), list) else m.get('command', ''))}</code>",
        ),
        ("seed", _num(m.get("seed"))),
        ("threads per process", _num(m.get("threads"))),
        ("processes", _num(m.get("processes"))),
        ("simulation time", _num(m.get("simulation_time_ms"), "ms")),
        ("model time reached", _num(m.get("t_reached_ms"), "ms")),
        ("resolution", _num(m.get("resolution_ms"), "ms")),
        ("platform", _e(m.get("platform", ""))),
    ]
    for k, v in (m.get("versions") or {}).items():
        rows.append((f"version: {k}", _e(v)))
    sizes = m.get("sizes") or {}
    for k, v in sizes.items():
        rows.append((f"size: {k}", _num(v)))
    return _kv(rows)


def _timings(src: RunSource, render_timings: dict | None) -> str:
    m = src.manifest
    t = m.get("timings_s") or {}
    rows = [[_e(k), _num(float(v) if isinstance(v, (int, float)) else v, "s")] for k, v in t.items()]
    for k, v in (render_timings or {}).items():
        rows.append([_e(f"render: {k}"), _num(float(v), "s")])
    out = _table(["phase", "wall time"], rows, "num")
    mem = m.get("memory_mb") or {}
    if mem:
        out += _table(
            ["memory", "MB"],
            [[_e(k), _num(float(v) if isinstance(v, (int, float)) else v)] for k, v in mem.items()],
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
        rows.append([_e(k), _num(v), _num(s.get("count")) if s else "", _num(s.get("mean_rate_hz"), "Hz") if s else ""])
    if neurons:
        rows.append(
            [
                "<strong>total</strong>",
                _num(m.get("neurons_total", sum(v for v in neurons.values() if isinstance(v, int)))),
                "",
                "",
            ]
        )
    out = "<h3>Neurons per layer</h3>" + (
        _table(["layer", "neurons", "spikes recorded", "mean rate"], rows, "num") if rows else "<p>none recorded</p>"
    )
    syn = m.get("synapses") or {}
    ends = {name: (a, b) for name, a, b, _ in PROJECTION_TABLE}
    rows = [[_e(k), _e(" → ".join(ends[k])) if k in ends else "", _num(v)] for k, v in syn.items()]
    if syn:
        rows.append(
            [
                "<strong>total</strong>",
                "",
                _num(m.get("synapses_total", sum(v for v in syn.values() if isinstance(v, int)))),
            ]
        )
    out += "<h3>Synapses per projection</h3>" + (
        _table(["projection", "source → target", "synapses"], rows, "num") if rows else "<p>no projections built</p>"
    )
    return out


def _config(src: RunSource) -> str:
    cfg = src.run_config or src.config
    diff = diff_from_defaults(cfg)
    if diff:
        rows = [
            [f"<code>{_e(k)}</code>", f"<code>{_e(_value(v))}</code>", f"<code>{_e(_value(d))}</code>"]
            for k, v, d in diff
        ]
        out = "<p>Keys that differ from the defaults (the original model's):</p>" + _table(
            ["key", "value", "default"], rows
        )
    else:
        out = "<p>All keys at their defaults.</p>"
    if src.overrides:
        out += (
            "<p>Rendered with: "
            + ", ".join(f"<code>render.{_e(k)} = {_e(_value(v))}</code>" for k, v in src.overrides.items())
            + "</p>"
        )
    try:
        text = (src.folder / "config.toml").read_text(encoding="utf-8")
    except OSError:
        text = "(config.toml cannot be read)"
    out += f"<details><summary>Full config.toml</summary><pre>{_e(text)}</pre></details>"
    return out


def _schedule(src: RunSource) -> str:
    rows = [[_num(e.start, "ms"), _num(e.stop, "ms"), _e(e.pattern)] for e in src.schedule]
    body = _table(["start", "stop", "pattern"], rows, "num")
    if len(rows) > 12:
        return f"<details><summary>{len(rows)} epochs</summary>{body}</details>"
    return body


def _retina(src: RunSource) -> str:
    d = src.folder / "retina"
    if not d.is_dir():
        return "<p>No retina snapshots in this folder.</p>"
    stems = sorted({p.name.rsplit("-", 1)[0] for p in d.glob("*.png") if "-" in p.name})
    rows = []
    for stem in stems:
        try:
            start = float(stem.removesuffix("ms"))
            pattern = next((e.pattern for e in src.schedule if abs(e.start - start) < 1e-6), "")
        except ValueError:
            start, pattern = stem, ""
        cells = [_num(start, "ms") if isinstance(start, float) else _e(start), _e(pattern)]
        for kind in ("stimulus", "on", "off"):
            p = d / f"{stem}-{kind}.png"
            cells.append(_img(src.folder, p, f"{kind} at {stem}", "pix") if p.is_file() else "")
        rows.append(cells)
    if not rows:
        return "<p>No retina snapshots in this folder.</p>"
    lo, hi = src.config.retina.min_rate, src.config.retina.max_rate
    return (
        f"<p>At each pattern change: the placed stimulus (black 0 to white 1) and the retina's ON and OFF rates "
        f"(black {_e(f'{lo:g}')} Hz to white {_e(f'{hi:g}')} Hz).</p>"
        + _table(["from", "pattern", "stimulus", "retina ON", "retina OFF"], rows, "imgs")
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
        f"<p>One frame per {_e(f'{frame_ms:g}')} ms of model time, played at {_e(fps)} frames per second"
        + (f" ({_e(frames)} frames)" if frames else "")
        + f". Colour: viridis, the original's scale (a neuron firing at {_e(f'{src.config.retina.max_rate:g}')} Hz over a frame is full scale).</p>"
    )
    combined = [p for p in found if p.stem == "activity"]
    order = {name: i for i, name in enumerate(RECORDABLE_LAYERS)}
    layers = sorted((p for p in found if p.stem != "activity"), key=lambda p: (order.get(p.stem, len(order)), p.stem))
    out = intro
    for p in combined:
        out += (
            '<div class="combined">' + _movie(src.folder, p, "stimulus, retina and recorded layers, in sync") + "</div>"
        )
    if layers:
        out += '<div class="grid">' + "".join(_movie(src.folder, p, p.stem) for p in layers) + "</div>"
    return out


def _read_rate_rows(path: Path) -> list[dict]:
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            return list(csv.DictReader(fh))
    except (OSError, csv.Error):
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
            out += f"<figure>{_img(src.folder, p, alt, 'plot')}</figure>"
    rows = _read_rate_rows(d / "rates_by_pattern.csv")
    if rows:
        layers = list(dict.fromkeys(r["layer"] for r in rows))
        patterns = list(dict.fromkeys(r["pattern"] for r in rows))
        cell = {(r["layer"], r["pattern"]): r for r in rows}
        body = []
        for layer in layers:
            line = [_e(layer)]
            for p in patterns:
                r = cell.get((layer, p))
                line.append(
                    _num(float(r["mean_rate_hz"]), "Hz") + f"<br><small>{_num(int(r['spikes']))} spikes</small>"
                    if r
                    else ""
                )
            body.append(line)
        times = ", ".join(
            f"{_e(p)}: {_num(float(cell[(layers[0], p)]['time_ms']), 'ms')}" for p in patterns if (layers[0], p) in cell
        )
        out += (
            "<h3>Mean rate per layer and pattern</h3><p>Spikes per neuron per second over all epochs of each pattern "
            f'(time shown: {times}). <a href="{_url(RATES_DIR + "/rates_by_pattern.csv")}">rates_by_pattern.csv</a></p>'
        )
        out += _table(["layer"] + patterns, body, "num rates")
    maps = sorted(d.glob("ratemap-*.png"))
    if maps:
        labels = pattern_labels(src.patterns)
        layers = list(
            dict.fromkeys([i.name for i in (rates_info or {}).get("layers", [])] or [r["layer"] for r in rows])
        )
        grid_rows = []
        for layer in layers:
            cells = [_e(layer)]
            any_map = False
            for p in src.patterns:
                f = d / f"ratemap-{layer}-{labels[p]}.png"
                if f.is_file():
                    cells.append(_img(src.folder, f, f"rate map of {layer} under {p}", "map"))
                    any_map = True
                else:
                    cells.append("")
            if any_map:
                grid_rows.append(cells)
        if grid_rows:
            out += "<h3>Rate maps</h3><p>Each neuron's mean rate under each pattern, on the layer's grid (one colour scale per layer).</p>"
            out += _table(["layer"] + list(src.patterns), grid_rows, "imgs")
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
                f'<h3>{_e(name)}/</h3><div class="grid">'
                + "".join(
                    f"<figure>{_img(src.folder, p, p.stem, 'plot')}<figcaption>{_e(p.relative_to(d).as_posix())}</figcaption></figure>"
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
        f"{RATES_DIR}/rates_by_pattern.csv",
        f"{RATES_DIR}/population_rates.csv",
    ]
    items = []
    for n in names:
        p = src.folder / n
        if p.is_file():
            items.append(f'<li><a href="{_url(n)}">{_e(n)}</a> <small>({_num(p.stat().st_size)} bytes)</small></li>')
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
        ("retina", "Stimulus and retina", _retina(src)),
        ("network", "Network", _network(src)),
        ("timings", "Timings", _timings(src, render_timings)),
    ]
    conn = _connectivity(src)
    if conn:
        sections.append(("connectivity", "Connectivity", conn))
    sections += [("config", "Config", _config(src)), ("files", "Files", _files(src))]
    nav = "<nav>" + "".join(f'<a href="#{i}">{_e(t)}</a>' for i, t, _ in sections) + "</nav>"
    t_end = f"{src.t_end:g}"
    page = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<link rel="icon" href="data:,">\n'  # no favicon request
        f"<title>{_e(run_id)} · spiking run</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f"<header><h1>Run {_e(run_id)}</h1><p>Retina → LGN → V1, {_e(t_end)} ms of model time; "
        f'status <span class="st-{_e(src.status)}">{_e(src.status)}</span>.</p></header>\n'
        + status_banner(src)
        + "\n"
        + nav
        + "\n"
        + "\n".join(_section(i, t, b) for i, t, b in sections)
        + f"\n<footer>Drawn by spiking {_e(__version__)} on {_e(datetime.now().astimezone().isoformat(timespec='seconds'))} "
        "from spikes.h5, config.toml, schedule.csv and manifest.json.</footer>\n</body>\n</html>\n"
    )
    return atomic_write_text(src.folder / REPORT_NAME, page)
