"""The visual pathway declared as Brian2 objects, with NEST's numerics and timing.

What makes the two engines simulate the same model:

* **Izhikevich neurons** with NEST's ``izhikevich`` update, to the last bit:
  the group has no differential equations; its update is NEST's
  ``izhikevich::update`` (forward Euler from the old ``v`` and ``u``, the
  summed weights of the spikes arriving in the step added to ``v`` with the
  Euler increment, before the threshold test) written one operation per
  statement (:func:`.izhikevich.update_code`), so that sympy has nothing to
  regroup, and compiled without ``-ffast-math`` and without contracting
  multiply-adds (:data:`COMPILE_ARGS`). Synaptic pathways add their weights to
  ``w_in`` of the target in the ``before_groups`` slot, which delivers a spike
  one step after it was pushed, so every delay is one step shorter than the
  model's (NEST's 1 ms neuron-to-neuron delay stays 1 ms).
* **Time stamps**: NEST stamps a spike at the end of the step in which it
  happens, Brian2 at the start. Recorded times get one step added; the
  pre-drawn trains are handed to Brian2 one step early.
* **Connections**: with ``network.wiring = "model"`` (the default) the
  program reads the model's drawn network from a folder at run time
  (:mod:`.wiring`), the very edges NEST instantiates; with ``"engine"`` it
  samples its own: every (source, target) pair within ``radius`` connects with
  probability ``p(d)``, each source visiting only the targets in a square
  window around it.
* **Input**: the pre-drawn trains (``retina.source = "trains"``) are the
  relay layers' spikes, loaded from a file when the program starts, spikes
  of one node in one step repeated as NEST's ``spike_train_injector``
  repeats them; Poisson generators (``"generators"``) are a
  ``PoissonGroup`` per retina layer whose rates follow the schedule, relayed
  by the relay delay.

Everything that changes from run to run (seed, trains, rates, model time)
reaches the compiled program at run time, so the project compiles once per
network shape (:mod:`.project`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ...model.network import LayerSpec, Model, ProjectionSpec
from ...model.timegrid import n_steps
from . import plasticity, wiring
from .izhikevich import update_code

__all__ = [
    "Declared",
    "declare",
    "train_loader_code",
    "rates_table",
    "connect_expression",
    "CONNECTED",
    "COMPILE_ARGS",
    "release_code",
]

#: Compiler flags of the pathway's program: Brian2's defaults without ``-ffast-math``, and no fused
#: multiply-adds, so that every operation rounds as NEST's (``-march=native`` kept: it changes no result then).
COMPILE_ARGS = ["-w", "-O3", "-fno-fast-math", "-ffp-contract=off", "-march=native", "-std=c++11"]

#: A step of slack on either side of a connection window, in target grid elements.
_WINDOW_MARGIN = 1

_STOP_CODE = """
static inline double spiking_stop(const double t, const double dt, const double t_stop)
{
    // end of the step that reaches t_stop: the network leaves its loop before the next step
    if (t + dt >= t_stop - 0.5 * dt) {
        Network::_globally_stopped = true;
        return 1.0;
    }
    return 0.0;
}
"""


@dataclass
class Declared:
    """The Brian2 objects of a pathway, by role."""

    control: object
    groups: dict = field(default_factory=dict)
    synapses: dict = field(default_factory=dict)
    monitors: dict = field(default_factory=dict)
    rates: dict = field(default_factory=dict)
    #: relay layer -> the retina group whose spikes it repeats (generators)
    relayed: dict = field(default_factory=dict)
    #: extra delay (ms) of a relay layer's spikes over its retina group's (generators)
    relay_delay: dict = field(default_factory=dict)

    def objects(self) -> list:
        return [
            self.control,
            *self.groups.values(),
            *self.synapses.values(),
            *self.monitors.values(),
        ]


def _stop_function(b2):
    f = b2.Function(
        lambda t, dt, t_stop: 0.0,
        arg_units=[1, 1, 1],
        return_unit=1,
        arg_types=["float", "float", "float"],
        return_type="float",
        stateless=False,
    )
    f.implementations.add_implementation(
        "cpp", code=_STOP_CODE, name="spiking_stop", compiler_kwds={"headers": ['"network.h"']}
    )
    return f


#: State of an Izhikevich group; ``w_in`` sums the weights of the spikes that arrive in the coming step.
_NEURON_STATE = """
v : 1
u : 1
w_in : 1
"""


def _neurons(b2, layer: LayerSpec, h: float):
    """An Izhikevich layer whose update is NEST's ``izhikevich::update`` one operation at a time (module docstring)."""
    c = layer.cell
    namespace = {"h": float(h), "a": float(c.a), "b": float(c.b), "I_e": float(c.i_offset)}
    g = b2.NeuronGroup(
        layer.size,
        _NEURON_STATE,
        threshold="v >= v_peak",
        reset="v = c_reset\nu = u + d_jump",
        name=layer.name,
        namespace={**namespace, "v_peak": float(c.v_peak), "c_reset": float(c.c), "d_jump": float(c.d)},
    )
    g.run_regularly(update_code("euler"), when="groups", name=f"{layer.name}_update")
    g.v = c.v_init
    g.u = c.u_init
    g.w_in = 0.0
    return g


