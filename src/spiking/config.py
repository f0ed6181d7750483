"""The configuration: one typed tree, its defaults, reading, validation and writing.

Everything a run depends on is here, read once from TOML (or an original
``.env`` file) into frozen dataclasses and validated in one place. Defaults are
the original model's. Nothing else in the package reads files or the
environment for settings.

Key names are dotted paths: ``network.hypercolumns``, ``retina.gabor.lambda``,
``projections.ex_on_to_ex_on.weight``. ``spiking config --defaults`` prints
every key with its unit.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from .errors import ConfigError

__all__ = [
    "Config",
    "RunConfig",
    "NetworkConfig",
    "NeuronConfig",
    "NeuronsConfig",
    "GaborConfig",
    "RetinaConfig",
    "Epoch",
    "StimulusConfig",
    "RecordingConfig",
    "RenderConfig",
    "ProjectionConfig",
    "PROJECTION_NAMES",
    "RECORDABLE_LAYERS",
    "PRESETS",
    "default_config",
    "load_config",
    "from_mapping",
    "to_mapping",
    "to_toml",
    "apply_overrides",
    "parse_override",
    "read_env_file",
    "diff_from_defaults",
]


def _f(default, unit: str = "", doc: str = "", check=None, **kw):
    """A config field with its unit, one-line doc and validity check."""
    meta = {"unit": unit, "doc": doc, "check": check}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda d=default: _copy(d), metadata=meta, **kw)
    return field(default=default, metadata=meta, **kw)


def _copy(value):
    if isinstance(value, list):
        return [_copy(v) for v in value]
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    return value


# ---- checks: each returns None when fine or the rule that was broken -----------


def _positive(v):
    return None if v > 0 else "must be > 0"


def _non_negative(v):
    return None if v >= 0 else "must be >= 0"


def _fraction(v):
    return None if 0 <= v <= 1 else "must be in [0, 1]"


def _probability(v):
    return None if 0 <= v <= 1 else "must be a probability in [0, 1]"


def _square(v):
    if v < 1:
        return "must be a square number >= 1 (1, 4, 9, 16, ...)"
    r = math.isqrt(v)
    return None if r * r == v else "must be a square number (1, 4, 9, 16, ...)"


def _at_least(n):
    return lambda v: None if v >= n else f"must be >= {n}"


def _between(lo, hi):
    return lambda v: None if lo <= v <= hi else f"must be in [{lo}, {hi}]"


def _one_of(*allowed):
    return lambda v: None if v in allowed else "must be one of " + ", ".join(repr(a) for a in allowed)


# ---- the tree -------------------------------------------------------------------


@dataclass(frozen=True)
class RunConfig:
    """How a run is executed and where it goes."""

    name: str = _f("", "", "optional label appended to the run id (letters, digits, '-', '_')")
    seed: int = _f(12345, "", "seed of NEST's random numbers (same seed and threads: same spikes)", _between(1, 2**32 - 1))
    threads: int = _f(0, "", "NEST threads per process; 0 = all cores of the machine", _between(0, 4096))
    simulation_time: float = _f(1000.0, "ms", "model time to simulate", _positive)
    resolution: float = _f(0.1, "ms", "NEST's integration time step", _positive)
    chunk: float = _f(50.0, "ms", "model time between progress updates and spike flushes to disk", _positive)
    output_dir: str = _f("output", "", "folder that holds the run folders (relative to the working directory)")
    connect: bool = _f(True, "", "build the projections (false: isolated layers)")
    simulate: bool = _f(True, "", "run the simulation (false: build only)")


@dataclass(frozen=True)
class NetworkConfig:
    """Sizes of the network."""

    hypercolumns: int = _f(9, "", "number of hypercolumns (a square number: 1, 4, 9, ...)", _square)
    exposed_hypercolumns: int = _f(1, "", "hypercolumns the pattern covers, centred", _at_least(1))
    minicolumn_side: int = _f(10, "minicolumns", "side of one hypercolumn", _at_least(1))
    neurons_per_minicolumn: int = _f(30, "neurons", "excitatory plus inhibitory neurons per minicolumn", _at_least(1))
    excitatory_fraction: float = _f(0.8, "", "share of neurons that are excitatory", _fraction)
    inhibitory_fraction: float = _f(0.2, "", "share of neurons that are inhibitory", _fraction)
    allow_autapses: bool = _f(True, "", "recurrent projections may connect a neuron to itself (NEST 2's default)")


@dataclass(frozen=True)
class NeuronConfig:
    """Izhikevich neuron parameters: dv/dt = 0.04 v^2 + 5 v + 140 - u + I, du/dt = a (b v - u)."""

    a: float = _f(0.02, "1/ms", "time scale of the recovery variable u")
    b: float = _f(0.2, "", "sensitivity of u to v")
    c: float = _f(-65.0, "mV", "reset value of v after a spike")
    d: float = _f(8.0, "mV", "increment of u after a spike")
    V_th: float = _f(30.0, "mV", "spike cut-off")
    V_m: float = _f(-65.0, "mV", "initial membrane potential")
    U_m: float = _f(-13.0, "mV", "initial recovery variable")
    I_e: float = _f(0.0, "pA", "constant input current")
    consistent_integration: bool = _f(True, "", "standard forward Euler (true) or the 2003 paper's numerics (false)")


def _fs_defaults() -> NeuronConfig:
    return NeuronConfig(a=0.1, b=0.2, c=-65.0, d=2.0)


@dataclass(frozen=True)
class NeuronsConfig:
    """The two V1 neuron classes: regular spiking excitatory, fast spiking inhibitory."""

    excitatory: NeuronConfig = field(default_factory=NeuronConfig)
    inhibitory: NeuronConfig = field(default_factory=_fs_defaults)


@dataclass(frozen=True)
class GaborConfig:
    """Gabor receptive field, OpenCV ``getGaborKernel`` convention."""

    ksize: int = _f(10, "pixels", "kernel size; the grid is 2*(ksize//2)+1 square", _at_least(1))
    sigma: float = _f(5.0, "pixels", "standard deviation of the Gaussian envelope", _positive)
    theta: float = _f(0.0, "rad", "orientation of the normal to the stripes")
    lambda_: float = _f(3.0, "pixels", "wavelength of the sinusoid", _positive)
    gamma: float = _f(2.0, "", "spatial aspect ratio", _positive)
    psi: float = _f(0.0, "rad", "phase offset")


@dataclass(frozen=True)
class RetinaConfig:
    """Retina encoding: filtered image mapped linearly to Poisson rates."""

    min_rate: float = _f(5.0, "Hz", "rate of a retina cell at filter response 0", _non_negative)
    max_rate: float = _f(100.0, "Hz", "rate of a retina cell at filter response 1", _non_negative)
    gabor: GaborConfig = field(default_factory=GaborConfig)


@dataclass(frozen=True)
class Epoch:
    """One stimulus epoch: a pattern shown for a duration."""

    pattern: str = _f("pattern0", "", "pattern name or image path")
    duration: float = _f(250.0, "ms", "how long it is shown", _positive)


@dataclass(frozen=True)
class StimulusConfig:
    """What is shown to the retina and when."""

    patterns: list = _f(["pattern0", "pattern1"], "", "patterns to alternate: built-in names (pattern0, pattern1) or PNG/JPEG/.txt paths")
    switch_every: float = _f(250.0, "ms", "alternate the patterns every this many ms", _positive)
    epochs: list = _f([], "", "explicit schedule [{pattern=..., duration=...}, ...]; overrides patterns/switch_every when given")


RECORDABLE_LAYERS = ("lgn_on", "lgn_off", "ex_on", "ex_off", "in_on", "in_off")


def _layers_check(v):
    if any(not isinstance(x, str) for x in v):
        return "must be a list of layer names"
    bad = [x for x in v if x not in RECORDABLE_LAYERS]
    if bad:
        return f"unknown layer {bad[0]!r}; allowed: " + ", ".join(RECORDABLE_LAYERS)
    if len(set(v)) != len(v):
        return "lists a layer twice"
    return None


@dataclass(frozen=True)
class RecordingConfig:
    """Which layers' spikes are recorded."""

    layers: list = _f(["ex_on", "ex_off", "in_on", "in_off"], "", "recorded layers, any of " + ", ".join(RECORDABLE_LAYERS), _layers_check)


