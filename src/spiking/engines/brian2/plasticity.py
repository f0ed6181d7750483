"""Plastic projections on Brian2: NEST's ``stdp_synapse`` written as synaptic code, and the weights recorded in the program.

NEST applies a synapse's update when a presynaptic spike is delivered: first
the potentiations by the postsynaptic spikes that reached the synapse since the
previous presynaptic spike, then the depression (:mod:`spiking.model.plasticity`).
Brian2 runs the same arithmetic eagerly, in the order NEST's stamps give:

* the ``pre`` pathway runs when the spike reaches its target (Brian2's delay
  ``D - 1`` steps, before the neurons' update, as for static synapses): it
  depresses with the postsynaptic trace at ``t_pre - d``, adds the weight to
  the target's input of the step (``w_in``), and moves the presynaptic trace on;
* the ``post`` pathway runs ``2 D - 1`` steps after a postsynaptic spike, also
  before the neurons' update and before ``pre``: a postsynaptic spike meets the
  presynaptic trace at ``t_post + d`` and so potentiates before every
  presynaptic spike stamped from ``t_post + d`` on, and after every earlier one.

Each synapse keeps its traces as NEST does (the last value and when it was
last updated, never a trace decaying step by step), the postsynaptic trace of
its target's last two spikes (a spike exactly ``d`` before a presynaptic one
does not depress it), and computes every time stamp, exponential and bound
with NEST's expressions in C++ compiled without ``-ffast-math``: the weights
are the same doubles as NEST's.

NEST's weight is the one after the last presynaptic spike, ``w_seen`` here
(Brian2's ``w`` already holds the potentiations of later postsynaptic spikes).
The weights at ``t`` (after every presynaptic spike stamped up to ``t``) are
written by a function of the control group at the end of step ``t + D_max - 1``,
when every such spike has reached its synapse; a synapse that by then has
taken a later spike gives ``w_cross``, its ``w_seen`` when it first passed ``t``.
The times come from a file at run time (``$SPIKING_WEIGHT_STEPS``), so the
project compiles once per network shape; the weights go to
``$SPIKING_WEIGHTS_DIR/weights-<index>.bin``, one record per time (int64 step,
int64 n, n float64).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...model.network import Model, ProjectionSpec
from ...model.plasticity import TICS_PER_MS
from ...model.timegrid import n_steps

__all__ = [
    "SYNAPSE_MODEL",
    "synapse_spec",
    "stdp_functions",
    "dump_function",
    "max_delay_steps",
    "write_weight_steps",
    "read_weight_records",
]

#: The state of a plastic synapse (steps are NEST's stamps; ``dsteps`` is the delay).
SYNAPSE_MODEL = """w : 1
w_seen : 1
w_cross : 1
kp : 1
km_last : 1
km_prev : 1
pre_last : integer
post_last : integer
post_prev : integer
dsteps : integer (constant)"""

_COMMON = """
#ifndef SPIKING_STDP_COMMON
#define SPIKING_STDP_COMMON
#include <vector>
#include <iostream>
#include <cstdio>
#include <cstdlib>
#include <cmath>
#include <algorithm>
static inline double spiking_stamp_ms(const int64_t n) { return (1.0 / %(tpm)r) * (double)(n * %(tps)d); }
static inline double spiking_delay_ms(const int64_t d) { return (double)d * (%(tps)d / %(tpm)r); }
static const std::vector<int64_t>& spiking_weight_steps()
{
    static std::vector<int64_t> steps = []() {
        std::vector<int64_t> out;
        const char* path = std::getenv("SPIKING_WEIGHT_STEPS");
        if (path == NULL) return out;
        FILE* f = fopen(path, "rb");
        if (f == NULL) { std::cerr << "cannot open " << path << std::endl; exit(3); }
        int64_t n = 0;
        size_t ok = fread(&n, sizeof(int64_t), 1, f);
        out.resize(n);
        if (n > 0) ok += fread(&out[0], sizeof(int64_t), n, f);
        fclose(f);
        if ((int64_t)ok != 1 + n) { std::cerr << "short file " << path << std::endl; exit(3); }
        return out;
    }();
    return steps;
}
static inline int64_t spiking_boundary_below(const int64_t n)
{
    const std::vector<int64_t>& s = spiking_weight_steps();
    auto it = std::lower_bound(s.begin(), s.end(), n);
    return it == s.begin() ? -1 : *(it - 1);
}
#endif
"""

_RULE = """
#ifndef %(guard)s
#define %(guard)s
#pragma GCC push_options
#pragma GCC optimize ("no-fast-math", "fp-contract=off")
static double %(p)s_fac(const double w, const double kp, const int64_t pre_last, const int64_t step, const int64_t D,
                        const int64_t on)
{
    const int64_t n_post = step - 2 * D + 1;
    const double minus_dt = spiking_stamp_ms(pre_last) - (spiking_stamp_ms(n_post) + spiking_delay_ms(D));
    const double k = kp * std::exp(minus_dt / %(tau_plus)r);
    const double lam = on ? %(lam)r : 0.0;
    const double norm_w = (w / %(wmax)r) + (lam * std::pow(1.0 - (w / %(wmax)r), %(mu)r) * k);
    return norm_w < 1.0 ? norm_w * %(wmax)r : %(wmax)r;
}
static double %(p)s_dep(const double w, const int64_t step, const int64_t D, const double km_last,
                        const int64_t post_last, const double km_prev, const int64_t post_prev)
{
    const int64_t n = step - D + 1;
    const double t = spiking_stamp_ms(n) - spiking_delay_ms(D);
    double k = 0.0;
    if (post_last < n - D) k = km_last * std::exp((spiking_stamp_ms(post_last) - t) * %(inv_tau_minus)r);
    else if (post_prev < n - D) k = km_prev * std::exp((spiking_stamp_ms(post_prev) - t) * %(inv_tau_minus)r);
    const double lam = n > %(start_step)d ? %(lam)r : 0.0;
    const double norm_w = (w / %(wmax)r) - (%(alpha)r * lam * std::pow(w / %(wmax)r, %(mu)r) * k);
    return norm_w > 0.0 ? norm_w * %(wmax)r : 0.0;
}
static double %(p)s_pick(const double w, const double w_off, const int64_t step, const int64_t D)
{
    return step - D + 1 > %(start_step)d ? w : w_off;
}
static double %(p)s_kp(const double kp, const int64_t pre_last, const int64_t step, const int64_t D)
{
    const double t_spike = spiking_stamp_ms(step - D + 1);
    return kp * std::exp((spiking_stamp_ms(pre_last) - t_spike) / %(tau_plus)r) + 1.0;
}
static double %(p)s_km(const double km, const int64_t post_last, const int64_t step, const int64_t D)
{
    const double t_sp = spiking_stamp_ms(step - 2 * D + 1);
    const double last = post_last < 0 ? -1.0 : spiking_stamp_ms(post_last);
    return km * std::exp((last - t_sp) * %(inv_tau_minus)r) + 1.0;
}
static double %(p)s_cross(const int64_t step, const int64_t D, const int64_t pre_last, const double w_seen,
                          const double w_cross)
{
    return spiking_boundary_below(step - D + 1) >= pre_last ? w_seen : w_cross;
}
#pragma GCC pop_options
#endif
"""

#: The functions of a rule: name suffix -> argument types.
_FUNCTIONS = {
    "fac": ["float", "float", "integer", "integer", "integer", "integer"],
    "dep": ["float", "integer", "integer", "float", "integer", "float", "integer"],
    "pick": ["float", "float", "integer", "integer"],
    "kp": ["float", "integer", "integer", "integer"],
    "km": ["float", "integer", "integer", "integer"],
    "cross": ["integer", "integer", "integer", "float", "float"],
}


def _prefix(p: ProjectionSpec) -> str:
    return f"spiking_stdp{p.index:02d}"


def _common(resolution: float) -> str:
    return _COMMON % {"tps": int(round(resolution * TICS_PER_MS)), "tpm": TICS_PER_MS}


def stdp_functions(b2, p: ProjectionSpec, resolution: float) -> dict:
    """The rule of a plastic projection as Brian2 ``Function`` objects with C++ bodies: name -> Function."""
    r = p.plasticity
    values = {
        "p": _prefix(p),
        "guard": _prefix(p).upper(),
        "tau_plus": float(r.tau_plus),
        "inv_tau_minus": 1.0 / float(r.tau_minus),
        "lam": float(r.a_plus),
        "alpha": float(r.alpha),
        "mu": float(r.mu),
        "wmax": float(r.w_max),
        "start_step": n_steps(r.start, resolution),
    }
    code = _common(resolution) + _RULE % values
    out = {}
    for suffix, types in _FUNCTIONS.items():
        name = f"{_prefix(p)}_{suffix}"
        f = b2.Function(
            lambda *args: 0.0,
            arg_units=[1] * len(types),
            return_unit=1,
            arg_types=types,
            return_type="float",
            stateless=False,
        )
        f.implementations.add_implementation("cpp", code=code, name=name)
        out[name] = f
    return out


def synapse_spec(p: ProjectionSpec) -> dict:
    """Keyword arguments of ``Synapses`` for a plastic projection (model and the two pathways' code).

    A rule with a later ``start`` keeps a second weight, ``w_off``: the
    synapse's weight should its next presynaptic spike be stamped up to
    ``start`` (potentiations with ``a_plus`` 0, NEST's arithmetic only), where
    ``w`` is the weight should it come later; that spike takes the one its
    stamp calls for, so both engines agree with ``lambda`` switched on at ``start``.
    """
    f = _prefix(p)
    late = p.plasticity.start > 0
    pre = [f"w_cross = {f}_cross(t_in_timesteps, dsteps, pre_last, w_seen, w_cross)"]
    if late:
        pre.append(f"w = {f}_pick(w, w_off, t_in_timesteps, dsteps)")
    pre += [
        f"w = {f}_dep(w, t_in_timesteps, dsteps, km_last, post_last, km_prev, post_prev)",
        "w_in_post += w",
        f"kp = {f}_kp(kp, pre_last, t_in_timesteps, dsteps)",
        "pre_last = t_in_timesteps - dsteps + 1",
        "w_seen = w",
    ]
    post = [f"w = {f}_fac(w, kp, pre_last, t_in_timesteps, dsteps, 1)"]
    if late:
        pre.append("w_off = w")
        post.append(f"w_off = {f}_fac(w_off, kp, pre_last, t_in_timesteps, dsteps, 0)")
    post += [
        "km_prev = km_last",
        "post_prev = post_last",
        f"km_last = {f}_km(km_last, post_last, t_in_timesteps, dsteps)",
        "post_last = t_in_timesteps - 2 * dsteps + 1",
    ]
    model = SYNAPSE_MODEL + ("\nw_off : 1" if late else "")
    return {"model": model, "on_pre": "\n".join(pre), "on_post": "\n".join(post)}


def max_delay_steps(p: ProjectionSpec, resolution: float) -> int:
    """The longest delay of a projection in steps (the model's, as the weights' schedule needs it)."""
    return max(1, n_steps(p.max_delay, resolution))


def dump_function(b2, device, model: Model, synapses: dict):
    """The control group's function that writes the plastic weights at each recorded time (see the module)."""
    blocks = []
    for p in model.plastic:
        s = synapses[p.name]
        arrays = {
            v: device.get_array_name(s.variables[v], access_data=False) for v in ("w_seen", "w_cross", "pre_last")
        }
        k = f"_k{p.index:02d}"
        blocks.append(
            f"""
    static size_t {k} = 0;
    while ({k} < steps.size() && steps[{k}] + {max_delay_steps(p, model.resolution) - 1} <= step) {{
        if (steps[{k}] + {max_delay_steps(p, model.resolution) - 1} == step) {{
            const int64_t x = steps[{k}];
            const int64_t n = (int64_t)brian::{arrays["w_seen"]}.size();
            std::vector<double> out(n);
            for (int64_t i = 0; i < n; i++)
                out[i] = brian::{arrays["pre_last"]}[i] > x ? brian::{arrays["w_cross"]}[i] : brian::{arrays["w_seen"]}[i];
            std::string path = std::string(dir) + "/weights-{p.index:02d}.bin";
            FILE* f = fopen(path.c_str(), "ab");
            if (f == NULL) {{ std::cerr << "cannot write " << path << std::endl; exit(3); }}
            fwrite(&x, sizeof(int64_t), 1, f);
            fwrite(&n, sizeof(int64_t), 1, f);
            if (n > 0) fwrite(&out[0], sizeof(double), n, f);
            fclose(f);
        }}
        {k}++;
    }}"""
        )
    code = (
        _common(model.resolution)
        + """
#ifndef SPIKING_WEIGHTS_DUMP
#define SPIKING_WEIGHTS_DUMP
#include <string>
static double spiking_weights_dump(const int64_t step)
{
    const std::vector<int64_t>& steps = spiking_weight_steps();
    const char* dir = std::getenv("SPIKING_WEIGHTS_DIR");
    if (dir == NULL) return 0.0;"""
        + "".join(blocks)
        + "\n    return 0.0;\n}\n#endif\n"
    )
    f = b2.Function(
        lambda step: 0.0, arg_units=[1], return_unit=1, arg_types=["integer"], return_type="float", stateless=False
    )
    f.implementations.add_implementation(
        "cpp", code=code, name="spiking_weights_dump", compiler_kwds={"headers": ['"objects.h"']}
    )
    return f


def write_weight_steps(path: Path, model: Model) -> None:
    """The steps at which the program records the weights (the model's ``weight_times``), for ``$SPIKING_WEIGHT_STEPS``."""
    steps = np.array([n_steps(t, model.resolution) for t in model.weight_times], dtype=np.int64)
    with open(path, "wb") as fh:
        np.array([steps.size], dtype=np.int64).tofile(fh)
        steps.tofile(fh)


def read_weight_records(path: Path):
    """Yield ``(step, weights)`` from a file the program wrote, one record in memory at a time.

    A record cut short (a program killed while writing) ends the file.
    """
    path = Path(path)
    if not path.is_file():
        return
    size = path.stat().st_size
    offset = 0
    with open(path, "rb") as fh:
        while offset + 16 <= size:
            head = np.fromfile(fh, dtype=np.int64, count=2)
            n = int(head[1])
            if offset + 16 + 8 * n > size:
                return
            yield int(head[0]), np.fromfile(fh, dtype=np.float64, count=n)
            offset += 16 + 8 * n
