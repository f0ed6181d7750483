"""The NEST 3 engine: every ``nest`` call of a run lives here."""

from __future__ import annotations

import importlib
import os

import numpy as np

from ...errors import EngineUnavailableError
from ...model.cells import IzhikevichParams
from ...model.network import LayerSpec, Model, ProjectionSpec
from ..base import Engine

__all__ = ["NestEngine", "import_nest", "nest_capabilities"]

_NEST_MODELS = {"poisson": "poisson_generator", "relay": "parrot_neuron", "izhikevich": "izhikevich"}
#: The model's Izhikevich parameter names -> NEST's ``izhikevich`` names.
IZHIKEVICH_NAMES = {
    "a": "a",
    "b": "b",
    "c": "c",
    "d": "d",
    "v_peak": "V_th",
    "v_init": "V_m",
    "u_init": "U_m",
    "i_offset": "I_e",
}


def izhikevich_params(cell: IzhikevichParams) -> dict:
    """NEST ``izhikevich`` parameters of a cell, with NEST's forward-Euler numerics (``consistent_integration``)."""
    out = {nest_name: float(getattr(cell, name)) for name, nest_name in IZHIKEVICH_NAMES.items()}
    out["consistent_integration"] = True
    return out


def import_nest(quiet: bool = True):
    """Import NEST quietly, or raise :class:`EngineUnavailableError` with how to install it."""
    if quiet:
        os.environ.setdefault("PYNEST_QUIET", "1")
    try:
        nest = importlib.import_module("nest")
    except Exception as err:  # ImportError, or a broken installation raising anything
        raise EngineUnavailableError(
            f"NEST cannot be imported ({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}); "
            "install it with `pip install nest-simulator` (or `make install`)"
        ) from None
    try:
        nest.verbosity = nest.VerbosityLevel.ERROR
    except AttributeError:  # older NEST 3
        nest.set_verbosity("M_ERROR")
    return nest


def nest_capabilities() -> dict:
    """What the installed NEST supports: version, threads, MPI, HDF5."""
    nest = import_nest()
    bi = nest.build_info
    return {
        "version": bi.get("version", ""),
        "threads": bool(bi.get("have_threads")),
        "mpi": bool(bi.get("have_mpi")),
        "hdf5": bool(bi.get("have_hdf5")),
        "gsl": bool(bi.get("have_gsl")),
    }


def nest_has_mpi() -> bool | None:
    """Whether the installed NEST was built with MPI, found without importing it.

    Importing a NEST without MPI under an MPI launcher aborts the process, so
    the check reads NEST's installed ``config.h`` (or, failing that, looks for
    ``libmpi`` in its compiled kernel). ``None`` when NEST is not installed.
    """
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("nest")
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(list(spec.submodule_search_locations)[0])
    for header in root.glob("include/nest/config.h"):
        text = header.read_text(errors="replace")
        if "#define HAVE_MPI" in text:
            return True
        if "HAVE_MPI" in text:
            return False
    for lib in list(root.glob("*.so")) + list(root.glob("lib/*.so*")):
        try:
            if b"libmpi" in lib.read_bytes():
                return True
        except OSError:
            continue
    return False