@dataclass(frozen=True)
class RenderConfig:
    """Pictures and movies drawn from a run."""

    frame_ms: float = _f(1.0, "ms", "movie frame length (spikes are binned per frame)", _positive)
    fps: int = _f(25, "frames/s", "movie playback speed", _at_least(1))
    movie_format: str = _f("mp4", "", "movie container: mp4 or gif", _one_of("mp4", "gif"))
    movies: bool = _f(True, "", "draw the activity movies")
    plot_layers: bool = _f(False, "", "draw a connectivity plot per projection (slow for big networks)")
    open: bool = _f(False, "", "open the report in a browser when done")


@dataclass(frozen=True)
class ProjectionConfig:
    """One projection: mask and kernel centred on the target, weight and delay.

    The connection probability at distance ``r`` inside the mask is
    ``p_center`` (``kernel = "constant"``) or ``p_center * exp(-r^2 / (2 sigma^2))``
    (``kernel = "gaussian"``). The delay is ``delay + delay_per_unit * r``.
    """

    mask: str = _f("circle", "", "one_to_one (same grid element) or circle", _one_of("one_to_one", "circle"))
    radius: float = _f(1.0, "units", "radius of the circular mask", _positive)
    kernel: str = _f("gaussian", "", "constant or gaussian", _one_of("constant", "gaussian"))
    p_center: float = _f(1.0, "", "connection probability at distance 0", _probability)
    sigma: float = _f(0.15, "units", "standard deviation of the gaussian kernel", _positive)
    weight: float = _f(1.0, "mV", "jump of the target's membrane potential per spike")
    delay: float = _f(1.0, "ms", "delay at distance 0", _positive)
    delay_per_unit: float = _f(0.0, "ms/unit", "added delay per unit of distance (0: constant delay)", _non_negative)


