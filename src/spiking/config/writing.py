"""Writing a config: TOML with units in comments, the difference from the defaults, and the reference page."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from .fields import _ALIASES_BACK
from .sections import PRESETS, PROJECTION_TABLE, Config, ProjectionConfig, STDPConfig, default_config
from .sources import ENV_KEYS
from .tree import to_mapping

__all__ = ["toml_value", "to_toml", "diff_from_defaults", "reference_markdown"]

# ---- writing -------------------------------------------------------------------


def toml_value(v) -> str:
    """A value as TOML text: booleans, integers, floats (``1.0``, not ``1``), strings, lists, lists of inline tables.

    Raises
    ------
    TypeError
        For any other type.
    """
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isfinite(v) and v == int(v) and abs(v) < 1e15:
            return f"{v:.1f}"
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(v, list):
        if v and all(isinstance(x, dict) for x in v):
            return (
                "[\n" + "".join("    { " + ", ".join(f"{k} = {toml_value(x[k])}" for k in x) + " },\n" for x in v) + "]"
            )
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    raise TypeError(type(v))


def _keys(obj):
    """``(TOML key, field, value)`` of each key of a config section, internal fields left out."""
    for f in dataclasses.fields(obj):
        if not f.metadata.get("internal"):
            yield _ALIASES_BACK.get(f.name, f.name), f, getattr(obj, f.name)


def _section_doc(obj) -> str:
    """First line of a config section's docstring: what the section is."""
    return (type(obj).__doc__ or "").strip().splitlines()[0]


def _comment(f) -> str:
    unit = f.metadata.get("unit", "")
    doc = f.metadata.get("doc", "")
    parts = [f"[{unit}]" if unit else "", doc]
    text = " ".join(p for p in parts if p)
    return f"  # {text}" if text else ""


def _emit(obj, header: str, lines: list[str]) -> None:
    scalars = []
    tables = []
    for name, f, value in _keys(obj):
        if dataclasses.is_dataclass(value):
            tables.append((name, value))
        elif isinstance(value, dict):
            tables.extend((f"{name}.{k}", v) for k, v in value.items())
        else:
            scalars.append((name, value, f))
    if header and scalars:
        lines.append(f"\n[{header}]  # {_section_doc(obj)}")
    for name, value, f in scalars:
        if name == "epochs":
            value = [to_mapping(e) for e in value]
        lines.append(f"{name} = {toml_value(value)}{_comment(f)}")
    for name, value in tables:
        _emit(value, f"{header}.{name}" if header else name, lines)


def to_toml(cfg: Config) -> str:
    """The config as TOML text, every key with its unit and meaning in a comment.

    ``from_mapping(tomllib.loads(to_toml(cfg)))`` gives back ``cfg``.
    """
    lines = ["# spiking configuration: every key with its unit in [brackets]."]
    _emit(cfg, "", lines)
    return "\n".join(lines).lstrip("\n") + "\n"


def diff_from_defaults(cfg: Config) -> list[tuple[str, Any, Any]]:
    """``(dotted key, value, default)`` for every key that differs from the defaults."""
    out = []

    def walk(a, b, prefix):
        if isinstance(a, dict) and isinstance(b, dict):
            for k in a:
                walk(a[k], b.get(k), f"{prefix}{k}.")
        elif a != b:
            out.append((prefix.rstrip("."), a, b))

    walk(to_mapping(cfg), to_mapping(default_config()), "")
    return out


def _flatten(d: dict, prefix: str = "") -> list[tuple[str, Any]]:
    """``(dotted key, value)`` of every leaf of nested tables."""
    out = []
    for k, v in d.items():
        if isinstance(v, dict):
            out.extend(_flatten(v, f"{prefix}{k}."))
        else:
            out.append((f"{prefix}{k}", v))
    return out


# ---- the reference page ---------------------------------------------------------------

_INTRO = [
    "# Config reference",
    "",
    "Generated from the code by `python -m spiking.config > docs/config.md`; a test keeps the two in step.",
    "Every key is optional: a config file holds only what differs from these defaults (the original model's).",
    "Set keys in a TOML file (`spiking run my.toml`) or on the command line (`--set section.key=value`, values in TOML syntax).",
    "",
]