def rates_table(model: Model) -> tuple[float, dict[str, np.ndarray]]:
    """The retina rates over time for a ``TimedArray``: bin length (ms) and ``layer -> (bins, nodes)`` Hz.

    Bins are the largest step that divides every epoch boundary.
    """
    h = model.resolution
    edges = [n_steps(e.start, h) for e in model.schedule] + [n_steps(model.simulation_time, h)]
    g = 0
    for k in edges:
        g = math.gcd(g, k)
    g = max(1, g)
    n_bins = edges[-1] // g
    out = {}
    for layer in model.poisson_layers:
        table = np.zeros((n_bins, model.layers[layer].size))
        for e in model.schedule:
            a, b = n_steps(e.start, h) // g, n_steps(e.stop, h) // g
            table[a:b] = model.layer_rates(e.pattern)[layer]
        out[layer] = table
    return g * h, out


def _sources(b2, model: Model, declared: Declared, compiled_ms: float) -> None:
    """The layers that make spikes without integrating anything: trains or Poisson generators."""
    for name, layer in model.layers.items():
        if layer.kind == "trains":
            # one dummy spike after the end; the real trains are loaded when the program starts
            declared.groups[name] = b2.SpikeGeneratorGroup(
                layer.size, [0], [(compiled_ms + 1000.0) * 1e-3] * b2.second, name=name
            )
        elif layer.kind == "poisson":
            bin_ms, tables = rates_table(model)
            ta = b2.TimedArray(tables[name] * b2.Hz, dt=bin_ms * b2.ms, name=f"rates_{name}")
            declared.rates[name] = ta
            declared.groups[name] = b2.PoissonGroup(
                layer.size, rates=f"rates_{name}(t, i)", namespace={f"rates_{name}": ta}, name=name
            )
    for p in model.projections:
        if model.layers[p.target].kind == "relay":  # generators: the relay repeats its retina layer
            declared.relayed[p.target] = p.source
            declared.relay_delay[p.target] = p.delay


def _position(index: str, side: int, extent: float) -> tuple[str, str]:
    """C++-ready expressions of a grid node's x and y, as :func:`spiking.model.geometry.grid_positions`."""
    step = extent / side
    x = f"(-{extent / 2!r} + ({index} // {side} + 0.5) * {step!r})"
    y = f"({extent / 2!r} - ({index} % {side} + 0.5) * {step!r})"
    return x, y