# (name, source, target, defaults) of the eighteen projections, numbered 1..18 in this order.
def _recurrent(weight):
    return dict(mask="circle", radius=1.0, kernel="gaussian", p_center=1.0, sigma=0.15, weight=weight)


_RELAY = dict(mask="one_to_one", kernel="constant", p_center=1.0, weight=1.0)
_FEED = dict(mask="circle", radius=0.1, kernel="constant", p_center=1.0, weight=1.0)

PROJECTION_TABLE: tuple[tuple[str, str, str, dict], ...] = (
    ("retina_on_to_lgn_on", "retina_on", "lgn_on", _RELAY),
    ("retina_off_to_lgn_off", "retina_off", "lgn_off", _RELAY),
    ("lgn_on_to_ex_on", "lgn_on", "ex_on", _FEED),
    ("lgn_on_to_in_on", "lgn_on", "in_on", _FEED),
    ("lgn_off_to_ex_off", "lgn_off", "ex_off", _FEED),
    ("lgn_off_to_in_off", "lgn_off", "in_off", _FEED),
    ("ex_on_to_ex_on", "ex_on", "ex_on", _recurrent(1.0)),
    ("ex_on_to_in_on", "ex_on", "in_on", _recurrent(1.0)),
    ("in_on_to_ex_on", "in_on", "ex_on", _recurrent(-2.0)),
    ("in_on_to_in_on", "in_on", "in_on", _recurrent(-0.5)),
    ("ex_off_to_ex_off", "ex_off", "ex_off", _recurrent(1.0)),
    ("ex_off_to_in_off", "ex_off", "in_off", _recurrent(1.0)),
    ("in_off_to_ex_off", "in_off", "ex_off", _recurrent(-2.0)),
    ("in_off_to_in_off", "in_off", "in_off", _recurrent(-0.5)),
    ("in_on_to_ex_off", "in_on", "ex_off", _recurrent(-2.0)),
    ("in_on_to_in_off", "in_on", "in_off", _recurrent(-0.5)),
    ("in_off_to_ex_on", "in_off", "ex_on", _recurrent(-2.0)),
    ("in_off_to_in_on", "in_off", "in_on", _recurrent(-0.5)),
)
PROJECTION_NAMES = tuple(p[0] for p in PROJECTION_TABLE)