def _section_tables(obj, header: str) -> list[str]:
    """Markdown of a section and the sections inside it, depth first: key, default, unit and meaning of each key."""
    rows = []
    for name, f, value in _keys(obj):
        if dataclasses.is_dataclass(value) or isinstance(value, dict):
            continue
        shown = toml_value(value if name != "epochs" else []).replace("|", "\\|").replace("\n", " ")
        rows.append(f"| `{name}` | `{shown}` | {f.metadata.get('unit', '')} | {f.metadata.get('doc', '')} |")
    lines = []
    if rows:
        head = [
            f"## `[{header}]`",
            "",
            _section_doc(obj),
            "",
            "| key | default | unit | meaning |",
            "|---|---|---|---|",
        ]
        lines.extend([*head, *rows, ""])
    for name, _, value in _keys(obj):
        if dataclasses.is_dataclass(value):
            lines.extend(_section_tables(value, f"{header}.{name}" if header else name))
    return lines


def _projection_tables(cfg: Config) -> list[str]:
    """Markdown of the keys of a projection and of the eighteen projections' defaults."""
    lines = [
        "## `[projections.<name>]`",
        "",
        "The eighteen projections, each a table with the keys below. Mask and kernel are centred on the",
        "target neuron (each target draws its sources); `one_to_one` joins the grid elements at the same place.",
        "",
        "| key | unit | meaning |",
        "|---|---|---|",
    ]
    lines += [
        f"| `{f.name}` | {f.metadata.get('unit', '')} | {f.metadata.get('doc', '')} |"
        for f in dataclasses.fields(ProjectionConfig)
        if f.name != "stdp"  # a table of its own, below
    ]
    lines += [
        "",
        "| # | name | source -> target | mask | radius | kernel | p_center | sigma | weight (mV) | delay (ms) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for i, (name, src, tgt, _) in enumerate(PROJECTION_TABLE, 1):
        p = cfg.projections[name]
        masked = p.mask != "one_to_one"
        radius = f"{p.radius:g}" if masked else "-"
        sigma = f"{p.sigma:g}" if p.kernel == "gaussian" and masked else "-"
        kernel = p.kernel if masked else "-"
        lines.append(
            f"| {i} | `{name}` | {src} -> {tgt} | {p.mask} | {radius} | {kernel} | {p.p_center:g} | {sigma} | {p.weight:g} | {p.delay:g} |"
        )
    lines += [
        "",
        "## `[projections.<name>.stdp]`",
        "",
        _section_doc(STDPConfig())
        + " Only projections into a V1 layer can be plastic; details in [plasticity.md](plasticity.md).",
        "",
        "| key | default | unit | meaning |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| `{name}` | `{toml_value(value)}` | {f.metadata.get('unit', '')} | {f.metadata.get('doc', '')} |"
        for name, f, value in _keys(STDPConfig())
    ]
    return lines


def _presets_list() -> list[str]:
    """Markdown of the presets: each one's keys and values."""
    lines = [
        "",
        "## Presets",
        "",
        "`--preset NAME` applies these over the defaults, before the config file and `--set`:",
        "",
    ]
    for name, preset in PRESETS.items():
        flat = [f"`{key} = {toml_value(v)}`" for key, v in _flatten(preset)]
        lines.append(f"- `{name}`: " + (", ".join(flat) if flat else "the defaults"))
    return lines


def _env_keys_table() -> list[str]:
    """Markdown of the original ``.env`` keys and the config key each maps to."""
    lines = [
        "",
        "## The original `.env` keys",
        "",
        "`spiking run --env FILE` reads them and prints where each went:",
        "",
    ]
    lines += ["| .env key | config key |", "|---|---|"]
    for k, v in ENV_KEYS.items():
        lines.append(f"| `{k}` | {'`' + '.'.join(v) + '`' if v else 'ignored (the report plays the movies)'} |")
    return lines


def reference_markdown() -> str:
    """The config reference (``docs/config.md``): every section and key with default, unit and meaning."""
    cfg = default_config()
    lines = [*_INTRO, *_section_tables(cfg, ""), *_projection_tables(cfg), *_presets_list(), *_env_keys_table()]
    return "\n".join(lines) + "\n"
