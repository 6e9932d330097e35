"""One arm of Rathi's chapter-3 comparisons: train, label, test, each phase showing image + spoken-digit pairs.

Training shows the first ``n_train`` MNIST training images, each with a training utterance of the same
digit drawn at random (Rathi 3.5: the ~1600 TI46 training utterances are reused across 40,000 pairs).
Testing shows the first ``n_test`` MNIST test images, each with a test utterance of its digit: drawn at
random like the training ones (``test_pairing = "random"``, the committed results), or each test utterance
of a digit used once before any is used again (``"each_once"``, so that every test utterance is scored when
there are enough images; ``metrics.json`` says how many were, under ``test_utterances``). Every
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

from ..audio import DEFAULT_CACHE_DIR, cochleagrams, spectral_profile
from ..datasets import NOISE_KINDS, LabelledImages, degrade_images
from ..spoken_digits import SpokenDigits
from .experiment import added_later, check_run_settings, run_identity
from .multimodal import CROSSMODAL_KINDS, MultimodalModel, MultimodalNetwork, Pairs
from .phases import Phase, PhasedExperiment
from .readout import mean_responses
from .report import multimodal_report, neuron_slices


#: How a test image finds its utterance: "random" (drawn with replacement, as training pairs are) or
#: "each_once" (each test utterance of its digit once, in a random order, before any again).
TEST_PAIRINGS = ("random", "each_once")


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
    test_pairing: str = added_later("random")  # one of TEST_PAIRINGS: how test images find their utterance
    eval_copies: int = added_later(1)  # frozen copies that label and test at once (experiment.Settings)
    checkpoint_seconds: float = 60.0

    def __post_init__(self):
        for name in ("n_image", "n_audio"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.n_image + self.n_audio == 0:
            raise ValueError("at least one of n_image and n_audio must be > 0")
        check_run_settings(self, ("n_train", "n_test", "slots_per_run", "eval_copies"))
        if self.crossmodal not in CROSSMODAL_KINDS:
            raise ValueError(f"crossmodal must be one of {CROSSMODAL_KINDS}, got {self.crossmodal!r}")
        if self.crossmodal_fraction is not None and not 0 <= self.crossmodal_fraction <= 1:
            raise ValueError(f"crossmodal_fraction must lie in [0, 1], got {self.crossmodal_fraction}")
        if self.test_pairing not in TEST_PAIRINGS:
            raise ValueError(f"test_pairing must be one of {TEST_PAIRINGS}, got {self.test_pairing!r}")
        if self.image_noise not in NOISE_KINDS:
            raise ValueError(f"image_noise must be one of {NOISE_KINDS}, got {self.image_noise!r}")

    @property
    def sizes(self) -> dict[str, int]:
        return {name: n for name, n in (("image", self.n_image), ("audio", self.n_audio)) if n > 0}

    def identity(self) -> dict:
        return run_identity(self)


def _members(corpus: SpokenDigits, label) -> np.ndarray:
    members = np.flatnonzero(corpus.labels == label)
    if len(members) == 0:
        raise ValueError(f"the audio corpus has no utterance of the digit {label}")
    return members


def pair_utterances(labels: np.ndarray, corpus: SpokenDigits, rng: np.random.Generator,
                    pairing: str = "random") -> np.ndarray:
    """For each label, the index of an utterance of ``corpus`` with that label.

    ``"random"``: drawn uniformly, with replacement. ``"each_once"``: the k-th label ``d`` gets the k-th
    utterance of a random order of the utterances of ``d``, a fresh order once all were used, so every
    utterance of ``d`` is used once before any twice (and all of them when ``d`` comes often enough).
    """
    if pairing not in TEST_PAIRINGS:
        raise ValueError(f"pairing must be one of {TEST_PAIRINGS}, got {pairing!r}")
    choices = {label: _members(corpus, label) for label in np.unique(labels)}
    if pairing == "random":
        return np.array([rng.choice(choices[label]) for label in labels], dtype=np.int64)
    chosen = np.empty(len(labels), dtype=np.int64)
    for label, members in choices.items():
        where = np.flatnonzero(labels == label)
        rounds = -(-len(where) // len(members))
        chosen[where] = np.concatenate([rng.permutation(members) for _ in range(rounds)])[:len(where)]
    return chosen


def utterance_use(chosen: np.ndarray, corpus: SpokenDigits, pairing: str) -> dict:
    """How the pairs ``chosen`` (indices into ``corpus``) use its utterances, for the record."""
    uses = np.bincount(chosen, minlength=len(corpus))
    return {"pairing": pairing, "available": len(corpus), "scored": int(np.count_nonzero(uses)),
            "most_uses": int(uses.max(initial=0)), "speakers": sorted(set(corpus.speakers[chosen].tolist()))}


class MultimodalExperiment(PhasedExperiment):
    """Train, label and test one :class:`MultimodalNetwork` (one arm)."""

    def __init__(self, settings: MultimodalSettings, images: tuple[LabelledImages, LabelledImages],
                 audio: tuple[SpokenDigits, SpokenDigits], out_dir: str | Path, resume: bool = False,
                 progress: bool = True, cache_dir: str | Path | None = DEFAULT_CACHE_DIR):
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
        frontend = self.model.frontend
        #: The training utterances' mean spectral shape, where the front end's contrast needs it.
        self.profile = spectral_profile(banks["train"], frontend, cache_dir) if frontend.needs_profile else None
        self.pairs = {}
        for split in ("train", "test"):  # training pairs always drawn at random (Rathi reuses utterances)
            pairing = settings.test_pairing if split == "test" else "random"
            chosen = pair_utterances(self.labels[split], banks[split], rng, pairing)
            if split == "test":
                self.test_utterances = utterance_use(chosen, banks[split], pairing)
            used, index = np.unique(chosen, return_inverse=True)
            sounds = cochleagrams(banks[split].subset(used), frontend, cache_dir, self.profile)[index]
            self.pairs[split] = Pairs(noisy[split] if "image" in settings.sizes else None,
                                      sounds if "audio" in settings.sizes else None)
        self.n_assign = settings.n_assign or settings.n_train
        both = len(settings.sizes) == 2
        manual = settings.crossmodal == "manual" and both
        self.links_made_at = min(int(self.model.crossmodal.manual_after), settings.n_train)
        train, test = self.pairs["train"], self.pairs["test"]
        self.phases = [
            Phase("train", train, learning=True, keeps_counts=manual,
                  stops={self.links_made_at: self._make_links_by_hand} if manual else {}),
            Phase("assign", train[:self.n_assign], learning=False, keeps_counts=True),
            Phase("test", test, learning=False, keeps_counts=True),
        ]
        if both:  # Rathi 3.6.4: one input missing, only the other ensemble judged
            self.phases += [
                Phase("test_missing_audio", Pairs(test.images, None), learning=False, keeps_counts=True,
                      unjudged=("audio",)),
                Phase("test_missing_image", Pairs(None, test.sounds), learning=False, keeps_counts=True,
                      unjudged=("image",)),
            ]

    def network(self, structure: dict[str, np.ndarray], copies: int = 1, plastic: bool = True) -> MultimodalNetwork:
        s = self.settings
        return MultimodalNetwork(self.model, s.sizes, crossmodal=s.crossmodal, fraction=s.crossmodal_fraction,
                                 slots_per_run=s.slots_per_run, rng=np.random.default_rng(s.seed), copies=copies,
                                 plastic=plastic)

    def _make_links_by_hand(self) -> None:
        """Rathi 3.8: join the neurons that answer the same digit, from their responses so far."""
        shown = slice(self.links_made_at // 2, self.links_made_at)
        responses = mean_responses(self.counts["train"][shown], self.labels["train"][shown])
        total = responses.sum(axis=0)
        shares = np.divide(responses, total, out=np.zeros_like(responses), where=total > 0)
        slices = neuron_slices(self.sim.ensemble)
        links = self.sim.ensemble.crossmodal_links
        self.sim.state.update(links.hand_made_weights({name: shares[:, where] for name, where in slices.items()}))

    def report(self) -> dict:
        return multimodal_report(self)
