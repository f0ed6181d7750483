"""Plain data <-> config tree: building, validating every key, and the cross-field rules."""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping

from ..errors import ConfigError, StimulusError
from ..model.timegrid import EPS, n_steps, on_grid
from .fields import _ALIASES_BACK, _coerce, _show
from .sections import PROJECTION_NAMES, PROJECTION_TABLE, Config, EpochConfig, ProjectionConfig, _default_projections

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
        out.append(_build(EpochConfig, item, f"{key}[{i}]."))
    return out


#: Neuron keys of spiking 0.1 (NEST's names) -> the model's names.
LEGACY_NEURON_KEYS = {"V_th": "v_peak", "V_m": "v_init", "U_m": "u_init", "I_e": "i_offset"}


def _rename_legacy_neuron_keys(data: dict) -> None:
    """Accept config files written with NEST's parameter names (spiking 0.1)."""
    neurons = data.get("neurons")
    if not isinstance(neurons, Mapping):
        return
    neurons = dict(neurons)
    for cls, values in neurons.items():
        if not isinstance(values, Mapping):
            continue
        values = dict(values)
        integration = values.pop("consistent_integration", True)
        if integration is not True:
            raise ConfigError(
                f"neurons.{cls}.consistent_integration",
                "the pathway integrates with forward Euler only; the 2003 paper's numerics are in `spiking izhikevich network`",
            )
        for old, new in LEGACY_NEURON_KEYS.items():
            if old in values and new not in values:
                values[new] = values.pop(old)
        neurons[cls] = values
    data["neurons"] = neurons


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
    _rename_legacy_neuron_keys(data)
    projections = data.pop("projections", {})
    stimulus = data.get("stimulus")
    epochs = []
    if isinstance(stimulus, Mapping) and "epochs" in stimulus:
        stimulus = dict(stimulus)
        ev = stimulus.pop("epochs")
        if not isinstance(ev, list):
            raise ConfigError(
                "stimulus.epochs", f"must be a list of {{pattern=..., duration=...}} tables, got {_show(ev)}"
            )
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
    for k, v in enumerate(cfg.stimulus.patterns):
        _check_pattern_spec(v, f"stimulus.patterns[{k}]")
    for k, e in enumerate(epochs):
        _check_pattern_spec(e.pattern, f"stimulus.epochs[{k}].pattern")
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


def _check_pattern_spec(spec: str, key: str) -> None:
    """A procedural pattern spec (``blank``, ``grating:...``) must parse; names and paths are checked when loaded."""
    from ..model.stimulus import check_pattern_spec

    if not isinstance(spec, str):
        return
    try:
        check_pattern_spec(spec)
    except StimulusError as err:
        raise ConfigError(key, str(err)) from None


def validate(cfg: Config) -> None:
    """Cross-field rules that no single key can check."""
    net = cfg.network
    if net.exposed_hypercolumns > net.hypercolumns:
        raise ConfigError(
            "network.exposed_hypercolumns",
            f"must be <= network.hypercolumns ({net.hypercolumns}), got {net.exposed_hypercolumns}",
        )
    if abs(net.excitatory_fraction + net.inhibitory_fraction - 1.0) > EPS:
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
    if cfg.retina.coding == "latency":
        if cfg.retina.source != "trains":
            raise ConfigError(
                "retina.coding",
                'latency needs retina.source = "trains" (the spikes are drawn, not simulated by generators)',
            )
        if cfg.retina.latency_max < cfg.retina.latency_min:
            raise ConfigError(
                "retina.latency_max",
                f"must be >= retina.latency_min ({cfg.retina.latency_min}), got {cfg.retina.latency_max}",
            )
        if cfg.retina.latency_threshold >= 1.0:
            raise ConfigError("retina.latency_threshold", f"must be below 1, got {cfg.retina.latency_threshold}")
    dog = cfg.retina.dog
    if dog.sigma_surround <= dog.sigma_centre:
        raise ConfigError(
            "retina.dog.sigma_surround",
            f"must be larger than retina.dog.sigma_centre ({dog.sigma_centre}), got {dog.sigma_surround}",
        )
    if cfg.retina.source == "trains":
        for name in ("retina_on_to_lgn_on", "retina_off_to_lgn_off"):
            if cfg.projections[name].mask != "one_to_one":
                raise ConfigError(
                    f"projections.{name}.mask",
                    'must be "one_to_one" when retina.source = "trains" (each relay node repeats one retina pixel); '
                    'use retina.source = "generators" for other wirings',
                )
    res = cfg.run.resolution
    for name, p in cfg.projections.items():
        if p.delay < res:
            raise ConfigError(f"projections.{name}.delay", f"must be >= run.resolution ({res} ms), got {p.delay}")
    if not re.fullmatch(r"[A-Za-z0-9_-]{0,64}", cfg.run.name):
        raise ConfigError(
            "run.name", f"may hold only letters, digits, '-' and '_' (at most 64), got {_show(cfg.run.name)}"
        )
    if cfg.run.chunk < res:
        raise ConfigError("run.chunk", f"must be >= run.resolution ({res} ms), got {cfg.run.chunk}")
    if cfg.render.frame_ms < res:
        raise ConfigError("render.frame_ms", f"must be >= run.resolution ({res} ms), got {cfg.render.frame_ms}")
    if res < 0.001:
        raise ConfigError("run.resolution", f"must be >= 0.001 ms, got {res}")
    _validate_plasticity(cfg)
    times = [("run.simulation_time", cfg.run.simulation_time), ("stimulus.switch_every", cfg.stimulus.switch_every)]
    times += [(f"stimulus.epochs[{i}].duration", e.duration) for i, e in enumerate(cfg.stimulus.epochs)]
    for key, t in times:
        if not on_grid(t, res):
            raise ConfigError(key, f"must be a multiple of run.resolution ({res} ms), got {t}")