def connect_expression(p: ProjectionSpec, source: LayerSpec, target: LayerSpec) -> str:
    """Brian2's generator syntax for one projection: each source visits the target grid around it.

    ``j`` runs over a square window of target elements centred on the source's
    position; a pair connects when it lies in the grid, within ``radius``
    (``d <= mask_radius``, the rule of every engine) and a uniform draw falls
    below ``p(d)``. The expressions go through sympy, which regroups them:
    positions are not the same doubles as in numpy, which the tolerance of
    ``mask_radius`` makes harmless.
    """
    st, e = target.side, target.extent
    step_t = e / st
    xs, ys = _position("i", source.side, source.extent)
    ct = f"int(({xs} + {e / 2!r}) / {step_t!r})"
    rt = f"int(({e / 2!r} - {ys}) / {step_t!r})"
    w = math.ceil(p.radius / step_t) + _WINDOW_MARGIN
    width = 2 * w + 1
    col = f"({ct} + k // {width} - {w})"
    row = f"({rt} + k % {width} - {w})"
    j = f"({col} * {st} + {row})"
    dx = f"((-{e / 2!r} + ({col} + 0.5) * {step_t!r}) - {xs})"
    dy = f"(({e / 2!r} - ({row} + 0.5) * {step_t!r}) - {ys})"
    d2 = f"({dx}**2 + {dy}**2)"
    cond = [f"{col} >= 0", f"{col} < {st}", f"{row} >= 0", f"{row} < {st}", f"{d2} <= {p.mask_radius**2!r}"]
    if p.source == p.target and not p.allow_autapses:
        cond.append(f"{j} != i")
    if p.kernel == "gaussian":
        cond.append(f"rand() < {p.p_center!r} * exp(-{d2} / {2 * p.sigma**2!r})")
    elif p.p_center < 1.0:
        cond.append(f"rand() < {p.p_center!r}")
    return f"{j} for k in range({width * width}) if " + " and ".join(cond)


def delay_steps_expression(p: ProjectionSpec, source: LayerSpec, target: LayerSpec, h: float, extra: float) -> str:
    """Per-synapse delay in whole steps of a distance-dependent projection (``extra`` ms added first)."""
    xs, ys = _position("i", source.side, source.extent)
    xt, yt = _position("j", target.side, target.extent)
    d = f"sqrt(({xt} - {xs})**2 + ({yt} - {ys})**2)"
    return f"floor(({p.delay + extra!r} + {p.delay_per_unit!r} * {d}) / {h!r} + 0.5)"


def delay_expression(p: ProjectionSpec, source: LayerSpec, target: LayerSpec, h: float, extra: float) -> str:
    """Per-synapse delay (ms, Brian2's: one step shorter) of a distance-dependent projection."""
    return f"({delay_steps_expression(p, source, target, h, extra)} - 1) * {h!r}"


def _connect(b2, device, model: Model, s, p: ProjectionSpec, relay_steps: int, delay_var: str | None) -> None:
    """Make a projection's synapses: from the network folder (``model`` wiring) or by Brian2's own sampling.

    ``delay_var``: the synaptic variable that takes a distance-dependent
    delay (``delay`` in Brian2's seconds, one step shorter than the model's;
    ``dsteps`` of a plastic projection, in the model's steps), or None for a
    constant delay.
    """
    h = model.resolution
    source, target = model.layers[p.source], model.layers[p.target]
    if model.wiring == "model":
        pre_post = [
            device.get_array_name(s.variables[v], access_data=False) for v in ("_synaptic_pre", "_synaptic_post")
        ]
        device.insert_code("main", wiring.reserve_code(p.index, pre_post))
        s.connect(j=wiring.connect_generator(p.index))
        if delay_var is not None:
            value, ctype = (
                ("steps", "int32_t") if delay_var == "dsteps" else (f"(steps + {relay_steps - 1}) * dt", "double")
            )
            device.insert_code(
                "main",
                wiring.fill_code(
                    p.index,
                    source.size,
                    device.get_array_name(
                        (s.pre.variables if delay_var == "delay" else s.variables)[delay_var], access_data=False
                    ),
                    value,
                    ctype,
                    device.get_array_name(b2.defaultclock.variables["dt"]),
                ),
            )
        return
    s.connect(j=connect_expression(p, source, target), skip_if_invalid=True)
    if delay_var == "dsteps":
        s.dsteps = delay_steps_expression(p, source, target, h, 0.0)
    elif delay_var == "delay":
        s.delay = delay_expression(p, source, target, h, relay_steps * h) + " * ms"


def _namespace(b2, model: Model, p: ProjectionSpec) -> dict:
    """The functions a projection's connect statement calls (the network folder's reader), if any."""
    if model.wiring != "model":
        return {}
    return wiring.connect_functions(b2, p.index, model.layers[p.source].size, model.layers[p.target].size)


