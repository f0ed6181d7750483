"""The config tree: its sections as frozen dataclasses with the original model's defaults, the projection table and presets."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path

from ..engines.registry import DEFAULT_ENGINE, engine_names
from ..engines.registry import summary as engine_summary
from ..model.cells import IzhikevichParams, izhikevich_class
from ..model.plasticity import DEPENDENCES, STDPRule
from .fields import _at_least, _between, _f, _fraction, _non_negative, _one_of, _positive, _probability, _square

# ---- the tree -------------------------------------------------------------------

#: Simulators a run can use (``run.engine``), as :mod:`spiking.engines.registry` declares them.
ENGINES = engine_names()
#: How the retina's spikes are made (``retina.source``).
RETINA_SOURCES = ("trains", "generators")
#: Who draws the connections (``network.wiring``).
WIRINGS = ("model", "engine")
#: What each wiring means, in words (the report says it).
WIRING_TEXT = {
    "model": "drawn once by the model with numpy from the seed: the same network on every engine, threads and ranks",
    "engine": "sampled by the engine itself (NEST's spatial pairwise_bernoulli, Brian2's generated code)",
}
#: How a retina pixel's response becomes spikes (``retina.coding``).
CODINGS = ("rate", "latency")
#: The retina's receptive fields: the original's Gabor kernel (and its transpose), or centre-surround.
RETINA_FILTERS = ("gabor", "dog")
#: What each retina source means, in words (the report and the exports say it).
RETINA_SOURCE_TEXT = {
    "trains": "pre-drawn Poisson trains injected as the LGN relay's spikes",
    "generators": "Poisson generators relayed by parrot neurons",
}


@dataclass(frozen=True)
class RunConfig:
    """How a run is executed and where it goes."""

    name: str = _f("", "", "optional label appended to the run id (letters, digits, '-', '_')")
    engine: str = _f(DEFAULT_ENGINE, "", "simulator: " + engine_summary(), _one_of(*ENGINES))
    seed: int = _f(
        12345,
        "",
        "seed of the random numbers: connections, input trains, simulator (same seed and threads: same spikes)",
        _between(1, 2**32 - 1),
    )
    threads: int = _f(0, "", "threads per process; 0 = all cores of the machine", _between(0, 4096))
    simulation_time: float = _f(1000.0, "ms", "model time to simulate", _positive)
    resolution: float = _f(0.1, "ms", "integration time step", _positive)
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
    wiring: str = _f(
        "model",
        "",
        "model: every projection's edges drawn once with numpy from the seed (the same network on every engine, "
        "threads and ranks, cached); engine: each engine samples its own (NEST's spatial connect, Brian2's "
        "generated code), the original's machinery",
        _one_of(*WIRINGS),
    )


_RS = izhikevich_class("RS")
_FS = izhikevich_class("FS")


@dataclass(frozen=True)
class NeuronConfig:
    """Izhikevich neuron parameters: dv/dt = 0.04 v^2 + 5 v + 140 - u + I, du/dt = a (b v - u)."""

    a: float = _f(_RS.a, "1/ms", "time scale of the recovery variable u")
    b: float = _f(_RS.b, "", "sensitivity of u to v")
    c: float = _f(_RS.c, "mV", "reset value of v after a spike")
    d: float = _f(_RS.d, "mV/ms", "increment of u after a spike")
    v_peak: float = _f(_RS.v_peak, "mV", "spike cut-off: v >= v_peak is a spike")
    v_init: float = _f(_RS.v_init, "mV", "initial membrane potential")
    u_init: float = _f(_RS.u_init, "mV/ms", "initial recovery variable")
    i_offset: float = _f(_RS.i_offset, "mV/ms", "constant input current (unit membrane resistance)")

    def params(self) -> IzhikevichParams:
        """The neutral parameter set engines translate."""
        return IzhikevichParams(**{f.name: getattr(self, f.name) for f in fields(self)})


def _fs_defaults() -> NeuronConfig:
    return NeuronConfig(a=_FS.a, b=_FS.b, c=_FS.c, d=_FS.d, u_init=_FS.u_init)


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
class DogConfig:
    """Centre-surround receptive field: a difference of two normalised Gaussians (retina.filter = "dog")."""

    ksize: int = _f(19, "pixels", "kernel size; the grid is 2*(ksize//2)+1 square", _at_least(1))
    sigma_centre: float = _f(1.0, "pixels", "standard deviation of the centre Gaussian", _positive)
    sigma_surround: float = _f(3.0, "pixels", "standard deviation of the surround Gaussian (> sigma_centre)", _positive)
    surround_weight: float = _f(
        1.0, "", "weight of the surround against the centre; 1 balances them (a uniform field gives 0)", _fraction
    )
    gain: float = _f(
        4.0, "", "filter output that maps to response 1 is 1 / gain (responses clipped to [0, 1])", _positive
    )


@dataclass(frozen=True)
class RetinaConfig:
    """Retina encoding: filtered image mapped linearly to Poisson rates."""

    source: str = _f(
        "trains",
        "",
        "trains: Poisson trains drawn with numpy and injected as the relay's spikes; generators: a Poisson generator per pixel relayed by parrot neurons (the original's machinery)",
        _one_of(*RETINA_SOURCES),
    )
    coding: str = _f(
        "rate",
        "",
        "rate: a Poisson train at a rate that grows with the response; latency: one spike per pixel and stimulus "
        "epoch, the earlier the stronger the response, none below latency_threshold (needs source = trains)",
        _one_of(*CODINGS),
    )
    latency_min: float = _f(1.0, "ms", "latency coding: delay of a pixel's spike at response 1", _non_negative)
    latency_max: float = _f(50.0, "ms", "latency coding: delay of a pixel's spike at latency_threshold", _non_negative)
    latency_threshold: float = _f(
        0.1, "", "latency coding: response below which a pixel does not fire (0 to 1)", _fraction
    )
    min_rate: float = _f(5.0, "Hz", "rate of a retina cell at filter response 0", _non_negative)
    max_rate: float = _f(100.0, "Hz", "rate of a retina cell at filter response 1", _non_negative)
    filter: str = _f(
        "gabor",
        "",
        "receptive fields: gabor, the original's Gabor kernel plus its transpose ([retina.gabor]); dog, "
        "centre-surround ON and OFF cells, a difference of Gaussians with no orientation ([retina.dog])",
        _one_of(*RETINA_FILTERS),
    )
    gabor: GaborConfig = field(default_factory=GaborConfig)
    dog: DogConfig = field(default_factory=DogConfig)


@dataclass(frozen=True)
class EpochConfig:
    """One stimulus epoch: a pattern shown for a duration."""

    pattern: str = _f("pattern0", "", "pattern name, blank, grating:... spec or image path")
    duration: float = _f(250.0, "ms", "how long it is shown", _positive)


@dataclass(frozen=True)
class StimulusConfig:
    """What is shown to the retina and when."""

    patterns: list = _f(
        ["pattern0", "pattern1"],
        "",
        "patterns to alternate: built-in names (pattern0, pattern1), blank, grating:orientation=DEG,sf=CYCLES[,phase=DEG][,contrast=C] or PNG/JPEG/.txt paths",
    )
    switch_every: float = _f(250.0, "ms", "alternate the patterns every this many ms", _positive)
    epochs: list = _f(
        [], "", "explicit schedule [{pattern=..., duration=...}, ...]; overrides patterns/switch_every when given"
    )


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

    layers: list = _f(
        ["ex_on", "ex_off", "in_on", "in_off"],
        "",
        "recorded layers, any of " + ", ".join(RECORDABLE_LAYERS),
        _layers_check,
    )


@dataclass(frozen=True)
class RenderConfig:
    """Pictures and movies drawn from a run."""

    frame_ms: float = _f(1.0, "ms", "movie frame length (spikes are binned per frame)", _positive)
    fps: int = _f(25, "frames/s", "movie playback speed", _at_least(1))
    movie_format: str = _f("mp4", "", "movie container: mp4 or gif", _one_of("mp4", "gif"))
    movies: bool = _f(True, "", "draw the activity movies")
    plot_layers: bool = _f(False, "", "draw a connectivity plot per projection (slow for big networks)")
    open: bool = _f(False, "", "open the report in a browser when done")
    selectivity_window: float = _f(
        0.0,
        "ms",
        "model time at the start and at the end of a run whose rates give each V1 neuron's pattern selectivity "
        "before and after learning, in runs with plastic projections (0: the time before learning starts when "
        "every plastic projection has a later stdp.start, at most half the run; else a quarter of the run)",
        _non_negative,
    )

    def window(self, simulation_time: float, learning_start: float = 0.0) -> float:
        """The selectivity window of a run of ``simulation_time`` ms whose learning starts at ``learning_start``, ms."""
        if self.selectivity_window:
            return self.selectivity_window
        if learning_start > 0:
            return min(learning_start, simulation_time / 2)
        return simulation_time / 4


#: Plasticity rules a projection can follow (``projections.<name>.plasticity``).
PLASTICITY = ("none", "stdp")
_RULE = STDPRule()


@dataclass(frozen=True)
class STDPConfig:
    """The STDP rule of a projection (NEST's ``stdp_synapse``), used when ``plasticity = "stdp"``."""

    tau_plus: float = _f(
        _RULE.tau_plus, "ms", "time constant of the presynaptic trace (potentiation window)", _positive
    )
    tau_minus: float = _f(
        _RULE.tau_minus,
        "ms",
        "time constant of the postsynaptic trace (depression window); one per target layer",
        _positive,
    )
    a_plus: float = _f(_RULE.a_plus, "", "potentiation step at zero lag, a fraction of w_max", _positive)
    a_minus: float = _f(_RULE.a_minus, "", "depression step at zero lag, a fraction of w_max", _non_negative)
    w_max: float = _f(
        _RULE.w_max, "mV", "bound of the weight, with the sign of weight (weights stay between 0 and w_max)"
    )
    dependence: str = _f(
        _RULE.dependence,
        "",
        "additive (steps independent of the weight, hard bounds) or multiplicative (soft bounds)",
        _one_of(*DEPENDENCES),
    )
    start: float = _f(
        _RULE.start,
        "ms",
        "model time learning starts: the weights stay as they are until then (a stimulus change or 0)",
        _non_negative,
    )

    def rule(self) -> STDPRule:
        """The rule in the model's words."""
        return STDPRule(**{f.name: getattr(self, f.name) for f in fields(self)})


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
    plasticity: str = _f(
        "none", "", "none (static weights) or stdp (the rule in [projections.<name>.stdp])", _one_of(*PLASTICITY)
    )
    stdp: STDPConfig = field(default_factory=STDPConfig)


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


def default_config() -> Config:
    """The original model's defaults."""
    return Config()
