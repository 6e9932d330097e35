"""One arm of Rathi's chapter-3 comparisons: train, label, test, each phase showing image + spoken-digit pairs.

Training shows the first ``n_train`` MNIST training images, each with a training utterance of the same
digit drawn at random (Rathi 3.5: the ~1600 TI46 training utterances are reused across 40,000 pairs).
Testing shows the first ``n_test`` MNIST test images, each with a test utterance of its digit. Every
excitatory neuron of every ensemble is labelled from its mean response to the training pairs (plasticity
off), and a pair is classified as the label whose neurons, over both ensembles, fire most on average
(Rathi 3.6). With both ensembles the test is repeated with the audio, then the image, missing (3.6.4):
that input is silent and only the other ensemble's spikes are judged.

Hand-made cross-modal links (3.8) are made once, after ``manual_after`` training pairs (or at the end of a
shorter training), from the neurons' responses to the second half of the pairs shown until then (recorded
while learning, as Diehl & Cook's own code labels its neurons during training).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..audio import DEFAULT_CACHE_DIR, cochleagrams
from ..checkpoint import save_arrays_atomic, write_json_atomic
from ..datasets import NOISE_KINDS, LabelledImages, degrade_images
from ..devices import use_device
from ..spoken_digits import SpokenDigits
from .experiment import PhasedExperiment, check_run_settings, run_identity
from .multimodal import CROSSMODAL_KINDS, MultimodalModel, MultimodalNetwork, Pairs
from .readout import assign_labels, confusion_matrix, mean_responses, predict
from .simulation import EnsembleSimulation

MISSING = {"test_missing_audio": "audio", "test_missing_image": "image"}


@dataclass(frozen=True)
class MultimodalSettings:
    model: str = "models/rathi2018_multimodal.toml"
    n_image: int = 50           # excitatory neurons of the image ensemble (0: no image ensemble)
    n_audio: int = 50           # and of the audio ensemble
    crossmodal: str = "stdp"    # one of multimodal.CROSSMODAL_KINDS
    crossmodal_fraction: float | None = None  # share of neuron pairs linked (default: the model's)
    n_train: int = 2000         # training pairs
    n_test: int = 1000
    n_assign: int | None = None  # label on the first K training pairs (default: all)
    image_noise: str = "none"   # one of datasets.NOISE_KINDS
    seed: int = 0
    device: str = "cpp"
    slots_per_run: int = 20
    audio: str = "shipped"      # where the utterances came from, for the record
    checkpoint_seconds: float = 60.0

    def __post_init__(self):
        for name in ("n_image", "n_audio"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.n_image + self.n_audio == 0:
            raise ValueError("at least one of n_image and n_audio must be > 0")
        check_run_settings(self, ("n_train", "n_test", "slots_per_run"))
        if self.crossmodal not in CROSSMODAL_KINDS:
            raise ValueError(f"crossmodal must be one of {CROSSMODAL_KINDS}, got {self.crossmodal!r}")
        if self.crossmodal_fraction is not None and not 0 <= self.crossmodal_fraction <= 1:
            raise ValueError(f"crossmodal_fraction must lie in [0, 1], got {self.crossmodal_fraction}")
        if self.image_noise not in NOISE_KINDS:
            raise ValueError(f"image_noise must be one of {NOISE_KINDS}, got {self.image_noise!r}")

    @property
    def sizes(self) -> dict[str, int]:
        return {name: n for name, n in (("image", self.n_image), ("audio", self.n_audio)) if n > 0}

    def identity(self) -> dict:
        return run_identity(self)


def pair_utterances(labels: np.ndarray, corpus: SpokenDigits, rng: np.random.Generator) -> np.ndarray:
    """For each label, the index of an utterance of ``corpus`` with that label, drawn uniformly."""
    choices = {}
    for label in np.unique(labels):
        members = np.flatnonzero(corpus.labels == label)
        if len(members) == 0:
            raise ValueError(f"the audio corpus has no utterance of the digit {label}")
        choices[label] = members
    return np.array([rng.choice(choices[label]) for label in labels], dtype=np.int64)


class MultimodalExperiment(PhasedExperiment):
    """Train, label and test one :class:`MultimodalNetwork` (one arm)."""

    def __init__(self, settings: MultimodalSettings, images: tuple[LabelledImages, LabelledImages],
                 audio: tuple[SpokenDigits, SpokenDigits], out_dir: str | Path, resume: bool = False,
                 progress: bool = True, cache_dir: str | Path | None = DEFAULT_CACHE_DIR):
        both = len(settings.sizes) == 2
        self.phases = {"train": True, "assign": False, "test": False,
                       **({phase: False for phase in MISSING} if both else {})}
        super().__init__(settings, out_dir, resume, progress)
        train_images, test_images = images
        if len(train_images) < settings.n_train or len(test_images) < settings.n_test:
            raise ValueError(f"asked for {settings.n_train} training and {settings.n_test} test pairs, "
                             f"have {len(train_images)} and {len(test_images)} images")
        self.model = MultimodalModel.load(settings.model)
        rng = np.random.default_rng([settings.seed, 2])  # not the network's stream
        self.labels = {"train": train_images.labels[:settings.n_train], "test": test_images.labels[:settings.n_test]}
        noise = dataclasses.asdict(self.model.noisy_mnist)
        noisy = {split: degrade_images(data.images[:n], settings.image_noise, np.random.default_rng([settings.seed, 3, k]),
                                       **noise)
                 for k, (split, data, n) in enumerate((("train", train_images, settings.n_train),
                                                       ("test", test_images, settings.n_test)))}
        banks = {"train": audio[0], "test": audio[1]}
        self.pairs = {}
        for split in ("train", "test"):
            chosen = pair_utterances(self.labels[split], banks[split], rng)
            used, index = np.unique(chosen, return_inverse=True)
            sounds = cochleagrams(banks[split].subset(used), self.model.frontend, cache_dir)[index]
            self.pairs[split] = Pairs(noisy[split] if "image" in settings.sizes else None,
                                      sounds if "audio" in settings.sizes else None)
        self.n_assign = settings.n_assign or settings.n_train
        self.manual = settings.crossmodal == "manual" and both
        self.links_made_at = min(int(self.model.crossmodal.manual_after), settings.n_train)
        recorded = [phase for phase in self.phases if phase != "train" or self.manual]
        self.counts = {phase: np.zeros((self._phase_length(phase), sum(settings.sizes.values())), dtype=np.int32)
                       for phase in recorded}

    def _phase_items(self, phase: str) -> Pairs:
        if phase == "train":
            return self.pairs["train"]
        if phase == "assign":
            return self.pairs["train"][:self.n_assign]
        missing = MISSING.get(phase)
        pairs = self.pairs["test"]
        return Pairs(None if missing == "image" else pairs.images, None if missing == "audio" else pairs.sounds)

    def _judged(self, phase: str) -> dict[str, bool] | None:
        return {MISSING[phase]: False} if phase in MISSING else None

    def _batch_stops(self, phase: str) -> list[int]:
        return [self.links_made_at] if self.manual and phase == "train" else []

    def _after_batch(self, phase: str) -> None:
        if self.manual and phase == "train" and self.position == self.links_made_at:
            self._make_links_by_hand()

    def _make_links_by_hand(self) -> None:
        """Rathi 3.8: join the neurons that answer the same digit, from their responses so far."""
        shown = slice(self.links_made_at // 2, self.links_made_at)
        responses = mean_responses(self.counts["train"][shown], self.labels["train"][shown])
        total = responses.sum(axis=0)
        shares = np.divide(responses, total, out=np.zeros_like(responses), where=total > 0)
        slices = self._layer_slices()
        links = self.sim.ensemble.crossmodal_links
        self.sim.state.update(links.hand_made_weights({name: shares[:, where] for name, where in slices.items()}))

    def _build_simulation(self, structure: dict) -> None:
        s = self.settings

        def build():
            build_dir = self.out / "standalone"
            use_device(s.device, build_dir)
            network = MultimodalNetwork(self.model, s.sizes, crossmodal=s.crossmodal, fraction=s.crossmodal_fraction,
                                        slots_per_run=s.slots_per_run, rng=np.random.default_rng(s.seed))
            return EnsembleSimulation(network, s.device, build_dir, seed=s.seed)
        self._timed_build(build)

    def _layer_slices(self) -> dict[str, slice]:
        slices, start = {}, 0
        for layer in self.sim.ensemble.layers:
            slices[layer.name] = slice(start, start + layer.n_exc)
            start += layer.n_exc
        return slices

    def _finish(self) -> dict:
        s, network = self.settings, self.sim.ensemble
        assign_labels_of = self.labels["train"][:self.n_assign]
        assignments = assign_labels(self.counts["assign"], assign_labels_of)
        test_labels = self.labels["test"]
        predictions = {phase: predict(self.counts[phase], assignments) for phase in self.phases
                       if phase.startswith("test")}
        accuracies = {("accuracy" if phase == "test" else phase.replace("test_", "accuracy_")):
                      float(np.mean(predicted == test_labels)) for phase, predicted in predictions.items()}
        slices = self._layer_slices()
        per_ensemble = {name: float(np.mean(predict(self.counts["test"][:, where], assignments[where]) == test_labels))
                        for name, where in slices.items()}
        metrics = {
            **accuracies, "accuracy_per_ensemble": per_ensemble,
            **dataclasses.asdict(s), "sizes": s.sizes, "n_total": sum(s.sizes.values()),
            **self.provenance,
            "build_seconds": self.seconds["build"], "train_seconds": self.seconds["train"],
            "train_ms_per_pair": 1000 * self.seconds["train"] / s.n_train,
            "eval_seconds": sum(self.seconds[phase] for phase in self.phases if phase != "train"),
            "presentations_per_pair": {phase: self.tries[phase] / self._phase_length(phase) for phase in self.phases},
            "neurons_assigned_per_class": {
                name: np.bincount(assignments[where][assignments[where] >= 0], minlength=10).tolist()
                for name, where in slices.items()},
            "activity": self.activity,
            "confusion_matrix": confusion_matrix(test_labels, predictions["test"]).tolist(),
        }
        arrays = {"assignments": assignments}
        if network.crossmodal_links is not None:
            links = crossmodal_links(network, self.sim.state, assignments, slices)
            metrics["crossmodal"] = links["summary"]
            arrays.update(links["arrays"])
        for layer in network.layers:
            arrays[f"{layer.name}_weights"] = layer.weights(self.sim.state)
            arrays[f"{layer.name}_theta"] = self.sim.state[(layer.exc.name, "theta")]
        save_arrays_atomic(self.out / "network.npz", arrays)
        save_arrays_atomic(self.out / "responses.npz", {
            **{f"{phase}_counts": counts for phase, counts in self.counts.items()},
            "train_labels": self.labels["train"], "test_labels": test_labels})
        write_json_atomic(self.out / "metrics.json", metrics)
        self._close()
        return metrics


def crossmodal_links(network: MultimodalNetwork, state: dict, assignments: np.ndarray,
                     slices: dict[str, slice]) -> dict:
    """Which cross-modal synapses join neurons of the same label (Rathi Fig. 3.12).

    Rathi: STDP "forms a stronger connection between neurons that spike together for the same label"
    and the other connections "are inhibited", i.e. depressed towards 0. A link counts as kept when its
    weight ends above the lowest initial weight (``w_init_low``); ``same_label_fraction`` is the share of
    the kept links whose two neurons carry the same label, ``same_label_fraction_all`` the same share over
    every link (what chance wiring gives), ``same_label_weight_share`` the share of all cross-modal weight
    that same-label links carry.
    """
    links, floor = network.crossmodal_links, network.multimodal_model.crossmodal.w_init_low
    same, kept, weights = [], [], []
    arrays = {}
    for synapses in links.synapses:
        pre_name, post_name = synapses.name.split("_to_")
        pairs = links.pairs[synapses.name]
        w = state[(synapses.name, "w")]
        pre_label = assignments[slices[pre_name]][pairs[:, 0]]
        post_label = assignments[slices[post_name]][pairs[:, 1]]
        same.append((pre_label == post_label) & (pre_label >= 0))
        kept.append(w > floor)
        weights.append(w)
        arrays[f"{synapses.name}_pairs"], arrays[f"{synapses.name}_w"] = pairs, w
    same, kept, weights = np.concatenate(same), np.concatenate(kept), np.concatenate(weights)
    summary = {"n_links": int(len(same)), "n_kept": int(kept.sum()),
               "same_label_fraction": float(same[kept].mean()) if kept.any() else 0.0,
               "same_label_fraction_all": float(same.mean()) if len(same) else 0.0,
               "same_label_weight_share": float(weights[same].sum() / weights.sum()) if weights.sum() > 0 else 0.0,
               "mean_weight_same_label": float(weights[same].mean()) if same.any() else 0.0,
               "mean_weight_other": float(weights[~same].mean()) if (~same).any() else 0.0}
    return {"summary": summary, "arrays": arrays}