def _default_projections() -> dict:
    return {name: ProjectionConfig(**defaults) for name, _, _, defaults in PROJECTION_TABLE}


@dataclass(frozen=True)
class Config:
    """The whole configuration of a run."""

    run: RunConfig = field(default_factory=RunConfig)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    neurons: NeuronsConfig = field(default_factory=NeuronsConfig)
    retina: RetinaConfig = field(default_factory=RetinaConfig)
    stimulus: StimulusConfig = field(default_factory=StimulusConfig)
    recording: RecordingConfig = field(default_factory=RecordingConfig)
    render: RenderConfig = field(default_factory=RenderConfig)
    projections: dict = field(default_factory=_default_projections)
    #: folder that relative image paths are resolved against (not a TOML key)
    base_dir: str = field(default="", compare=False, metadata={"internal": True})

    def resolve_path(self, path: str) -> Path:
        """Resolve a path from the config relative to the config file's folder."""
        p = Path(path).expanduser()
        if not p.is_absolute() and self.base_dir:
            p = Path(self.base_dir) / p
        return p


#: Named partial configs, applied over the defaults before the file and ``--set``.
PRESETS: dict[str, dict] = {
    "small": {
        "network": {"hypercolumns": 1},
        "run": {"simulation_time": 400.0},
        "stimulus": {"switch_every": 100.0},
    },
    "default": {},
}

# TOML key <-> dataclass field name where Python forbids the TOML name.
_ALIASES = {"lambda": "lambda_"}
_ALIASES_BACK = {v: k for k, v in _ALIASES.items()}


def default_config() -> Config:
    """The original model's defaults."""
    return Config()


# ---- mapping <-> tree ----------------------------------------------------------


def to_mapping(cfg) -> dict:
    """The config as plain TOML-ready data (dicts, lists, scalars)."""
    if isinstance(cfg, dict):
        return {k: to_mapping(v) for k, v in cfg.items()}
    if isinstance(cfg, list):
        return [to_mapping(v) for v in cfg]
    if dataclasses.is_dataclass(cfg):
        out = {}
        for f in dataclasses.fields(cfg):
            if f.metadata.get("internal"):
                continue
            out[_ALIASES_BACK.get(f.name, f.name)] = to_mapping(getattr(cfg, f.name))
        return out
    return cfg


def _type_name(t) -> str:
    return {bool: "a boolean (true/false)", int: "an integer", float: "a number", str: "a string", list: "a list"}.get(t, str(t))


def _coerce(key: str, value: Any, default: Any):
    """Check ``value`` has the type of ``default``; ints are accepted for floats."""
    t = type(default)
    if t is bool:
        ok = isinstance(value, bool)
    elif t is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif t is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if ok:
            value = float(value)
            if not math.isfinite(value):
                raise ConfigError(key, f"must be a finite number, got {value}")
    elif t is str:
        ok = isinstance(value, str)
        if ok and "\x00" in value:
            raise ConfigError(key, "must not contain a NUL character")
    elif t is list:
        ok = isinstance(value, list)
    else:  # pragma: no cover - schema error
        raise TypeError(t)
    if not ok:
        raise ConfigError(key, f"must be {_type_name(t)}, got {_show(value)}")
    return value


