"""Image and spoken-digit ensembles joined by cross-modal STDP synapses (Rathi 2021, chapter 3).

Each ensemble is a :class:`~.ensemble.DiehlCookLayer` with its own input stream: the image's 784 pixels,
held still, and the cochleagram's 64 channels, one frame per time step. An image and a spoken digit of
the same label are shown together; one judgement asks both layers for enough spikes.

Cross-modal synapses join the two excitatory layers (3.4, Fig. 3.3). They are sparse and placed at random;
half carry spikes image -> audio and half audio -> image, and every neuron has one role: it sends, it
receives, or it takes no part, never both (a neuron that did both would close a positive feedback loop).
They learn by the same power-law STDP as the input synapses, with their own constants (Table 3.1), and add
``conductance_per_weight`` times their weight to the receiver's excitatory conductance; they are neither
normalized nor inhibitory.

The alternative of 3.8 is links made by hand: the ensembles learn uncoupled for ``manual_after`` examples,
then the sender -> receiver pairs whose neurons answer the same digit are joined at a fixed weight, which
no rule changes afterwards.

One class serves every arm of the chapter's comparisons: both ensembles with learned, hand-made or no
cross-modal synapses, or a single ensemble (``sizes`` names the layers to build).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from brian2 import Synapses

from ..audio import AudioFrontend
from ..config import ConfigError, choice, load_section, quantity, read_toml
from ..resources import model_file
from ..synapses import FixedWeights, PowerLawSTDP
from .ensemble import DiehlCookLayer, PresentedNetwork, per_copy
from .model import DiehlCookModel
from .protocol import Protocol, Stream
from .readout import VOTES

MODALITIES = ("image", "audio")
#: How the two ensembles are joined: links learned by STDP, links made by hand (3.8), or none.
CROSSMODAL_KINDS = ("stdp", "manual", "none")


@dataclass(frozen=True)
class CrossmodalParams:
    fraction: float = quantity(nonnegative=True)
    sender_fraction: float = quantity(positive=True)
    w_init_low: float = quantity(nonnegative=True)
    w_init_high: float = quantity(nonnegative=True)
    conductance_per_weight: float = quantity(positive=True)
    manual_weight: float = quantity(positive=True)
    manual_after: int = quantity(positive=True)
    stdp: PowerLawSTDP  # [crossmodal.stdp]


@dataclass(frozen=True)
class NoisyMnistParams:
    awgn_snr_db: float = quantity()
    contrast_scale: float = quantity(positive=True)
    awgn_contrast_snr_db: float = quantity()


@dataclass(frozen=True)
class ReadoutParams:
    vote: str = choice(*VOTES)  # how the ensembles vote together (readout.predict)


@dataclass(frozen=True)
class MultimodalModel:
    """Everything ``models/rathi2018_multimodal.toml`` holds: the two ensembles' models, the cross-modal
    synapses and their STDP, the cochlear front end, how noisy MNIST is made and how the ensembles vote."""

    ensembles: dict[str, DiehlCookModel]  # [image_ensemble], [audio_ensemble]: a base file and what differs
    crossmodal: CrossmodalParams
    audio_frontend: AudioFrontend
    noisy_mnist: NoisyMnistParams
    readout: ReadoutParams
    source: str

    @classmethod
    def load(cls, path: str | Path) -> "MultimodalModel":
        tables = dict(read_toml(path))
        ensembles = {modality: _ensemble(path, f"{modality}_ensemble", tables.pop(f"{modality}_ensemble", None))
                     for modality in MODALITIES}
        model = load_section(cls, tables, str(path), ensembles=ensembles, source=str(path))
        model.check()
        return model

    @property
    def crossmodal_stdp(self) -> PowerLawSTDP:
        return self.crossmodal.stdp

    @property
    def frontend(self) -> AudioFrontend:
        return self.audio_frontend

    def check(self) -> None:
        image, audio = self.ensembles["image"], self.ensembles["audio"]
        for what in ("t_present", "t_rest"):
            if getattr(image.protocol, what) != getattr(audio.protocol, what):
                raise ConfigError(f"{self.source}: the ensembles are shown together, so their {what} must agree")
        if image.dt != audio.dt:
            raise ConfigError(f"{self.source}: the ensembles must share dt")
        if self.frontend.presentation != audio.protocol.t_present:
            raise ConfigError(f"{self.source}: [audio_frontend].presentation must equal the audio t_present")
        c = self.crossmodal
        if c.w_init_low > c.w_init_high:
            raise ConfigError(f"{self.source} [crossmodal]: w_init_low > w_init_high")
        if not 0 < c.sender_fraction < 1:
            raise ConfigError(f"{self.source} [crossmodal].sender_fraction must lie strictly between 0 and 1")

    @property
    def protocol_model(self) -> DiehlCookModel:
        """The model whose protocol constants (timing, intensity, retries) the joint presentation uses."""
        return self.ensembles["image"]

    def stream(self, modality: str) -> Stream:
        """The input stream of a modality: pixels at D&C's rate per grey level, or cochleagram frames whose
        value p becomes a rate of ``peak_rate * p`` at the starting intensity (audio.poisson_rates)."""
        image = self.ensembles["image"].protocol
        if modality == "image":
            return Stream("image", 784, image.rate_per_pixel)
        f = self.frontend
        return Stream("audio", f.n_inputs, f.peak_rate / image.intensity_start, n_frames=f.frames_shown)


def _ensemble(path: str | Path, name: str, table: dict | None) -> DiehlCookModel:
    """The model of the ensemble table ``name`` of the file at ``path``: its ``base`` file with the
    constants of the table's sub-tables replaced."""
    if table is None:
        raise ConfigError(f"{path}: missing table [{name}]")
    if not isinstance(table, dict):
        raise ConfigError(f"{path} [{name}]: expected a table, got {table!r}")
    overrides = dict(table)
    base = overrides.pop("base", None)
    if base is None:
        raise ConfigError(f"{path} [{name}]: missing key 'base' (the Diehl & Cook model file)")
    beside = model_file(path).parent / base
    try:
        return DiehlCookModel.load(beside if beside.is_file() else base, overrides=overrides)
    except ConfigError as error:  # say which ensemble of this file it was: the base file may be shared
        raise ConfigError(f"{path} [{name}]: {error}") from None