#: Layers a plastic projection may end in (the rule needs a neuron that keeps its spike history).
PLASTIC_TARGETS = ("ex_on", "ex_off", "in_on", "in_off")


def _validate_plasticity(cfg: Config) -> None:
    """The rules of plastic projections: V1 targets, the bound's sign, one tau_minus per layer, long enough epochs."""
    from ..model.stimulus import build_schedule

    targets = {name: tgt for name, _, tgt, _ in PROJECTION_TABLE}
    plastic = {name: p for name, p in cfg.projections.items() if p.plasticity == "stdp"}
    tau_minus: dict[str, tuple[str, float]] = {}
    for name, p in plastic.items():
        key = f"projections.{name}"
        if targets[name] not in PLASTIC_TARGETS:
            raise ConfigError(
                f"{key}.plasticity",
                'only projections into a V1 layer (ex_on, ex_off, in_on, in_off) can be "stdp"; '
                f"this one ends in the relay {targets[name]}",
            )
        w, w_max = p.weight, p.stdp.w_max
        if w_max == 0 or (w >= 0) != (w_max > 0):
            raise ConfigError(
                f"{key}.stdp.w_max", f"must be non-zero with the sign of {key}.weight ({w:g}), got {w_max:g}"
            )
        if abs(w) > abs(w_max):
            raise ConfigError(
                f"{key}.stdp.w_max", f"must be at least |{key}.weight| ({abs(w):g} mV) in size, got {w_max:g}"
            )
        other = tau_minus.setdefault(targets[name], (name, p.stdp.tau_minus))
        if other[1] != p.stdp.tau_minus:
            raise ConfigError(
                f"{key}.stdp.tau_minus",
                f"must equal projections.{other[0]}.stdp.tau_minus ({other[1]:g} ms): the postsynaptic trace belongs "
                f"to the target layer {targets[name]}, got {p.stdp.tau_minus:g}",
            )
    if not plastic:
        return
    half = cfg.run.simulation_time / 2
    if cfg.render.selectivity_window > half * (1 + EPS):
        raise ConfigError(
            "render.selectivity_window",
            f"must be at most half of run.simulation_time ({half:g} ms) in a run with plastic projections, "
            f"got {cfg.render.selectivity_window:g}",
        )
    schedule = build_schedule(cfg)
    changes = {n_steps(e.start, cfg.run.resolution) for e in schedule}
    first = ", ".join(f"{e.start:g}" for e in schedule[1:4]) + " ms"
    for name, p in plastic.items():
        start = p.stdp.start
        if start > 0 and (
            start >= cfg.run.simulation_time * (1 - EPS)
            or not (on_grid(start, cfg.run.resolution) and n_steps(start, cfg.run.resolution) in changes)
        ):
            raise ConfigError(
                f"projections.{name}.stdp.start",
                f"must be 0 or a time the stimulus changes before the end of the run ({first}, ...), got {start:g}",
            )
    shortest = min(schedule, key=lambda e: e.stop - e.start)
    for name, p in plastic.items():
        longest = p.delay + (p.delay_per_unit * p.radius if p.mask == "circle" else 0.0)
        if shortest.stop - shortest.start < longest * (1 - EPS):
            raise ConfigError(
                f"projections.{name}.plasticity",
                f"needs stimulus epochs at least as long as the projection's longest delay ({longest:g} ms), since "
                f"its weights are recorded at each change; the epoch from {shortest.start:g} ms lasts "
                f"{shortest.stop - shortest.start:g} ms",
            )