def _show(value) -> str:
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    text = repr(value) if isinstance(value, str) else str(value).lower() if isinstance(value, bool) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _build(cls, data: Mapping, prefix: str):
    """Build dataclass ``cls`` from ``data`` over its defaults, validating every key."""
    if not isinstance(data, Mapping):
        raise ConfigError(prefix.rstrip("."), f"must be a table, got {_show(data)}")
    default = cls()
    fields = {_ALIASES_BACK.get(f.name, f.name): f for f in dataclasses.fields(cls) if not f.metadata.get("internal")}
    unknown = [k for k in data if k not in fields]
    if unknown:
        raise ConfigError(prefix + str(unknown[0]), "unknown key; valid keys here: " + ", ".join(fields))
    kwargs = {}
    for name, f in fields.items():
        key = prefix + name
        dv = getattr(default, f.name)
        if name not in data:
            kwargs[f.name] = dv
            continue
        value = data[name]
        if dataclasses.is_dataclass(dv):
            kwargs[f.name] = _build(type(dv), value, key + ".")
            continue
        value = _coerce(key, value, dv)
        check = f.metadata.get("check")
        if check is not None:
            problem = check(value)
            if problem:
                raise ConfigError(key, f"{problem}, got {_show(value)}")
        kwargs[f.name] = value
    return cls(**kwargs)


def _build_epochs(value, key: str) -> list:
    out = []
    for i, item in enumerate(value):
        out.append(_build(Epoch, item, f"{key}[{i}]."))
    return out


def from_mapping(data: Mapping, base_dir: str | os.PathLike = "") -> Config:
    """Validate plain data (as read from TOML) over the defaults into a :class:`Config`.

    Raises
    ------
    ConfigError
        On an unknown key, a wrong type, an out-of-range value or an inconsistent
        combination; the message names the key and what is allowed.
    """
    if not isinstance(data, Mapping):
        raise ConfigError("config", "must be a table of sections")
    data = dict(data)
    projections = data.pop("projections", {})
    stimulus = data.get("stimulus")
    epochs = []
    if isinstance(stimulus, Mapping) and "epochs" in stimulus:
        stimulus = dict(stimulus)
        ev = stimulus.pop("epochs")
        if not isinstance(ev, list):
            raise ConfigError("stimulus.epochs", f"must be a list of {{pattern=..., duration=...}} tables, got {_show(ev)}")
        epochs = _build_epochs(ev, "stimulus.epochs")
        data["stimulus"] = stimulus
    cfg = _build(Config, data, "")
    # projections: a table of the eighteen fixed names
    if not isinstance(projections, Mapping):
        raise ConfigError("projections", f"must be a table, got {_show(projections)}")
    projs = _default_projections()
    for name, value in projections.items():
        if name not in projs:
            raise ConfigError(f"projections.{name}", "unknown projection; valid: " + ", ".join(PROJECTION_NAMES))
        base = to_mapping(projs[name])
        if not isinstance(value, Mapping):
            raise ConfigError(f"projections.{name}", f"must be a table, got {_show(value)}")
        merged = {**base, **value}
        projs[name] = _build(ProjectionConfig, merged, f"projections.{name}.")
    for k, v in enumerate(cfg.stimulus.patterns):
        if not isinstance(v, str) or not v or "\x00" in v:
            raise ConfigError(f"stimulus.patterns[{k}]", f"must be a pattern name or an image path, got {_show(v)}")
    for k, v in enumerate(cfg.recording.layers):
        if not isinstance(v, str):
            raise ConfigError(f"recording.layers[{k}]", f"must be a layer name, got {_show(v)}")
    cfg = dataclasses.replace(
        cfg,
        stimulus=dataclasses.replace(cfg.stimulus, epochs=epochs),
        projections=projs,
        base_dir=str(base_dir),
    )
    validate(cfg)
    return cfg


