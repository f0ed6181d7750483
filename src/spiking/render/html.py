"""HTML pieces of the report: escaping, numbers with units, tables, images and movies with relative links."""

from __future__ import annotations

import html
import json
from pathlib import Path
from urllib.parse import quote

__all__ = ["esc", "url", "num", "value", "table", "kv", "rel", "img", "movie", "section"]


def esc(text) -> str:
    """HTML-escaped text (quotes too) of any value."""
    return html.escape(str(text), quote=True)


def url(path: str) -> str:
    """A relative URL of a file in the run folder, percent-encoded and escaped for an attribute."""
    return html.escape(quote(path, safe="/"), quote=True)


def num(v, unit: str = "") -> str:
    """A number with thousands separators and its unit, escaped; empty for None."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return esc(v)
    if isinstance(v, int):
        s = f"{v:,}"
    elif isinstance(v, float):
        s = f"{v:,.4g}" if abs(v) < 1e6 else f"{v:,.0f}"
    else:
        s = str(v)
    return esc(f"{s} {unit}".strip())


def value(v) -> str:
    """A config value as short text (TOML-like)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, (list, dict)):
        return json.dumps(v, ensure_ascii=False)
    return str(v)


def table(head: list[str], rows: list[list[str]], cls: str = "") -> str:
    """A table; ``head`` is plain text, ``rows`` cells are already HTML."""
    c = f' class="{cls}"' if cls else ""
    th = "".join(f"<th>{esc(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in r) + "</tr>" for r in rows)
    return f"<table{c}><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def kv(rows: list[tuple[str, str]]) -> str:
    """A two-column table of (plain label, HTML value)."""
    return (
        '<table class="kv"><tbody>'
        + "".join(f"<tr><th>{esc(k)}</th><td>{v}</td></tr>" for k, v in rows)
        + "</tbody></table>"
    )


def rel(folder: Path, p: Path) -> str:
    """``p`` relative to the run folder, with forward slashes."""
    return p.relative_to(folder).as_posix()


def img(folder: Path, p: Path, alt: str, cls: str = "") -> str:
    """An ``<img>`` of a file in the run folder."""
    c = f' class="{cls}"' if cls else ""
    return f'<img src="{url(rel(folder, p))}" alt="{esc(alt)}"{c}>'


def movie(folder: Path, p: Path, label: str) -> str:
    """A looping ``<video>`` (or a GIF ``<img>``) of a movie in the run folder, captioned."""
    href = url(rel(folder, p))
    if p.suffix == ".gif":
        return (
            f'<figure><img src="{href}" alt="{esc(label)}" class="movie"><figcaption>{esc(label)}</figcaption></figure>'
        )
    return (
        f'<figure><video src="{href}" controls loop muted autoplay playsinline preload="auto" class="movie">'
        f'<a href="{href}">{esc(p.name)}</a></video><figcaption>{esc(label)} (<a href="{href}">{esc(p.name)}</a>)</figcaption></figure>'
    )


def section(id_: str, title: str, body: str) -> str:
    """A ``<section>`` with its id and heading."""
    return f'<section id="{id_}"><h2>{esc(title)}</h2>{body}</section>'