class CrossmodalLinks:
    """Sparse synapses between the excitatory layers of two ensembles (``objects`` and the state methods of
    a layer, for :class:`~.ensemble.PresentedNetwork`).

    Each layer's neurons are split at random into senders (``sender_fraction``) and receivers. Each direction
    holds ``fraction * n_a * n_b / 2`` sender -> receiver links, so that the two together hold ``fraction`` of
    all n_a * n_b neuron pairs. Learned links (an STDP ``rule``) are placed at random and start at random
    weights. Hand-made links (``rule`` :class:`~brainnets.synapses.FixedWeights`) sit on every sender ->
    receiver pair, all at weight 0 until :meth:`hand_made_weights` picks the pairs that carry
    ``manual_weight``."""

    def __init__(self, layers: dict[str, DiehlCookLayer], params: CrossmodalParams,
                 rule: PowerLawSTDP | FixedWeights, rng: np.random.Generator, fraction: float,
                 plastic: bool = True):
        (name_a, a), (name_b, b) = layers.items()
        copies = a.copies  # layers of several copies: the same links within each copy (DiehlCookLayer)
        self.params, self.copies = params, copies
        self.rule = rule if plastic else FixedWeights()
        self.senders = {name: rng.permutation(layer.n_exc) < round(params.sender_fraction * layer.n_exc)
                        for name, layer in layers.items()}
        self.per_direction = round(fraction * a.n_exc * b.n_exc / 2)
        self.synapses, self.pairs, self.initial_weights = [], {}, {}
        for (pre_name, pre), (post_name, post) in (((name_a, a), (name_b, b)), ((name_b, b), (name_a, a))):
            candidates = np.argwhere(np.outer(self.senders[pre_name], ~self.senders[post_name]))
            if self.per_direction > len(candidates):
                raise ValueError(f"fraction {fraction} asks for {self.per_direction} {pre_name} -> {post_name} "
                                 f"links, but only {len(candidates)} sender -> receiver pairs exist")
            if isinstance(rule, FixedWeights):
                chosen, weights = candidates, np.zeros(len(candidates))
            else:
                chosen = candidates[np.sort(rng.choice(len(candidates), self.per_direction, replace=False))]
                weights = rng.uniform(params.w_init_low, params.w_init_high, len(chosen))
            built = self.rule
            synapses = Synapses(pre.exc, post.exc, built.model, on_pre=built.pre_spike("w * conductance_per_weight"),
                                on_post=built.on_post, name=f"{pre_name}_to_{post_name}",
                                namespace={**built.namespace(pre.model.dt),
                                           "conductance_per_weight": params.conductance_per_weight})
            synapses.connect(i=per_copy(chosen[:, 0], pre.n_exc, copies), j=per_copy(chosen[:, 1], post.n_exc, copies))
            self.synapses.append(synapses)
            self.pairs[synapses.name] = chosen
            self.initial_weights[synapses.name] = weights
        self.objects = list(self.synapses)

    def state_variables(self) -> dict:
        return {synapses: list(self.rule.state_variables) for synapses in self.synapses}

    def time_stamps(self) -> set:
        return {(synapses.name, name) for synapses in self.synapses for name in self.rule.time_stamps}

    def initial_state(self) -> dict:
        return {(name, "w"): np.tile(weights, self.copies) for name, weights in self.initial_weights.items()}

    def hand_made_weights(self, shares: dict[str, np.ndarray]) -> dict:
        """Weights of hand-made links (Rathi 3.8) from each layer's response ``shares`` (n_classes, n_exc):
        a neuron's mean spike count per digit, divided by their sum (zero for a silent neuron).

        Each direction joins ``per_direction`` sender -> receiver pairs at ``manual_weight``: first the pairs
        whose neurons carry the same label (the digit each answers most), then, should more be asked for,
        the pairs most likely to answer the same digit (the dot product of their shares; Rathi's accuracy
        falls beyond 26 % as such pairs join in). Pairs with a silent neuron are never joined."""
        weights = {}
        for synapses in self.synapses:
            pre_name, post_name = synapses.name.split("_to_")
            pairs = self.pairs[synapses.name]
            pre, post = shares[pre_name][:, pairs[:, 0]], shares[post_name][:, pairs[:, 1]]
            score = np.sum(pre * post, axis=0)
            same_label = pre.argmax(axis=0) == post.argmax(axis=0)
            best = np.lexsort((-score, ~same_label))[:self.per_direction]
            w = np.zeros(len(pairs))
            w[best[score[best] > 0]] = self.params.manual_weight
            weights[(synapses.name, "w")] = w
        return weights


