"""The NEST 3 engine: builds and runs a model on the NEST kernel, with threads and MPI.

Every ``nest`` call of a pathway run lives here. Node positions and order come
from the model's layers (NEST free layers with the model's positions), neuron
parameters are translated from the model's names in :data:`IZHIKEVICH_NAMES`,
and the retina's input is either Poisson generators relayed by parrot neurons
or ``spike_train_injector`` nodes replaying the pre-drawn trains.

A plastic projection is a copy of ``stdp_synapse_hom`` of its own
(:data:`STDP_MODEL`; the same rule as ``stdp_synapse`` with the parameters
held once per model), whose parameters translate the model's
:class:`~spiking.model.plasticity.STDPRule` (:func:`stdp_params`); the target
layer's neurons get the rule's ``tau_minus``. A rule that starts later
(``start > 0``) runs with ``lambda`` 0 until the weights at ``start`` have
been read, then with its own (one ``SetDefaults``). Its weights are read with
``GetConnections(synapse_model=...)``; NEST applies a spike's update when it
delivers the spike, at the start of the next communication interval, so the
kernel's ``min_delay`` is lowered where needed for every time the weights are
recorded to start one (:meth:`NestEngine.setup`).
"""

from __future__ import annotations

import math

import numpy as np

from ...machine import release_free_memory
from ...model.network import LayerSpec, Model, ProjectionSpec
from ...model.timegrid import n_steps
from ..base import Edges, Engine, Spikes
from .install import import_nest
from .names import IZHIKEVICH_NAMES, NEST_MODELS, STDP_MODEL, izhikevich_params, stdp_params

__all__ = [
    "NestEngine",
    "ENGINE",
    "IZHIKEVICH_NAMES",
    "izhikevich_params",
    "NEST_MODELS",
    "EDGE_SLICE",
    "STDP_MODEL",
    "stdp_params",
]

#: Edges handed to ``nest.Connect`` at a time (bounds the arrays made for it: about 40 bytes an edge).
CONNECT_SLICE = 1 << 22
#: Connections whose status is read from NEST at a time by :meth:`NestEngine.edges` (bounds Python's lists).
EDGE_SLICE = 1 << 18
#: Plastic connections whose weights are read at once: NEST makes a status dictionary of about
#: 3 kB for each (measured on 4 million), so a slice takes about 50 MB while it is read.
WEIGHT_SLICE = 1 << 14


def _sliced(conns, keys: tuple, dtypes: tuple) -> list[np.ndarray]:
    """``conns.get(keys)`` read :data:`WEIGHT_SLICE` connections at a time, one 1-D array per key."""
    parts: list[list] = [[] for _ in keys]
    for a in range(0, len(conns), WEIGHT_SLICE):
        d = conns[a : a + WEIGHT_SLICE].get(list(keys))
        for part, key, dtype in zip(parts, keys, dtypes):
            part.append(np.atleast_1d(np.asarray(d[key], dtype=dtype)).ravel())
    return [np.concatenate(part) if part else np.zeros(0, dtype) for part, dtype in zip(parts, dtypes)]