def validate(cfg: Config) -> None:
    """Cross-field rules that no single key can check."""
    net = cfg.network
    if net.exposed_hypercolumns > net.hypercolumns:
        raise ConfigError(
            "network.exposed_hypercolumns",
            f"must be <= network.hypercolumns ({net.hypercolumns}), got {net.exposed_hypercolumns}",
        )
    if abs(net.excitatory_fraction + net.inhibitory_fraction - 1.0) > 1e-9:
        raise ConfigError(
            "network.inhibitory_fraction",
            f"excitatory_fraction + inhibitory_fraction must be 1, got "
            f"{net.excitatory_fraction} + {net.inhibitory_fraction}",
        )
    if net.excitatory_fraction == 0 or net.inhibitory_fraction == 0:
        raise ConfigError("network.excitatory_fraction", "both V1 populations need neurons: fractions must be > 0")
    if cfg.retina.max_rate < cfg.retina.min_rate:
        raise ConfigError(
            "retina.max_rate", f"must be >= retina.min_rate ({cfg.retina.min_rate}), got {cfg.retina.max_rate}"
        )
    if not cfg.stimulus.epochs and not cfg.stimulus.patterns:
        raise ConfigError("stimulus.patterns", "needs at least one pattern (or give stimulus.epochs)")
    res = cfg.run.resolution
    for name, p in cfg.projections.items():
        if p.delay < res:
            raise ConfigError(f"projections.{name}.delay", f"must be >= run.resolution ({res} ms), got {p.delay}")
    if not re.fullmatch(r"[A-Za-z0-9_-]{0,64}", cfg.run.name):
        raise ConfigError("run.name", f"may hold only letters, digits, '-' and '_' (at most 64), got {_show(cfg.run.name)}")
    if cfg.run.chunk < res:
        raise ConfigError("run.chunk", f"must be >= run.resolution ({res} ms), got {cfg.run.chunk}")
    if cfg.render.frame_ms < res:
        raise ConfigError("render.frame_ms", f"must be >= run.resolution ({res} ms), got {cfg.render.frame_ms}")
    if res < 0.001:
        raise ConfigError("run.resolution", f"must be >= 0.001 ms, got {res}")
    times = [("run.simulation_time", cfg.run.simulation_time), ("stimulus.switch_every", cfg.stimulus.switch_every)]
    times += [(f"stimulus.epochs[{i}].duration", e.duration) for i, e in enumerate(cfg.stimulus.epochs)]
    for key, t in times:
        if not _multiple(t, res):
            raise ConfigError(key, f"must be a multiple of run.resolution ({res} ms), got {t}")


def _multiple(t: float, step: float) -> bool:
    n = round(t / step)
    return n >= 1 and abs(n * step - t) <= 1e-9 * max(1.0, t)


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
        if name in ("SIMULATION_TIME", "CHANGE_PATTERN_STEP", "MAX_SPIKING_RATE", "MIN_SPIKING_RATE", "LAMBDA", "THETA", "GAMMA", "SIGMA", "PSI", "EXCITATORY_PROP", "INHIBITORY_PROP") and isinstance(value, int) and not isinstance(value, bool):
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


# ---- writing -------------------------------------------------------------------


def _toml_value(v) -> str:
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
            return "[\n" + "".join("    { " + ", ".join(f"{k} = {_toml_value(x[k])}" for k in x) + " },\n" for x in v) + "]"
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(type(v))


def _comment(f) -> str:
    unit = f.metadata.get("unit", "")
    doc = f.metadata.get("doc", "")
    parts = [f"[{unit}]" if unit else "", doc]
    text = " ".join(p for p in parts if p)
    return f"  # {text}" if text else ""


def _emit(obj, header: str, lines: list[str]) -> None:
    scalars = []
    tables = []
    for f in dataclasses.fields(obj):
        if f.metadata.get("internal"):
            continue
        name = _ALIASES_BACK.get(f.name, f.name)
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            tables.append((name, value))
        elif isinstance(value, dict):
            tables.extend((f"{name}.{k}", v) for k, v in value.items())
        else:
            scalars.append((name, value, f))
    if header and scalars:
        doc = (type(obj).__doc__ or "").strip().splitlines()[0]
        lines.append(f"\n[{header}]  # {doc}")
    for name, value, f in scalars:
        if name == "epochs":
            value = [to_mapping(e) for e in value]
        lines.append(f"{name} = {_toml_value(value)}{_comment(f)}")
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