class NestEngine(Engine):
    """Builds and runs a :class:`~spiking.model.Model` on the NEST kernel."""

    name = "nest"

    def __init__(self):
        self.nest = import_nest()
        self.model: Model | None = None
        self.nodes: dict = {}
        self.first_id: dict[str, int] = {}
        self.recorders: dict = {}
        self._prepared = False

    # -- set-up -------------------------------------------------------------
    def setup(self, model: Model, threads: int) -> None:
        nest = self.nest
        nest.ResetKernel()
        try:
            nest.verbosity = nest.VerbosityLevel.ERROR
        except AttributeError:
            nest.set_verbosity("M_ERROR")
        nest.set(
            resolution=model.resolution, local_num_threads=int(threads), rng_seed=int(model.seed), print_time=False
        )
        self.model = model
        self.nodes, self.first_id, self.recorders = {}, {}, {}
        self._prepared = False

    def _create(self, layer: LayerSpec):
        nest = self.nest
        positions = nest.spatial.grid(
            shape=[layer.side, layer.side], extent=[layer.extent, layer.extent], center=[0.0, 0.0]
        )
        params = None
        if layer.kind == "izhikevich":
            params = izhikevich_params(layer.cell)
        nodes = nest.Create(_NEST_MODELS[layer.kind], params=params, positions=positions)
        return nodes

    def build(self) -> dict[str, int]:
        nest = self.nest
        counts = {}
        for name, layer in self.model.layers.items():
            nodes = self._create(layer)
            self.nodes[name] = nodes
            ids = nodes.tolist()
            self.first_id[name] = int(ids[0])
            assert ids[-1] - ids[0] + 1 == len(ids) == layer.size
            counts[name] = len(nodes)
        for name in self.model.recorded:
            sr = nest.Create("spike_recorder", params={"record_to": "memory"})
            nest.Connect(self.nodes[name], sr)
            self.recorders[name] = sr
        return counts

    # -- projections ---------------------------------------------------------
    def _conn_specs(self, p: ProjectionSpec):
        nest = self.nest
        if p.mask == "one_to_one":
            src, tgt = self.model.layers[p.source], self.model.layers[p.target]
            if src.side != tgt.side:
                raise ValueError(f"projection {p.name}: one_to_one needs layers of equal size")
            conn = {"rule": "one_to_one"}
            syn = {"synapse_model": "static_synapse", "weight": p.weight, "delay": p.delay}
            return conn, syn
        d = nest.spatial.distance
        if p.kernel == "gaussian":
            prob = p.p_center * nest.spatial_distributions.gaussian(d, std=p.sigma)
        else:
            prob = p.p_center
        # NEST 3's pairwise_bernoulli with use_on_source is NEST 2's "convergent":
        # mask and kernel are centred on each target
        conn = {
            "rule": "pairwise_bernoulli",
            "p": prob,
            "mask": {"circular": {"radius": p.radius}},
            "use_on_source": True,
            "allow_autapses": p.allow_autapses,
        }
        delay = p.delay + p.delay_per_unit * d if p.delay_per_unit > 0 else p.delay
        syn = {"synapse_model": "static_synapse", "weight": p.weight, "delay": delay}
        return conn, syn

    def connect(self) -> dict[str, int]:
        nest = self.nest
        counts = {}
        for p in self.model.projections:
            before = nest.num_connections
            conn, syn = self._conn_specs(p)
            nest.Connect(self.nodes[p.source], self.nodes[p.target], conn, syn)
            counts[p.name] = int(nest.num_connections - before)
        return counts

    def _layer_of(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Layer number (index into self.nodes, -1 for none) and layer-local index of NEST ids."""
        names = list(self.nodes)
        starts = np.array([self.first_id[n] for n in names])
        sizes = np.array([len(self.nodes[n]) for n in names])
        order = np.argsort(starts)
        pos = np.searchsorted(starts[order], ids, side="right") - 1
        layer = order[np.clip(pos, 0, None)]
        local = ids - starts[layer]
        ok = (pos >= 0) & (local < sizes[layer])
        return np.where(ok, layer, -1), local

    def incoming(self, target: str, targets: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        names = list(self.nodes)
        idx = sorted(int(i) for i in np.unique(targets))
        if not idx:
            return {}
        conns = self.nest.GetConnections(target=self.nodes[target][idx])
        if not len(conns):
            return {}
        st = conns.get(["source", "target"])
        src = np.asarray(st["source"], dtype=np.int64).ravel()
        tgt = np.asarray(st["target"], dtype=np.int64).ravel() - self.first_id[target]
        layer, local = self._layer_of(src)
        return {names[k]: (local[layer == k], tgt[layer == k]) for k in np.unique(layer[layer >= 0])}

    def outgoing(self, source: str, node: int) -> dict[str, np.ndarray]:
        names = list(self.nodes)
        conns = self.nest.GetConnections(source=self.nodes[source][int(node)])
        if not len(conns):
            return {}
        tgt = np.asarray(conns.get("target"), dtype=np.int64).ravel()
        layer, local = self._layer_of(tgt)
        return {names[k]: local[layer == k] for k in np.unique(layer[layer >= 0])}

    # -- simulation ----------------------------------------------------------
    def apply_epoch(self, rates: dict[str, np.ndarray]) -> None:
        nest = self.nest
        if self._prepared:
            # a poisson_generator ignores a rate set between Run calls of one Prepare
            nest.Cleanup()
            self._prepared = False
        for name, r in rates.items():
            self.nodes[name].set(rate=np.asarray(r, dtype=float).tolist())
        nest.Prepare()
        self._prepared = True

    def advance(self, ms: float) -> None:
        if not self._prepared:
            self.nest.Prepare()
            self._prepared = True
        self.nest.Run(ms)

    def collect(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        # recorders can only be cleared outside Prepare/Cleanup; the next advance prepares again
        self.finish()
        out = {}
        for name, sr in self.recorders.items():
            ev = sr.get("events")
            senders = np.asarray(ev["senders"], dtype=np.int64)
            times = np.asarray(ev["times"], dtype=np.float64)
            sr.set(n_events=0)
            out[name] = (senders - self.first_id[name], times)
        return out

    def finish(self) -> None:
        if self._prepared:
            self.nest.Cleanup()
            self._prepared = False

    def info(self) -> dict:
        nest = self.nest
        bi = dict(nest.build_info)
        keep = (
            "version",
            "built",
            "have_mpi",
            "have_threads",
            "have_gsl",
            "have_hdf5",
            "have_boost",
            "threads_model",
            "host",
        )
        return {
            "engine": "nest",
            "version": bi.get("version", ""),
            "build_info": {k: bi.get(k) for k in keep},
            "threads": int(nest.local_num_threads),
            "processes": int(nest.NumProcesses()),
            "rank": int(nest.Rank()),
            "virtual_processes": int(nest.total_num_virtual_procs),
        }


ENGINE = NestEngine
