"""Connections read from the model's network folder when the compiled program starts (``network.wiring = "model"``).

The network folder (:mod:`spiking.io.networkfile`) holds each projection's
sources grouped by target; the folder is named by ``$SPIKING_NETWORK`` at
run time, so a new seed or another network of the same shape runs without
compiling. Brian2 makes the synapses with its generator syntax,
``j = tgt(k) for k in range(lo(i), hi(i))``, over three C++ functions that
read the folder on their first call and turn it around (a counting sort, so
the synapses come by source, then by target, as Brian2 creates them); the
last call frees the copy, so the program holds at most two arrays of four
bytes an edge of one projection beyond its synapses. Delays that depend on distance (and the delays in
steps of plastic synapses) are filled in right after, by code in the
program's ``main`` that reads the delays and sorts them the same way.
"""

from __future__ import annotations

__all__ = ["connect_functions", "connect_generator", "fill_code", "release_code", "reserve_code", "ENV", "KEEP_ENV"]

#: The environment variable that names the network folder.
ENV = "SPIKING_NETWORK"
#: Set (to anything) to have the program write the synapses of static projections at the end (:func:`release_code`).
KEEP_ENV = "SPIKING_KEEP_SYNAPSES"

_READER = r"""
#ifndef SPIKING_NETWORK_READER
#define SPIKING_NETWORK_READER
#include <vector>
#include <string>
#include <cstdio>
#include <cstdlib>
#include <cstdint>
#include <iostream>
template <typename T>
static std::vector<T> spiking_read_array(const int index, const char* kind)
{
    const char* dir = std::getenv("SPIKING_NETWORK");
    if (dir == NULL) { std::cerr << "SPIKING_NETWORK is not set" << std::endl; exit(3); }
    char name[32];
    snprintf(name, sizeof(name), "/%02d.%s", index, kind);
    const std::string path = std::string(dir) + name;
    FILE* f = fopen(path.c_str(), "rb");
    if (f == NULL) { std::cerr << "cannot open " << path << std::endl; exit(3); }
    fseek(f, 0, SEEK_END);
    const long bytes = ftell(f);
    fseek(f, 0, SEEK_SET);
    std::vector<T> out(bytes / sizeof(T));
    if (!out.empty() && fread(&out[0], sizeof(T), out.size(), f) != out.size())
    { std::cerr << "short file " << path << std::endl; exit(3); }
    fclose(f);
    return out;
}
#endif
"""

_PROJECTION = r"""
#ifndef SPIKING_NETWORK_%(nn)s
#define SPIKING_NETWORK_%(nn)s
static std::vector<int64_t> spiking_first_%(nn)s;
static std::vector<int32_t> spiking_targets_%(nn)s;
static bool spiking_loaded_%(nn)s = false;
static void spiking_load_%(nn)s()
{
    spiking_loaded_%(nn)s = true;
    const std::vector<int64_t> offsets = spiking_read_array<int64_t>(%(index)d, "offsets");
    const std::vector<int32_t> sources = spiking_read_array<int32_t>(%(index)d, "sources");
    if ((int64_t)offsets.size() != %(n_targets)d + 1 || offsets.back() != (int64_t)sources.size())
    { std::cerr << "network projection %(nn)s does not fit this program" << std::endl; exit(3); }
    // grouped by target -> grouped by source (a counting sort; targets stay ascending within a source)
    std::vector<int64_t>& first = spiking_first_%(nn)s;
    first.assign(%(n_sources)d + 1, 0);
    for (size_t k = 0; k < sources.size(); k++) first[sources[k] + 1]++;
    for (int64_t s = 0; s < %(n_sources)d; s++) first[s + 1] += first[s];
    std::vector<int64_t> at(first.begin(), first.end() - 1);
    spiking_targets_%(nn)s.resize(sources.size());
    for (int64_t t = 0; t < %(n_targets)d; t++)
        for (int64_t k = offsets[t]; k < offsets[t + 1]; k++) spiking_targets_%(nn)s[at[sources[k]]++] = (int32_t)t;
}
static inline int64_t spiking_lo_%(nn)s(const int64_t i)
{
    if (!spiking_loaded_%(nn)s) spiking_load_%(nn)s();
    return spiking_first_%(nn)s[i];
}
static inline int64_t spiking_hi_%(nn)s(const int64_t i)
{
    if (!spiking_loaded_%(nn)s) spiking_load_%(nn)s();
    return spiking_first_%(nn)s[i + 1];
}
static inline int64_t spiking_tgt_%(nn)s(const int64_t k)
{
    const int64_t out = spiking_targets_%(nn)s[k];
    if (k + 1 == (int64_t)spiking_targets_%(nn)s.size()) std::vector<int32_t>().swap(spiking_targets_%(nn)s);
    return out;
}
#endif
"""


def _nn(index: int) -> str:
    return f"{index:02d}"


