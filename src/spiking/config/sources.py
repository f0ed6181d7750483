"""Where settings come from: TOML files, ``--set`` overrides, presets and an original ``.env`` file."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .fields import _show
from .sections import PRESETS, Config, RunConfig
from .tree import from_mapping

# ---- sources of settings -------------------------------------------------------


def _deep_merge(base: dict, over: Mapping) -> dict:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def read_toml(path: str | os.PathLike) -> dict:
    """Read a TOML file, turning every failure into a one-line :class:`ConfigError`."""
    p = Path(path)
    try:
        text = p.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(str(p), "config file not found") from None
    except IsADirectoryError:
        raise ConfigError(str(p), "is a folder, not a config file") from None
    except UnicodeDecodeError:
        raise ConfigError(str(p), "is not UTF-8 text") from None
    except OSError as err:
        raise ConfigError(str(p), f"cannot be read: {err.strerror or err}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(str(p), f"is not valid TOML: {err}") from None
    except RecursionError:
        raise ConfigError(str(p), "is not valid TOML: nested too deeply") from None


def parse_override(text: str) -> tuple[list[str], Any]:
    """Parse one ``--set section.key=value``; the value is TOML (bare words are strings)."""
    if "=" not in text:
        raise ConfigError(text, "--set needs section.key=value")
    key, raw = text.split("=", 1)
    key = key.strip()
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+", key):
        raise ConfigError(key or text, "--set needs a dotted key such as network.hypercolumns=4")
    raw = raw.strip()
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return key.split("."), value


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    """Apply ``--set`` overrides to plain config data."""
    for text in overrides:
        path, value = parse_override(text)
        patch: Any = value
        for part in reversed(path):
            patch = {part: patch}
        data = _deep_merge(data, patch)
    return data


# The original .env names and where they went.
ENV_KEYS: dict[str, tuple[str, ...] | None] = {
    "LOCAL_NUM_THREADS": ("run", "threads"),
    "SIMULATION_TIME": ("run", "simulation_time"),
    "CHANGE_PATTERN_STEP": ("stimulus", "switch_every"),
    "HYPER_COLUMNS": ("network", "hypercolumns"),
    "HYPER_COLUMNS_EXPOSED": ("network", "exposed_hypercolumns"),
    "WIDTH_HEIGHT_HYPER_COLUMN": ("network", "minicolumn_side"),
    "TOTAL_NEURONS_PER_COMBINED_COLUMN_LAYER": ("network", "neurons_per_minicolumn"),
    "EXCITATORY_PROP": ("network", "excitatory_fraction"),
    "INHIBITORY_PROP": ("network", "inhibitory_fraction"),
    "MAX_SPIKING_RATE": ("retina", "max_rate"),
    "MIN_SPIKING_RATE": ("retina", "min_rate"),
    "LAMBDA": ("retina", "gabor", "lambda"),
    "THETA": ("retina", "gabor", "theta"),
    "GAMMA": ("retina", "gabor", "gamma"),
    "SIGMA": ("retina", "gabor", "sigma"),
    "PSI": ("retina", "gabor", "psi"),
    "KSIZE": ("retina", "gabor", "ksize"),
    "GROUP_FRAMES": ("render", "frame_ms"),
    "PLOT_LAYERS": ("render", "plot_layers"),
    "CONNECT": ("run", "connect"),
    "SIMULATE": ("run", "simulate"),
    "OPEN_IT": ("render", "open"),
    "PLAY_IT": None,
}


def _env_value(raw: str):
    raw = raw.strip().strip('"').strip("'")
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    try:
        return int(raw)
    except ValueError:
        pass
    try:
        return float(raw)
    except ValueError:
        return raw


def read_env_file(path: str | os.PathLike) -> tuple[dict, list[str]]:
    """Read an original ``.env`` file into config data.

    Returns
    -------
    data : dict
        Plain config data for :func:`from_mapping`.
    notes : list of str
        One line per key: where it was mapped, or why it was ignored.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(str(p), ".env file not found") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(str(p), f".env file cannot be read: {err}") from None
    data: dict = {}
    notes = []
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[7:]
        if "=" not in line:
            raise ConfigError(f"{p}:{lineno}", f"expected NAME=value, got {line[:40]!r}")
        name, raw = (s.strip() for s in line.split("=", 1))
        if "#" in raw and not raw.startswith(("'", '"')):
            raw = raw.split("#", 1)[0].strip()
        target = ENV_KEYS.get(name, ())
        if target is None:
            notes.append(f"{name} ignored (the report plays the movies in the page)")
            continue
        if target == ():
            notes.append(f"{name} ignored (not a setting of the original model)")
            continue
        value = _env_value(raw)
        if name == "GROUP_FRAMES" and value == 0:
            value = None  # one frame per time step: resolved to run.resolution below
        if (
            name
            in (
                "SIMULATION_TIME",
                "CHANGE_PATTERN_STEP",
                "MAX_SPIKING_RATE",
                "MIN_SPIKING_RATE",
                "LAMBDA",
                "THETA",
                "GAMMA",
                "SIGMA",
                "PSI",
                "EXCITATORY_PROP",
                "INHIBITORY_PROP",
            )
            and isinstance(value, int)
            and not isinstance(value, bool)
        ):
            value = float(value)
        node = data
        for part in target[:-1]:
            node = node.setdefault(part, {})
        node[target[-1]] = value
        notes.append(f"{name} -> {'.'.join(target)} = {_show(value) if value is not None else 'run.resolution'}")
    if data.get("render", {}).get("frame_ms", 1) is None:
        data["render"]["frame_ms"] = data.get("run", {}).get("resolution", RunConfig().resolution)
    return data, notes


def load_config(
    path: str | os.PathLike | None = None,
    overrides: list[str] | None = None,
    preset: str | None = None,
    env_file: str | os.PathLike | None = None,
) -> tuple[Config, list[str]]:
    """Resolve a config: defaults, then a preset, an ``.env`` file, a TOML file, ``--set``.

    Returns
    -------
    config : Config
    notes : list of str
        What was mapped from an ``.env`` file, if one was given.
    """
    data: dict = {}
    notes: list[str] = []
    base_dir: str | Path = Path.cwd()
    if preset is not None:
        if preset not in PRESETS:
            raise ConfigError("--preset", f"unknown preset {preset!r}; available: " + ", ".join(PRESETS))
        data = _deep_merge(data, PRESETS[preset])
    if env_file is not None:
        env_data, notes = read_env_file(env_file)
        data = _deep_merge(data, env_data)
        base_dir = Path(env_file).resolve().parent
    if path is not None:
        data = _deep_merge(data, read_toml(path))
        base_dir = Path(path).resolve().parent
    if overrides:
        data = apply_overrides(data, overrides)
    return from_mapping(data, base_dir=str(base_dir)), notes