def _plastic_synapses(b2, device, model: Model, declared: Declared, p: ProjectionSpec, source_name: str, relay: int):
    """A plastic projection (:mod:`.plasticity`): the rule's state and code; the pathways' delays in steps."""
    h = model.resolution
    spec = plasticity.synapse_spec(p)
    homogeneous = p.delay_per_unit == 0
    kwargs = {}
    if homogeneous:
        d = int(p.delay_steps(0.0, h))
        kwargs["delay"] = {"pre": (d + relay - 1) * h * b2.ms, "post": (2 * d - 1) * h * b2.ms}
    s = b2.Synapses(
        declared.groups[source_name],
        declared.groups[p.target],
        namespace={**plasticity.stdp_functions(b2, p, h), **_namespace(b2, model, p)},
        name=f"p{p.index:02d}_{p.name}",
        **spec,
        **kwargs,
    )
    _connect(b2, device, model, s, p, relay, None if homogeneous else "dsteps")
    if homogeneous:
        s.dsteps = int(p.delay_steps(0.0, h))
    else:
        s.pre.delay = f"(dsteps + {relay - 1}) * dt"
        s.post.delay = "(2 * dsteps - 1) * dt"
    s.w = p.weight
    s.w_seen = p.weight
    s.w_cross = p.weight
    if p.plasticity.start > 0:
        s.w_off = p.weight
    s.post_last = -1
    s.post_prev = -1
    s.pre.when = "before_groups"
    s.post.when = "before_groups"
    s.post.order = s.pre.order - 1  # a postsynaptic spike meeting a presynaptic one potentiates first
    return s


def _projections(b2, device, model: Model, declared: Declared) -> None:
    h = model.resolution
    for p in model.projections:
        if model.layers[p.target].kind == "relay":
            continue  # the relay is its retina layer, delayed (see _sources)
        source_name, relay = p.source, 0
        if p.source in declared.relayed:
            source_name, relay = declared.relayed[p.source], n_steps(declared.relay_delay[p.source], h)
        if p.plasticity is not None:
            declared.synapses[p.name] = _plastic_synapses(b2, device, model, declared, p, source_name, relay)
            continue
        homogeneous = p.delay_per_unit == 0
        kwargs = {}
        if homogeneous:
            kwargs["delay"] = (int(p.delay_steps(0.0, h)) + relay - 1) * h * b2.ms
        s = b2.Synapses(
            declared.groups[source_name],
            declared.groups[p.target],
            on_pre=f"w_in_post += {p.weight!r}",
            name=f"p{p.index:02d}_{p.name}",
            namespace=_namespace(b2, model, p),
            **kwargs,
        )
        _connect(b2, device, model, s, p, relay, None if homogeneous else "delay")
        s.pre.when = "before_groups"
        declared.synapses[p.name] = s


def release_code(device, declared: Declared, model: Model) -> str:
    """C++ run after the network: the program lets the static projections' synapses go (the drawn network has them).

    Plastic projections keep theirs: their weights are read in the program's order.
    """
    arrays = []
    for p in model.projections:
        s = declared.synapses.get(p.name)
        if s is None or p.plasticity is not None:
            continue
        for v in ("_synaptic_pre", "_synaptic_post"):
            arrays.append((device.get_array_name(s.variables[v], access_data=False), "int32_t"))
        if p.delay_per_unit > 0:
            arrays.append((device.get_array_name(s.pre.variables["delay"], access_data=False), "double"))
    return wiring.release_code(arrays)


#: What the program prints when its connections are made: ``<tag> <seconds>``.
CONNECTED = "spiking-connected"