def connect_functions(b2, index: int, n_sources: int, n_targets: int) -> dict:
    """The three functions of projection ``index``'s generator (:func:`connect_generator`): name -> Function."""
    values = {"nn": _nn(index), "index": index, "n_sources": n_sources, "n_targets": n_targets}
    code = _READER + _PROJECTION % values
    out = {}
    for kind in ("lo", "hi", "tgt"):
        name = f"spiking_{kind}_{_nn(index)}"
        f = b2.Function(
            lambda x: 0,
            arg_units=[1],
            return_unit=1,
            arg_types=["integer"],
            return_type="integer",
            stateless=True,
        )
        f.implementations.add_implementation("cpp", code=code, name=name)
        out[name] = f
    return out


def connect_generator(index: int) -> str:
    """Brian2's generator syntax that makes projection ``index``'s synapses from the folder (``j = ...``)."""
    nn = _nn(index)
    return f"spiking_tgt_{nn}(k) for k in range(spiking_lo_{nn}(i), spiking_hi_{nn}(i))"


def fill_code(index: int, n_sources: int, array: str, value: str, ctype: str, dt_array: str) -> str:
    """C++ for ``main``: set a per-synapse array from projection ``index``'s delays in steps, in Brian2's order.

    ``array`` is the program's name of the synaptic variable (a ``std::vector``
    in namespace ``brian``), ``value`` a C++ expression of ``steps`` (the
    delay in steps) and ``dt`` (the clock's step, s, from ``dt_array``), ``ctype`` its type.
    The code is one block of statements (it runs inside ``main``).
    """
    return f"""
{{
    // projection {_nn(index)}: per-synapse delays from the network folder, by source then target
    const char* _dir = std::getenv("SPIKING_NETWORK");
    if (_dir == NULL) {{ std::cerr << "SPIKING_NETWORK is not set" << std::endl; exit(3); }}
    auto _read = [&](const char* kind, size_t width) {{
        const std::string path = std::string(_dir) + "/{_nn(index)}." + kind;
        FILE* f = fopen(path.c_str(), "rb");
        if (f == NULL) {{ std::cerr << "cannot open " << path << std::endl; exit(3); }}
        fseek(f, 0, SEEK_END);
        const long bytes = ftell(f);
        fseek(f, 0, SEEK_SET);
        std::vector<char> out(bytes);
        if (bytes > 0 && fread(&out[0], 1, bytes, f) != (size_t)bytes) {{ std::cerr << "short file " << path << std::endl; exit(3); }}
        fclose(f);
        if (bytes % width != 0) {{ std::cerr << "bad file " << path << std::endl; exit(3); }}
        return out;
    }};
    const std::vector<char> _o = _read("offsets", 8), _s = _read("sources", 4), _d = _read("delays", 4);
    const int64_t* offsets = reinterpret_cast<const int64_t*>(_o.data());
    const int32_t* sources = reinterpret_cast<const int32_t*>(_s.data());
    const int32_t* delays = reinterpret_cast<const int32_t*>(_d.data());
    const size_t n = _s.size() / 4;
    if (_d.size() / 4 != n || brian::{array}.size() != n || (size_t)offsets[_o.size() / 8 - 1] != n)
    {{ std::cerr << "network projection {_nn(index)}: delays do not fit its synapses" << std::endl; exit(3); }}
    std::vector<int64_t> first({n_sources} + 1, 0);
    for (size_t k = 0; k < n; k++) first[sources[k] + 1]++;
    for (int64_t s = 0; s < {n_sources}; s++) first[s + 1] += first[s];
    const double dt = brian::{dt_array}[0];
    for (size_t k = 0; k < n; k++)
    {{
        const int64_t steps = delays[k];
        brian::{array}[first[sources[k]]++] = ({ctype})({value});
    }}
}}
"""


def reserve_code(index: int, arrays: list[str]) -> str:
    """C++ for ``main`` before projection ``index`` connects: room for its edges in ``arrays`` at once (no doubling)."""
    grow = "\n".join(f"        brian::{a}.reserve(brian::{a}.size() + (size_t)(_bytes / 4));" for a in arrays)
    return f"""
{{
    const char* _dir = std::getenv("SPIKING_NETWORK");
    if (_dir != NULL) {{
        const std::string path = std::string(_dir) + "/{_nn(index)}.sources";
        FILE* f = fopen(path.c_str(), "rb");
        long _bytes = 0;
        if (f != NULL) {{ fseek(f, 0, SEEK_END); _bytes = ftell(f); fclose(f); }}
{grow}
    }}
}}
"""


def release_code(arrays: list[str]) -> str:
    """C++ run after the network: let the per-synapse ``arrays`` go, unless ``$SPIKING_KEEP_SYNAPSES`` is set."""
    clear = "\n".join(f"        std::vector<{t}>().swap(brian::{a});" for a, t in arrays)
    return f"""
if (std::getenv("{KEEP_ENV}") == NULL) {{
{clear}
}}
"""