@dataclass(frozen=True)
class Pairs:
    """What a multimodal run shows: images (n, 28, 28) and cochleagrams (n, frames, channels) of the same
    labels; either may be None (that input missing: its stream stays silent)."""

    images: np.ndarray | None
    sounds: np.ndarray | None

    def __len__(self) -> int:
        return len(self.images if self.images is not None else self.sounds)

    def __getitem__(self, where: slice) -> "Pairs":
        return Pairs(None if self.images is None else self.images[where],
                     None if self.sounds is None else self.sounds[where])


class MultimodalNetwork(PresentedNetwork):
    """The ensembles named in ``sizes`` ({"image": n, "audio": m}, either or both), shown together, with
    cross-modal links of the kind ``crossmodal`` (one of :data:`CROSSMODAL_KINDS`) when both are there, over
    ``fraction`` of the neuron pairs (default: the model's)."""

    def __init__(self, model: MultimodalModel, sizes: dict[str, int], *, crossmodal: str = "stdp",
                 fraction: float | None = None, slots_per_run: int = 20, rng: np.random.Generator,
                 copies: int = 1, plastic: bool = True):
        unknown = set(sizes) - set(MODALITIES)
        if unknown or not sizes:
            raise ValueError(f"sizes must name 'image' and/or 'audio', got {sorted(sizes)}")
        if crossmodal not in CROSSMODAL_KINDS:
            raise ValueError(f"crossmodal must be one of {CROSSMODAL_KINDS}, got {crossmodal!r}")
        fraction = model.crossmodal.fraction if fraction is None else fraction
        self.multimodal_model = model
        names = [name for name in MODALITIES if name in sizes]
        protocol = Protocol(model.protocol_model, [model.stream(name) for name in names], names, slots_per_run,
                            copies=copies)
        self.by_name = {name: DiehlCookLayer(model.ensembles[name], sizes[name], protocol.inputs[name], rng=rng,
                                             name=name, copies=copies, plastic=plastic) for name in names}
        linked = crossmodal != "none" and len(names) == 2 and fraction > 0
        self.crossmodal_links = (CrossmodalLinks(self.by_name, model.crossmodal,
                                                 model.crossmodal_stdp if crossmodal == "stdp" else FixedWeights(),
                                                 rng, fraction, plastic=plastic)
                                 if linked else None)
        super().__init__(protocol, list(self.by_name.values()),
                         [self.crossmodal_links] if self.crossmodal_links else [])

    def stimuli(self, pairs: Pairs) -> dict[str, np.ndarray]:
        """Each stream's stimulus: pixels for the image, firing probabilities for the audio; a missing
        input is all zeros."""
        given = {"image": pairs.images, "audio": pairs.sounds}
        return {name: (given[name] if given[name] is not None
                       else np.zeros((len(pairs), stream.n_frames, stream.n_input)))
                for name, stream in self.protocol.streams.items()}