def declare(b2, device, model: Model, compiled_ms: float) -> Declared:
    """Declare the model's network on Brian2's standalone ``device``, for up to ``compiled_ms`` of model time.

    The program reads its arguments (seed, model time, rates) first, seeds its
    random numbers from ``control.rng_seed``, makes the connections and says
    how long that took (:data:`CONNECTED`). Returns the objects; the caller
    adds them to a ``Network``.
    """
    b2.defaultclock.dt = model.resolution * b2.ms
    control = b2.NeuronGroup(
        1,
        """rng_seed : integer (constant)
        t_stop : 1 (constant)
        stopped : 1""",
        namespace={"spiking_stop": _stop_function(b2)},
        name="control",
    )
    control.run_regularly("stopped = spiking_stop(t / ms, dt / ms, t_stop)", when="end", name="control_stop")
    declared = Declared(control=control)
    device.apply_run_args()
    if "<chrono>" not in device.headers:
        device.headers.append("<chrono>")
    seed = device.get_array_name(control.variables["rng_seed"])
    threads = max(1, b2.prefs.devices.cpp_standalone.openmp_threads)
    device.insert_code(
        "main",
        f"for (int _k = 0; _k < {threads}; _k++) brian::_random_generators[_k].seed(brian::{seed}[0] + _k);\n"
        "const auto _spiking_t0 = std::chrono::steady_clock::now();",
    )
    for name, layer in model.layers.items():
        if layer.kind == "izhikevich":
            declared.groups[name] = _neurons(b2, layer, model.resolution)
    _sources(b2, model, declared, compiled_ms)
    if model.connect:
        _projections(b2, device, model, declared)
        if model.plastic:
            control.namespace["spiking_weights_dump"] = plasticity.dump_function(b2, device, model, declared.synapses)
            control.run_regularly(
                "stopped = stopped + spiking_weights_dump(t_in_timesteps)", when="end", name="control_weights"
            )
    device.insert_code(
        "main",
        f'std::cout << "{CONNECTED} " << std::chrono::duration<double>(std::chrono::steady_clock::now() - '
        "_spiking_t0).count() << std::endl << std::flush;",
    )
    for name in model.simulated_recorded:
        group = declared.relayed.get(name, name)
        declared.monitors[name] = b2.SpikeMonitor(declared.groups[group], name=f"spikes_{name}")
    return declared


def train_loader_code(device, declared: Declared) -> str:
    """C++ run before the network starts: each train layer's spikes from the file ``$SPIKING_TRAINS_<layer>``.

    The file holds ``int64 n``, ``n int32`` node indices and ``n float64``
    times (s, Brian2's stamps), sorted by time; several spikes of one node in
    one step are kept, as NEST keeps them.
    """
    blocks = []
    for name, g in declared.groups.items():
        if type(g).__name__ != "SpikeGeneratorGroup":
            continue
        v = g.variables
        idx = device.get_array_name(v["neuron_index"], access_data=False)
        times = device.get_array_name(v["spike_time"], access_data=False)
        bins = device.get_array_name(v["_timebins"], access_data=False)
        last = device.get_array_name(v["_lastindex"])
        blocks.append(
            f"""
    {{
        const char* _path = std::getenv("SPIKING_TRAINS_{name.upper()}");
        if (_path == NULL) {{ std::cerr << "SPIKING_TRAINS_{name.upper()} is not set" << std::endl; exit(3); }}
        FILE* _f = fopen(_path, "rb");
        if (_f == NULL) {{ std::cerr << "cannot open " << _path << std::endl; exit(3); }}
        int64_t _n = 0;
        size_t _ok = fread(&_n, sizeof(int64_t), 1, _f);
        brian::{idx}.resize(_n);
        brian::{times}.resize(_n);
        brian::{bins}.resize(_n);
        if (_n > 0) {{
            _ok += fread(&brian::{idx}[0], sizeof(int32_t), _n, _f);
            _ok += fread(&brian::{times}[0], sizeof(double), _n, _f);
        }}
        fclose(_f);
        if ((int64_t)_ok != 1 + 2 * _n) {{ std::cerr << "short file " << _path << std::endl; exit(3); }}
        const double _dt = brian::{device.get_array_name(declared.control.clock.variables["dt"])}[0];
        for (int64_t _k = 0; _k < _n; _k++)
            brian::{bins}[_k] = (int32_t)((brian::{times}[_k] + 1e-3 * _dt) / _dt);
        brian::{last}[0] = 0;
    }}"""
        )
    return "\n".join(blocks)
