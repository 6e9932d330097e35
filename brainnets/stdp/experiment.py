"""A complete unimodal experiment: train with STDP, label the neurons, test; resumable at every step.

Three :class:`~.phases.Phase` objects, one compiled network (plasticity is switched per run):

1. ``train``  - the training images, ``epochs`` times, with STDP and homeostasis on;
2. ``assign`` - the same training images (or the first ``n_assign`` of them) again with plasticity off,
   to label the neurons (Diehl & Cook's published numbers use training-set responses, not the test set);
3. ``test``   - the test images, plasticity off.

A :class:`~.compression.Compression` prunes and quantizes the input weights at batch boundaries of the
training phase (:meth:`UnimodalExperiment.compress`); when training ends, :meth:`UnimodalExperiment.finalize`
removes the remaining non-critical synapses for good, so that the labelled and tested network is the sparse
one. :mod:`.phases` runs and checkpoints the phases; :func:`.report.unimodal_report` writes the results.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..datasets import LabelledImages
from ..devices import DEVICES
from .compression import Compression, normalize_columns
from .ensemble import UnimodalEnsemble
from .model import DiehlCookModel
from .phases import ExperimentError, Phase, PhasedExperiment  # noqa: F401 - ExperimentError: imported from here
from .report import unimodal_report


def added_later(default):
    """A setting added after runs were checkpointed without it: left out of the run's identity while it keeps
    ``default`` (the behaviour from before it existed), so that those runs still resume."""
    return dataclasses.field(default=default, metadata={"added_later": True})


@dataclass(frozen=True)
class Settings:
    model: str
    dataset: str = added_later("mnist")  # mnist, fashion_mnist or idx:FOLDER (datasets.load_images)
    n_exc: int = 100
    n_train: int = 60000
    n_test: int = 10000
    n_assign: int | None = None  # label the neurons on the first K training images (default: all trained on)
    epochs: int = 1
    seed: int = 0
    device: str = "cpp"
    inhibition: bool = True
    homeostasis: bool = True
    slots_per_run: int = 250
    compression: Compression = Compression()
    # D&C's rule at test too (as in their code): a test image that makes fewer than min_spikes is shown again,
    # brighter. False shows every test image once, whatever it makes: the spike count of Rathi 2.5.4's energy.
    test_repeats: bool = added_later(True)
    # Copies of the trained network, frozen, that label and test that many images at once (simulation.
    # BatchedSimulation); 1: the trained network itself, one image after the other.
    eval_copies: int = added_later(1)
    checkpoint_seconds: float = 60.0

    def __post_init__(self):
        check_run_settings(self, ("n_exc", "n_train", "n_test", "epochs", "slots_per_run", "eval_copies"))

    def identity(self) -> dict:
        return run_identity(self)


def check_run_settings(settings, counts: tuple[str, ...]) -> None:
    """What every experiment's settings must satisfy: the ``counts`` >= 1, ``n_assign`` (if given) within
    ``n_train``, a known device."""
    for name in counts:
        if getattr(settings, name) < 1:
            raise ValueError(f"{name} must be >= 1, got {getattr(settings, name)}")
    if settings.n_assign is not None and not 1 <= settings.n_assign <= settings.n_train:
        raise ValueError(f"n_assign must lie in 1..n_train={settings.n_train}, got {settings.n_assign}")
    if settings.device not in DEVICES:
        raise ValueError(f"device must be one of {DEVICES}, got {settings.device!r}")
    if not settings.checkpoint_seconds >= 0:
        raise ValueError(f"the time between checkpoints must be >= 0 seconds, got {settings.checkpoint_seconds}")


def run_identity(settings) -> dict:
    """What must match for a checkpoint to be resumed (not how often it is written, nor the settings
    :func:`added_later` while they keep their default)."""
    document = dataclasses.asdict(settings)
    document.pop("checkpoint_seconds")
    for field in dataclasses.fields(settings):
        if field.metadata.get("added_later") and document[field.name] == field.default:
            del document[field.name]
    return document


def training_order(n_train: int, epochs: int, order: str, seed: int) -> np.ndarray:
    """Indices of the training images in the order they are shown: ``epochs`` passes, each in the dataset's
    order or, for ``order="shuffled"``, a fresh permutation drawn from ``seed``."""
    if order == "dataset":
        return np.tile(np.arange(n_train), epochs)
    rng = np.random.default_rng([seed, 2])  # not the streams of the connections, delays and weights
    return np.concatenate([rng.permutation(n_train) for _ in range(epochs)])


class UnimodalExperiment(PhasedExperiment):
    """Train a :class:`UnimodalEnsemble` on images, label its neurons, test it."""

    checkpointed = ("steps_done",)

    def __init__(self, settings: Settings, train: LabelledImages, test: LabelledImages,
                 out_dir: str | Path, resume: bool = False, progress: bool = True):
        if len(train) < settings.n_train or len(test) < settings.n_test:
            raise ValueError(f"asked for {settings.n_train} training and {settings.n_test} test images, "
                             f"have {len(train)} and {len(test)}")
        super().__init__(settings, out_dir, resume, progress)
        self.train, self.test = train[:settings.n_train], test[:settings.n_test]
        self.model = DiehlCookModel.load(settings.model)
        settings.compression.check_against(getattr(self.model.stdp, "w_max", np.inf))
        self.training_order = training_order(settings.n_train, settings.epochs,
                                             self.model.protocol.training_order, settings.seed)
        self.assign = self.train[:settings.n_assign or settings.n_train]
        self.compression_steps = settings.compression.steps(len(self.training_order))
        self.steps_done: list[dict] = []  # one entry per compression step
        self.phases = [
            Phase("train", self.train.images[self.training_order], learning=True,
                  stops={step: self.compress for step in self.compression_steps},
                  after=self.finalize if settings.compression.removes_synapses else None),
            Phase("assign", self.assign.images, learning=False, keeps_counts=True),
            Phase("test", self.test.images, learning=False, keeps_counts=True,
                  unjudged=() if settings.test_repeats else ("exc",)),
        ]

    def network(self, structure: dict[str, np.ndarray], copies: int = 1, plastic: bool = True) -> UnimodalEnsemble:
        s = self.settings
        n_input = self.train.images[0].size
        connections = structure.get("connections")
        if connections is None:
            rng = np.random.default_rng([s.seed, 1])  # not the stream of the delays and weights
            connections = s.compression.initial_connections((n_input, s.n_exc), rng)
        return UnimodalEnsemble(self.model, s.n_exc, n_input, slots_per_run=s.slots_per_run, connections=connections,
                                inhibition=s.inhibition, homeostasis=s.homeostasis, rng=np.random.default_rng(s.seed),
                                copies=copies, plastic=plastic)

    def structure(self) -> dict[str, np.ndarray]:
        return {"connections": self.sim.ensemble.layer.connections}

    def compress(self) -> None:
        """One pruning (+ quantization) step on the input weights of the running network."""
        layer, compression = self.sim.ensemble.layer, self.settings.compression
        trained = layer.weights(self.sim.state)
        weights = compression.apply(trained)
        shared = np.unique(weights[weights > 0]).tolist() if compression.levels else None
        step = {"after_images": self.position, "threshold": compression.threshold_for(trained),
                "connectivity": float(np.mean(weights > 0)), "shared_values": shared, "column_gains": None}
        if compression.normalize_last and self.position == self.compression_steps[-1]:
            weights, gains = normalize_columns(weights, self.model.protocol.weight_sum)
            step["column_gains"] = gains.tolist()
        self.sim.state = layer.with_weights(self.sim.state, weights)
        self.steps_done.append(step)

    def finalize(self) -> None:
        """Remove the non-critical (zero-weight) synapses for good: the network is rebuilt with only the
        survivors, every other part of its state carried over."""
        old = self.sim
        survivors = old.ensemble.layer.weights(old.state) > 0
        self._build_network({"connections": survivors})
        self.sim.state = old.ensemble.layer.restricted_state(old.state, survivors)
        self.sim.runs_done = old.runs_done

    def report(self) -> dict:
        return unimodal_report(self)