def reference_markdown() -> str:
    """The config reference (``docs/config.md``): every section and key with default, unit and meaning."""
    lines = [
        "# Config reference",
        "",
        "Generated from the code by `python -m spiking.config > docs/config.md`; a test keeps the two in step.",
        "Every key is optional: a config file holds only what differs from these defaults (the original model's).",
        "Set keys in a TOML file (`spiking run my.toml`) or on the command line (`--set section.key=value`, values in TOML syntax).",
        "",
    ]

    def table(obj, header):
        rows = []
        for f in dataclasses.fields(obj):
            if f.metadata.get("internal"):
                continue
            value = getattr(obj, f.name)
            if dataclasses.is_dataclass(value) or isinstance(value, dict):
                continue
            name = _ALIASES_BACK.get(f.name, f.name)
            shown = _toml_value(value if name != "epochs" else []).replace("|", "\\|").replace("\n", " ")
            rows.append(f"| `{name}` | `{shown}` | {f.metadata.get('unit', '')} | {f.metadata.get('doc', '')} |")
        if rows:
            doc = (type(obj).__doc__ or "").strip().splitlines()[0]
            lines.extend([f"## `[{header}]`", "", doc, "", "| key | default | unit | meaning |", "|---|---|---|---|", *rows, ""])
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            if dataclasses.is_dataclass(value):
                table(value, f"{header}.{_ALIASES_BACK.get(f.name, f.name)}" if header else f.name)

    cfg = default_config()
    table(cfg, "")
    lines.extend([
        "## `[projections.<name>]`",
        "",
        "The eighteen projections, each a table with the keys below. Mask and kernel are centred on the",
        "target neuron (each target draws its sources); `one_to_one` joins the grid elements at the same place.",
        "",
        "| key | unit | meaning |",
        "|---|---|---|",
    ])
    for f in dataclasses.fields(ProjectionConfig):
        lines.append(f"| `{f.name}` | {f.metadata.get('unit', '')} | {f.metadata.get('doc', '')} |")
    lines.extend(["", "| # | name | source -> target | mask | radius | kernel | p_center | sigma | weight (mV) | delay (ms) |", "|---|---|---|---|---|---|---|---|---|---|"])
    for i, (name, src, tgt, _) in enumerate(PROJECTION_TABLE, 1):
        p = cfg.projections[name]
        radius = "-" if p.mask == "one_to_one" else f"{p.radius:g}"
        sigma = f"{p.sigma:g}" if p.kernel == "gaussian" and p.mask != "one_to_one" else "-"
        lines.append(f"| {i} | `{name}` | {src} -> {tgt} | {p.mask} | {radius} | {p.kernel if p.mask != 'one_to_one' else '-'} | {p.p_center:g} | {sigma} | {p.weight:g} | {p.delay:g} |")
    lines.extend(["", "## Presets", "", "`--preset NAME` applies these over the defaults, before the config file and `--set`:", ""])
    for name, preset in PRESETS.items():
        flat = []

        def walk(d, prefix):
            for k, v in d.items():
                if isinstance(v, dict):
                    walk(v, f"{prefix}{k}.")
                else:
                    flat.append(f"`{prefix}{k} = {_toml_value(v)}`")

        walk(preset, "")
        lines.append(f"- `{name}`: " + (", ".join(flat) if flat else "the defaults"))
    lines.extend(["", "## The original `.env` keys", "", "`spiking run --env FILE` reads them and prints where each went:", "", "| .env key | config key |", "|---|---|"])
    for k, v in ENV_KEYS.items():
        lines.append(f"| `{k}` | {'`' + '.'.join(v) + '`' if v else 'ignored (the report plays the movies)'} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover
    print(reference_markdown(), end="")