class NestEngine(Engine):
    """Builds and runs a :class:`~spiking.model.network.Model` on the NEST kernel."""

    name = "nest"
    #: Setting spike times costs about 12 us per node, so trains go over a second at a time.
    feed_window = 1000.0

    def __init__(self):
        self.nest = import_nest()
        self.model: Model | None = None
        self.nodes: dict = {}
        self.first_id: dict[str, int] = {}
        self.local: dict = {}
        self.recorders: dict = {}
        self._edge_cache: dict[str, Edges] = {}
        self._prepared = False
        self._plastic: dict = {}
        self.weights_s = 0.0

    # -- set-up -------------------------------------------------------------
    def setup(self, model: Model, threads: int) -> None:
        nest = self.nest
        nest.ResetKernel()
        nest.verbosity = nest.VerbosityLevel.ERROR
        nest.set(
            resolution=model.resolution, local_num_threads=int(threads), rng_seed=int(model.seed), print_time=False
        )
        self.model = model
        self.nodes, self.first_id, self.local, self.recorders = {}, {}, {}, {}
        self._edge_cache = {}
        self._prepared = False
        self._plastic = {}
        self.weights_s = 0.0
        self._align_min_delay()

    def _align_min_delay(self) -> None:
        """Lower the kernel's ``min_delay`` so that every time the weights are recorded starts an interval.

        Only when the shortest delay does not divide those times already (the
        default model's 1 ms delays and 250 ms epochs need nothing).
        """
        model, h = self.model, self.model.resolution
        if not (model.plastic and model.connect and model.projections):
            return
        shortest = min(n_steps(p.delay, h) for p in model.projections)
        steps = math.gcd(shortest, *(n_steps(t, h) for t in model.weight_times))
        if steps < shortest:
            longest = max(n_steps(p.max_delay, h) for p in model.projections) + 1
            self.nest.set(min_delay=steps * h, max_delay=longest * h)

    def _create(self, layer: LayerSpec):
        nest = self.nest
        params = None
        if layer.kind == "izhikevich":
            params = izhikevich_params(layer.cell)
            rules = [p.plasticity for p in self.model.plastic if p.target == layer.name]
            if rules:  # the postsynaptic trace's time constant belongs to the neuron in NEST
                params["tau_minus"] = float(rules[0].tau_minus)
        if self.model.wiring == "model":  # connected from arrays: positions stay in the model
            return nest.Create(NEST_MODELS[layer.kind], layer.size, params=params)
        positions = nest.spatial.free(layer.positions().tolist(), extent=[layer.extent, layer.extent])
        return nest.Create(NEST_MODELS[layer.kind], params=params, positions=positions)

    def build(self) -> dict[str, int]:
        nest = self.nest
        counts = {}
        for name, layer in self.model.layers.items():
            nodes = self._create(layer)
            self.nodes[name] = nodes
            first, last = int(nodes[0].global_id), int(nodes[-1].global_id)
            self.first_id[name] = first
            if not last - first + 1 == len(nodes) == layer.size:
                raise RuntimeError(f"NEST created layer {name} with ids that are not contiguous")
            counts[name] = len(nodes)
            if layer.kind == "trains":
                self.local[name] = self._local(nodes)
        for name in self.model.simulated_recorded:
            sr = nest.Create("spike_recorder", params={"record_to": "memory"})
            nest.Connect(self.nodes[name], sr)
            self.recorders[name] = sr
        return counts

    def _local(self, nodes):
        """The nodes of a collection that live on this process, and their indices in the layer."""
        if self.nest.NumProcesses() == 1:  # every node is local (reading the flags costs about 10 us a node)
            return nodes, np.arange(len(nodes), dtype=np.int64)
        flags = np.atleast_1d(np.asarray(nodes.get("local"), dtype=bool))
        index = np.nonzero(flags)[0]
        if index.size == 0:
            return None, index.astype(np.int64)
        local = nodes if flags.all() else nodes[index.tolist()]
        return local, index.astype(np.int64)

    # -- projections ---------------------------------------------------------
    def _synapse_model(self, p: ProjectionSpec) -> str:
        """``static_synapse``, or the projection's own copy of ``stdp_synapse_hom`` (made on first use)."""
        if p.plasticity is None:
            return "static_synapse"
        name = STDP_MODEL.format(p.index)
        if name not in self._plastic:
            # the copy's default weight must already have the sign of Wmax (NEST checks both when either is set)
            params = stdp_params(p.plasticity, learning=p.plasticity.start <= 0)
            self.nest.CopyModel("stdp_synapse_hom", name, {**params, "weight": float(p.weight)})
            self._plastic[name] = None
        return name

    def weights_passed(self, t: float) -> None:
        """Switch on the rules that start at ``t``: every spike stamped up to ``t`` has been delivered."""
        h = self.model.resolution
        for p in self.model.plastic:
            start = p.plasticity.start
            if start > 0 and n_steps(start, h) == n_steps(t, h):
                self.nest.SetDefaults(STDP_MODEL.format(p.index), {"lambda": float(p.plasticity.a_plus)})

    def _conn_specs(self, p: ProjectionSpec):
        nest = self.nest
        if p.mask == "one_to_one":
            src, tgt = self.model.layers[p.source], self.model.layers[p.target]
            if src.side != tgt.side:
                raise ValueError(f"projection {p.name}: one_to_one needs layers of equal size")
            conn = {"rule": "one_to_one"}
            syn = {"synapse_model": self._synapse_model(p), "weight": p.weight, "delay": p.delay}
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
            "mask": {"circular": {"radius": p.mask_radius}},
            "use_on_source": True,
            "allow_autapses": p.allow_autapses,
        }
        delay = p.delay + p.delay_per_unit * d if p.delay_per_unit > 0 else p.delay
        syn = {"synapse_model": self._synapse_model(p), "weight": p.weight, "delay": delay}
        return conn, syn

    def connect(self, network=None) -> dict[str, int]:
        """Create every projection: the model's drawn edges from ``network`` (a network folder), or NEST's own sampling.

        Returns the synapses made on this process per projection.
        """
        if self.model.wiring == "model":
            if network is None:
                raise ValueError("the model's wiring needs the drawn network (a network folder)")
            counts = {p.name: self._connect_arrays(p, network.edges(p)) for p in self.model.projections}
        else:
            counts = {}
            for p in self.model.projections:
                before = self.nest.num_connections
                conn, syn = self._conn_specs(p)
                self.nest.Connect(self.nodes[p.source], self.nodes[p.target], conn, syn)
                counts[p.name] = int(self.nest.num_connections - before)
        self._counts = counts
        return counts

    def _local_targets(self, layer: str) -> np.ndarray | None:
        """Which nodes of a layer live on this process (None: all, the case without MPI)."""
        if self.nest.NumProcesses() == 1:
            return None
        return np.atleast_1d(np.asarray(self.nodes[layer].get("local"), dtype=bool))

    def _connect_arrays(self, p: ProjectionSpec, e) -> int:
        """One projection from its drawn edges: ``nest.Connect`` of id arrays, one to one, :data:`CONNECT_SLICE` at a time.

        Each process passes only the edges into its own targets. Returns the
        synapses made here, checked against the edges passed.
        """
        nest, h = self.nest, self.model.resolution
        model = self._synapse_model(p)
        first_s, first_t = self.first_id[p.source], self.first_id[p.target]
        local = self._local_targets(p.target)
        offsets = np.asarray(e.offsets)
        before, passed = nest.num_connections, 0
        t0 = 0
        while t0 < e.n_targets:
            # targets t0..t1 - 1: at most CONNECT_SLICE edges (or one target's, if it has more)
            t1 = max(t0 + 1, int(np.searchsorted(offsets, offsets[t0] + CONNECT_SLICE, side="right")) - 1)
            t1 = min(t1, e.n_targets)
            a, b = int(offsets[t0]), int(offsets[t1])
            if b > a:
                targets = np.repeat(np.arange(t0, t1, dtype=np.int64), np.diff(offsets[t0 : t1 + 1]))
                sources = np.asarray(e.sources[a:b], dtype=np.int64)
                if e.delay_is_constant:
                    steps = np.full(b - a, int(e.delay_steps), dtype=np.int64)
                else:
                    steps = np.asarray(e.delay_steps[a:b], dtype=np.int64)
                if local is not None:
                    keep = local[targets]
                    targets, sources, steps = targets[keep], sources[keep], steps[keep]
                if targets.size:
                    nest.Connect(
                        sources + first_s,
                        targets + first_t,
                        {"rule": "one_to_one"},
                        {"synapse_model": model, "weight": np.full(targets.size, float(p.weight)), "delay": steps * h},
                    )
                    passed += int(targets.size)
            t0 = t1
        made = int(nest.num_connections - before)
        if made != passed:
            raise RuntimeError(f"NEST made {made} synapses of {p.name} where {passed} edges were passed")
        return made

    def synapse_counts(self) -> dict[str, int]:
        return dict(self._counts)

    def edges(self, projection: str) -> Edges:
        """This process's connections of one projection.

        NEST 3.10's ``GetConnections`` with both a source and a target filter
        takes minutes for a projection of 10^5 connections, with a source
        filter alone a fraction of a second; reading a connection's status
        costs about 10 us whatever is asked. So the connections of the
        projection's source layer are read once, :data:`EDGE_SLICE` at a time,
        and split by target layer: the other projections from that source wait
        in memory (numpy arrays, 32 bytes per edge) until they are asked for.
        """
        if projection in self._edge_cache:
            return self._edge_cache.pop(projection)
        p = next(q for q in self.model.projections if q.name == projection)
        # projections are told apart by their layers (the model has one per pair of layers)
        siblings = [q for q in self.model.projections if q.source == p.source]
        parts: dict[str, list] = {q.name: [] for q in siblings}
        conns = self.nest.GetConnections(source=self.nodes[p.source])
        for a in range(0, len(conns), EDGE_SLICE):
            d = conns[a : a + EDGE_SLICE].get(["source", "target", "weight", "delay"])
            src = np.asarray(d["source"], dtype=np.int64).ravel()
            tgt = np.asarray(d["target"], dtype=np.int64).ravel()
            w = np.asarray(d["weight"], dtype=np.float64).ravel()
            dl = np.asarray(d["delay"], dtype=np.float64).ravel()
            for q in siblings:
                first = self.first_id[q.target]
                keep = (tgt >= first) & (tgt < first + len(self.nodes[q.target]))
                parts[q.name].append((src[keep], tgt[keep], w[keep], dl[keep]))
        for q in siblings:
            chunks = parts.pop(q.name)
            cols = [np.concatenate([c[i] for c in chunks]) if chunks else np.zeros(0) for i in range(4)]
            self._edge_cache[q.name] = Edges(
                cols[0].astype(np.int64) - self.first_id[q.source],
                cols[1].astype(np.int64) - self.first_id[q.target],
                cols[2].astype(np.float64),
                cols[3].astype(np.float64),
            )
        return self._edge_cache.pop(projection)

    def weights(self, projection: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """This process's synapses of a plastic projection: sources, targets and weights (mV) now.

        The connections are found once by their synapse model; NEST builds a
        status dictionary per connection whatever is asked (about 6.5 us each),
        so the first read takes sources, targets and weights together and later
        reads the weights alone, in the same order. Reads go :data:`WEIGHT_SLICE`
        connections at a time: those dictionaries (about 3 kB each) for a whole
        projection of millions of synapses took gigabytes at once.
        """
        p = next(q for q in self.model.projections if q.name == projection)
        name = STDP_MODEL.format(p.index)
        cached = self._plastic.get(name)
        if cached is None:
            conns = self.nest.GetConnections(synapse_model=name)
            if not len(conns):
                empty = np.zeros(0, dtype=np.int64)
                self._plastic[name] = (conns, empty, empty)
                return empty, empty, np.zeros(0)
            src, tgt, w = _sliced(conns, ("source", "target", "weight"), (np.int64, np.int64, np.float64))
            src, tgt = src - self.first_id[p.source], tgt - self.first_id[p.target]
            self._plastic[name] = (conns, src, tgt)
            return src, tgt, w
        conns, src, tgt = cached
        if not len(conns):
            return src, tgt, np.zeros(0)
        return src, tgt, _sliced(conns, ("weight",), (np.float64,))[0]

    def phase_times(self) -> dict[str, float]:
        return {"weights": self.weights_s} if self.weights_s else {}

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
    def set_rates(self, rates: dict[str, np.ndarray]) -> None:
        nest = self.nest
        if self._prepared:
            # a poisson_generator ignores a rate set between Run calls of one Prepare
            nest.Cleanup()
            self._prepared = False
        for name, r in rates.items():
            self.nodes[name].set(rate=np.asarray(r, dtype=float).tolist())

    def feed(self, trains: Spikes) -> None:
        """Give each local injector its spike times of the coming window (times after now, sorted)."""
        for name, (ids, times) in trains.items():
            local, index = self.local[name]
            if local is None:
                continue
            order = np.argsort(ids, kind="stable")  # by node, times stay sorted within a node
            ids, times = ids[order], times[order]
            lo, hi = np.searchsorted(ids, index, side="left"), np.searchsorted(ids, index, side="right")
            local.set([{"spike_times": times[a:b]} for a, b in zip(lo, hi)])

    def advance(self, ms: float) -> None:
        if not self._prepared:
            self.nest.Prepare()
            self._prepared = True
        self.nest.Run(ms)

    def collect(self) -> Spikes:
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

    def close(self, free: bool = True) -> None:
        """Free the network (``ResetKernel``, about 1.5 s for the default model): what runs next in this process
        (the rendering, another run) reuses its memory. ``free=False`` leaves it to the end of the process."""
        if self.model is not None:
            self.finish()
            if not free:
                return
            self.nest.ResetKernel()
            self.nodes, self.recorders, self.local, self._edge_cache, self._plastic = {}, {}, {}, {}, {}
            self.model = None
            release_free_memory()

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
            "same_spikes_need": self.same_spikes_need(
                "the same seed, config and number of virtual processes (threads x processes)"
            ),
        }


ENGINE = NestEngine
