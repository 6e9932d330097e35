"""One run of ``brainnets timestep``: a time-stepped network trained by one method, epoch by epoch, with
checkpoints, and everything its result file reports.

The methods and what a run does:

* ``conversion`` (Rathi ch. 4, Algorithm 1): the bias-free ANN trained for its epochs, converted by threshold
  balancing (max rule, Poisson input), run at a long T with the balanced thresholds and at the run's T with the
  thresholds scaled (Table 4.1, columns 3 and 4). Constants: ``rathi2021_stdb.toml``.
* ``stdb`` (ch. 4, Algorithms 2-3): the same conversion at the run's T, then STDB epochs (fixed thresholds,
  Poisson input, the spike-time surrogate). ``rathi2021_stdb.toml``.
* ``diet`` (ch. 5, Algorithm 4): the ANN converted with the 95th-percentile rule and direct input at the run's
  T, then DIET-SNN epochs (trainable thresholds and leaks, the linear surrogate). ``rathi2021_diet.toml``.
* ``noise`` (Jiang & Zhang): stage 1, the single-step network trained with noise in place of its memory; each
  epoch scored at T = 1 and at the run's T with the memory restored (stage 3). ``jiang2024_noise.toml``.
* ``direct``: Jiang's baseline, the same network on snnTorch's neurons trained directly at the run's T
  (the model file's ``direct_timesteps``, 10) by surrogate gradients; scored like ``noise``.

A run is a list of epochs in phases, "ann" (the ANN of conversion, stdb and diet) then "snn" (the spiking
training; none for conversion); between them the conversion, whose results are kept. After every epoch and
after the conversion, :func:`save_checkpoint` writes everything the rest of the run depends on: the networks,
optimisers and schedulers, the run's generators (batch order, Poisson draws, Jiang's noise) and torch's global
one (dropout masks), and the :class:`Progress`; a run resumed from it ends exactly as an unbroken one.

Choices where the sources are silent (ours):

* every score is drawn with a generator seeded afresh from the run's seed (Poisson input, Jiang's noise), so
  that a test accuracy does not depend on how many evaluations came before it, and the training's own random
  numbers do not depend on them either;
* with validation images (the last ones of the training images, held out of training) each phase keeps the
  epoch that scores best on them (the ANN's accuracy; the spiking network's at the run's T) and goes on from it:
  the ANN converted is the selected one; without them, the last epoch;
* ``seconds_to_accuracy`` counts training seconds only (no scoring, no checkpoints), up to the end of the first
  epoch whose test accuracy at the run's T reaches the target.
"""
from __future__ import annotations

import copy
import io
import json
import math
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from . import conversion, encoding, energy
from . import noise as noise_module
from .network import TimestepNet, parse_architecture

METHODS = ("conversion", "stdb", "diet", "noise", "direct")
MODEL_FILES = {"conversion": "rathi2021_stdb", "stdb": "rathi2021_stdb", "diet": "rathi2021_diet",
               "noise": "jiang2024_noise", "direct": "jiang2024_noise"}
#: The steps of the accuracy-against-T curve (the run's own T is added).
CURVE_TIMESTEPS = (1, 2, 5, 10)
#: Jiang's Fig. 6 ablation: stage 3 at these T for every alpha of the model file.
ABLATION_TIMESTEPS = (1, 5, 10)
#: Offsets of the run's seed for its generators: training, Jiang's noise, scoring, the Brian2 check's input.
_TRAIN, _NOISE, _SCORE, _BRIAN2 = 0, 1, 1_000_003, 2_000_003


class ResumeError(ValueError):
    """A checkpoint that this run's options cannot continue."""


# ---------------------------------------------------------------- settings


@dataclass(frozen=True)
class Settings:
    """Every number a run depends on, resolved from the options and the model file; a checkpoint records them
    and a resumption must match them."""

    method: str
    dataset: str
    arch: str
    timesteps: int
    epochs: int
    ann_epochs: int
    lr: float
    ann_lr: float
    batch_size: int
    ann_batch_size: int
    dropout: float
    ann_dropout: float
    seed: int
    pixel_range: tuple
    n_train: int
    n_validation: int
    n_test: int
    target_accuracy: float | None = None
    alpha: float | None = None
    train_timesteps: int | None = None
    threshold_scale: float | None = None
    balance_images: int | None = None
    balance_timesteps: int | None = None
    long_timesteps: int | None = None
    stop_at_target: bool = False

    @property
    def conversion_based(self) -> bool:
        return self.method in ("conversion", "stdb", "diet")


def _positive(name: str, value, minimum: int = 1) -> None:
    if value is None or value < minimum:
        raise ValueError(f"{name} {value}: give an integer >= {minimum}")


def _given(value, default):
    """The option's value when given (0 included), else the model file's."""
    return default if value is None else value


def resolve(method: str, dataset: str, document: dict, *, arch=None, timesteps=None, epochs=None,
            ann_epochs=None, lr=None, ann_lr=None, batch_size=None, seed=0, target_accuracy=None,
            threshold_scale=None, balance_images=None, balance_timesteps=None, long_timesteps=None,
            stop_at_target=False, n_train=0, n_validation=0, n_test=0) -> Settings:
    """The settings of a run: each option given, else the model file's value. Raises ValueError, naming the
    option, for a value a run cannot use."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}: expected one of {', '.join(METHODS)}")
    train = document["train"]
    pixel_range = tuple(float(v) for v in document["encoding"].get("pixel_range", (0.0, 1.0)))
    common = dict(method=method, dataset=dataset, seed=int(seed), pixel_range=pixel_range, n_train=int(n_train),
                  n_validation=int(n_validation), n_test=int(n_test))
    if method in ("noise", "direct"):
        section = document.get(dataset)
        if section is None:
            raise ValueError(f"{MODEL_FILES[method]} has no section [{dataset}]")
        default_t = train["timesteps"] if method == "noise" else train["direct_timesteps"]
        target = section.get("target_accuracy", section.get("benchmark_accuracy"))
        settings = Settings(**common, arch=arch or section["arch"], timesteps=int(_given(timesteps, default_t)),
                            epochs=int(_given(epochs, section["epochs"])), ann_epochs=0,
                            lr=float(_given(lr, train["lr"])), ann_lr=0.0,
                            batch_size=int(_given(batch_size, train["batch_size"])), ann_batch_size=0, dropout=0.0,
                            ann_dropout=0.0,
                            target_accuracy=float(_given(target_accuracy, target / 100)),
                            alpha=float(document["noise"]["alpha"]) if method == "noise" else None,
                            train_timesteps=int(train["train_timesteps"]) if method == "noise" else None,
                            stop_at_target=bool(stop_at_target))
        if method == "direct":
            settings = Settings(**{**asdict(settings), "train_timesteps": settings.timesteps})
    else:
        ann, conv = document["ann"], document["conversion"]
        if method == "conversion" and epochs is not None:
            raise ValueError("--epochs: conversion trains the ANN only; give its epochs as --ann-epochs")
        default_arch = document["vgg5"]["arch"] if "vgg5" in document else document["network"]["arch"]
        default_t = document["vgg5"]["timesteps"] if "vgg5" in document else train["timesteps"]
        default_epochs = train.get("max_epochs", train.get("epochs"))
        steps = int(_given(timesteps, default_t))
        settings = Settings(**common, arch=arch or default_arch, timesteps=steps,
                            epochs=0 if method == "conversion" else int(_given(epochs, default_epochs)),
                            ann_epochs=int(_given(ann_epochs, ann["epochs"])),
                            lr=float(_given(lr, train["lr"])),
                            ann_lr=float(_given(ann_lr, ann["lr"])),
                            batch_size=int(_given(batch_size, train["batch_size"])),
                            ann_batch_size=int(_given(batch_size, ann["batch_size"])),
                            dropout=float(train.get("dropout", 0.0)), ann_dropout=float(ann.get("dropout", 0.0)),
                            threshold_scale=float(_given(threshold_scale, conv.get("threshold_scale", 1.0))),
                            balance_images=int(_given(balance_images, conv.get("balance_images", 512))),
                            balance_timesteps=int(_given(balance_timesteps, conv.get("balance_timesteps", steps))),
                            long_timesteps=int(_given(long_timesteps, conv.get("long_timesteps", 0)))
                            if method == "conversion" else None)
    check(settings)
    return settings


def check(settings: Settings) -> None:
    """Refuse settings no run can use, before any work."""
    _positive("--timesteps", settings.timesteps)
    _positive("--batch-size", settings.batch_size)
    if settings.method != "conversion":
        _positive("--epochs", settings.epochs)
    if settings.conversion_based:
        _positive("--ann-epochs", settings.ann_epochs)
        _positive("--balance-images", settings.balance_images)
        _positive("--balance-timesteps", settings.balance_timesteps)
        if not settings.threshold_scale > 0:
            raise ValueError(f"--threshold-scale {settings.threshold_scale}: give a positive factor")
        if settings.long_timesteps is not None and settings.long_timesteps < 0:
            raise ValueError(f"--long-timesteps {settings.long_timesteps}: give 0 (skip) or more steps")
    if not settings.lr > 0 or (settings.conversion_based and not settings.ann_lr > 0):
        raise ValueError("--lr and --ann-lr must be positive")
    if settings.target_accuracy is not None and not 0 < settings.target_accuracy <= 1:
        raise ValueError(f"--target-accuracy {settings.target_accuracy}: give a fraction in (0, 1], e.g. 0.9")
    parse_architecture(settings.arch)


# ---------------------------------------------------------------- data


def image_tensor(images: np.ndarray, pixel_range=(0.0, 1.0)) -> torch.Tensor:
    """uint8 images ``(N, H, W)`` or ``(N, C, H, W)`` as float32 ``(N, C, H, W)`` (C = 1 for the first), pixels
    mapped linearly onto ``pixel_range``."""
    low, high = pixel_range
    x = torch.from_numpy(np.asarray(images, dtype=np.float32) / 255.0)
    return low + (high - low) * (x.unsqueeze(1) if x.ndim == 3 else x)


@dataclass
class Data:
    """Training, validation (possibly empty) and test images as tensors."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    validation_x: torch.Tensor
    validation_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor

    @classmethod
    def split(cls, train_set, test_set, n_validation: int, pixel_range) -> "Data":
        """The last ``n_validation`` training images held out; pixels scaled."""
        n = len(train_set.labels)
        if not 0 <= n_validation < n:
            raise ValueError(f"--validation {n_validation}: give 0 (none) up to {n - 1} of the {n} training images")
        x, y = image_tensor(train_set.images, pixel_range), torch.from_numpy(train_set.labels.astype(np.int64))
        keep = n - n_validation
        return cls(x[:keep], y[:keep], x[keep:], y[keep:], image_tensor(test_set.images, pixel_range),
                   torch.from_numpy(test_set.labels.astype(np.int64)))

    @classmethod
    def load(cls, dataset: str, n_train: int, n_test: int, n_validation: int, pixel_range, folder=None) -> "Data":
        """The first ``n_train`` training images (the last ``n_validation`` of them held out) and the first
        ``n_test`` test images of ``dataset`` (:func:`brainnets.datasets.load_images`)."""
        from ..datasets import load_images
        train_set = load_images(dataset, "train", folder)[:n_train]
        test_set = load_images(dataset, "test", folder)[:n_test]
        return cls.split(train_set, test_set, n_validation, pixel_range)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.train_x.shape[1:])


# ---------------------------------------------------------------- progress and checkpoints


@dataclass
class Progress:
    """The run's record: its phase and epochs, one record per epoch, training seconds, the conversion's results,
    per phase the state of the epoch that scored best on validation images, and the final scores once made."""

    phase: str = "ann"
    epochs: int = 0
    history: list = field(default_factory=list)
    train_seconds: float = 0.0
    converted: dict | None = None
    best: dict = field(default_factory=dict)
    scores: dict | None = None

    def state(self) -> dict:
        return asdict(self)


def save_checkpoint(path, state: dict) -> None:
    from ..checkpoint import write_bytes_atomic
    buffer = io.BytesIO()
    torch.save(state, buffer)
    write_bytes_atomic(path, buffer.getvalue())


def load_checkpoint(path) -> dict:
    from ..checkpoint import CorruptFileError
    try:
        return torch.load(path, weights_only=True)
    except (RuntimeError, EOFError, OSError, ValueError) as error:
        raise CorruptFileError(f"{path}: truncated or corrupt checkpoint ({error}); start again in a new folder") \
            from None


def model_digest(document: dict) -> str:
    """A fingerprint of a model file's constants: a resumption refuses a checkpoint of other constants."""
    import hashlib
    return hashlib.sha256(json.dumps(document, sort_keys=True, default=str).encode()).hexdigest()


def _saved_settings(state: dict) -> dict:
    """A checkpoint's settings as :class:`Settings` holds them (the pixel range a tuple again)."""
    return {**state["settings"], "pixel_range": tuple(state["settings"]["pixel_range"])}


def reopen(checkpoint, data_folder=None) -> "Run":
    """The run a checkpoint was written by, with its data, networks and progress (to score it again)."""
    from ..config import read_toml
    state = load_checkpoint(checkpoint)
    settings = Settings(**_saved_settings(state))
    data = Data.load(settings.dataset, settings.n_train + settings.n_validation, settings.n_test,
                     settings.n_validation, settings.pixel_range, data_folder)
    run = Run(settings, read_toml(MODEL_FILES[settings.method]), data)
    run.load(state)
    return run


# ---------------------------------------------------------------- the run


def _seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


class Run:
    """One training of ``settings`` on ``data`` with the model file ``document``: :meth:`train` runs (or resumes)
    it, :meth:`finish` scores the selected networks and returns what the result file reports."""

    def __init__(self, settings: Settings, document: dict, data: Data):
        self.settings, self.document, self.data = settings, document, data
        torch.manual_seed(settings.seed)
        self.generator = _seeded(settings.seed + _TRAIN)
        self.progress = Progress(phase="ann" if settings.conversion_based else "snn")
        self.ann = self.ann_optimizer = self.snn = self.optimizer = self.scheduler = self.noise = None
        self.memo: dict | None = None
        shape = data.input_shape
        if settings.conversion_based:
            self.ann = conversion.ann_twin(settings.arch, shape, settings.ann_dropout)
            self.ann_optimizer = conversion.make_optimizer(self.ann, {**document["ann"], "lr": settings.ann_lr})
        elif settings.method == "noise":
            self.noise = noise_module.Noise.from_document(document, _seeded(settings.seed + _NOISE))
            self.snn = noise_module.noise_net(document, settings.arch, shape, noise=self.noise)
        else:
            self.snn = noise_module.direct_net(document, settings.arch, shape)
        if self.snn is not None:
            self.optimizer, self.scheduler = noise_module.optimizer_for(self.snn, document, settings.lr)
        net = self.ann if self.ann is not None else self.snn
        largest = int(max(data.train_y.max(), data.test_y.max()))
        if net.n_classes <= largest:
            raise ValueError(f"--arch {settings.arch}: {net.n_classes} outputs, but the labels go up to {largest}")

    # ------------------------------------------------------------ state

    def state(self) -> dict:
        s = self.settings
        return {"settings": asdict(s), "model_digest": model_digest(self.document), "progress": self.progress.state(),
                "ann": None if self.ann is None else self.ann.state_dict(),
                "ann_optimizer": None if self.ann is None else self.ann_optimizer.state_dict(),
                "snn": None if self.snn is None else self.snn.state_dict(),
                "optimizer": None if self.optimizer is None else self.optimizer.state_dict(),
                "scheduler": None if self.scheduler is None else self.scheduler.state_dict(),
                "generator": self.generator.get_state(),
                "noise_generator": None if self.noise is None else self.noise.generator.get_state(),
                "torch_rng": torch.get_rng_state()}

    def load(self, state: dict) -> None:
        """Continue from a checkpoint of a run with the same settings."""
        saved, mine = _saved_settings(state), asdict(self.settings)
        changed = sorted(key for key in set(saved) | set(mine) if saved.get(key) != mine.get(key))
        if changed:
            listed = ", ".join(f"{key} {saved.get(key)!r} -> {mine.get(key)!r}" for key in changed)
            raise ResumeError(f"--resume: the checkpoint's run had other settings ({listed}); resume with the "
                              "same options, or start a new --out")
        if state.get("model_digest") != model_digest(self.document):
            raise ResumeError(f"--resume: the model file {MODEL_FILES[self.settings.method]} changed since the "
                              "checkpoint was written; start a new --out")
        self.progress = Progress(**state["progress"])
        if self.ann is not None:
            self.ann.load_state_dict(state["ann"])
            self.ann_optimizer.load_state_dict(state["ann_optimizer"])
        if state["snn"] is not None:
            if self.snn is None:
                self._new_snn()
            self.snn.load_state_dict(state["snn"])
            self.optimizer.load_state_dict(state["optimizer"])
            if self.scheduler is not None:
                self.scheduler.load_state_dict(state["scheduler"])
        self.generator.set_state(state["generator"])
        if self.noise is not None:
            self.noise.generator.set_state(state["noise_generator"])
        torch.set_rng_state(state["torch_rng"])

    def _new_snn(self) -> None:
        """The spiking twin of the ANN (stdb, diet) and its optimiser; thresholds are set by conversion or loaded."""
        self.snn = conversion.spiking_twin(self.ann, self.document, self.settings.dropout)
        self.optimizer = conversion.make_optimizer(self.snn, {**self.document["train"], "lr": self.settings.lr})

    # ------------------------------------------------------------ scoring

    @property
    def coding(self) -> str:
        return self.document["encoding"]["kind"]

    def score(self, net: TimestepNet, x: torch.Tensor, y: torch.Tensor, steps: int, ann: bool = False,
              stage: int = 3, alpha: float | None = None) -> dict:
        """Accuracy, spikes per image and per layer, spike rates (Eq. 5.21) and the input's rate of ``net`` at
        ``steps`` steps, its random numbers drawn from a generator seeded afresh. While :attr:`memo` is a dict
        (the network unchanged meanwhile), a score asked for again is taken from it: the same numbers."""
        s = self.settings
        if s.method != "noise":
            stage, alpha = None, None
        elif steps == 1 or stage == 2:
            stage, alpha = 2, None
        else:
            alpha = s.alpha if alpha is None else float(alpha)
        key = (id(net), id(x), steps, ann, stage, alpha)
        if self.memo is not None and key in self.memo:
            return self.memo[key]
        scored = self._score(net, x, y, steps, ann, stage, alpha)
        if self.memo is not None:
            self.memo[key] = scored
        return scored

    def _score(self, net, x, y, steps: int, ann: bool, stage: int | None, alpha: float | None) -> dict:
        s = self.settings
        if s.conversion_based:
            coding = "direct" if ann else self.coding
            result = conversion.evaluate(net, x, y, 1 if ann else steps, coding, generator=_seeded(s.seed + _SCORE),
                                         piece_steps=conversion.piece_steps_for(net, conversion.EVALUATION_BATCH))
            return {"accuracy": result.accuracy, "spikes_per_image": result.spikes_per_image,
                    "layer_spikes_per_image": list(result.layer_spikes_per_image),
                    "layer_spike_rates": list(result.layer_spike_rates), "input_spike_rate": result.input_spike_rate}
        batches = [(x[i:i + 100], y[i:i + 100]) for i in range(0, len(y), 100)]
        if s.method == "noise":
            training_generator = self.noise.generator
            self.noise.generator = _seeded(s.seed + _SCORE)
            try:
                result = noise_module.evaluate(net, batches, steps, stage=stage, alpha=alpha)
            finally:
                self.noise.generator = training_generator
        else:
            result = noise_module.evaluate(net, batches, steps)
        per_layer = list(result.layer_spikes_per_image)
        return {"accuracy": result.accuracy, "spikes_per_image": result.spikes_per_image,
                "layer_spikes_per_image": per_layer,
                "layer_spike_rates": [spikes / n for spikes, n in zip(per_layer, net.layer_neurons)],
                "input_spike_rate": None}

    def energy_ratio(self, net: TimestepNet, scored: dict) -> float:
        return energy.energy_ratio_vs_ann(net, scored["layer_spike_rates"], self.document, scored["input_spike_rate"])

    # ------------------------------------------------------------ training

    @property
    def total_epochs(self) -> int:
        return self.settings.ann_epochs + self.settings.epochs

    @property
    def epochs_done(self) -> int:
        p = self.progress
        return p.epochs + (self.settings.ann_epochs if p.phase != "ann" and self.settings.conversion_based else 0)

    def train(self, checkpoint=None, show_progress: bool = True, on_epoch=None) -> Progress:
        """Run (or continue) every phase, checkpointing after each epoch and after the conversion."""
        from tqdm import tqdm
        s, p = self.settings, self.progress
        with tqdm(total=self.total_epochs, initial=self.epochs_done, desc="epochs", disable=not show_progress) as bar:
            while p.phase == "ann" and p.epochs < s.ann_epochs:
                self._epoch("ann", show_progress)
                self._save(checkpoint, on_epoch)
                bar.update(1)
            if p.phase == "ann":
                self._keep_best("ann")
                if s.method == "conversion":
                    self._convert_and_score_long()
                else:
                    self._convert()
                p.phase, p.epochs = "snn", 0
                self._save(checkpoint, None)
            while p.phase == "snn" and p.epochs < s.epochs and not self.stopped_at_target:
                self._epoch("snn", show_progress)
                self._save(checkpoint, on_epoch)
                bar.update(1)
        if p.phase == "snn":
            self._keep_best("snn")
            p.phase = "done"
        return p

    @property
    def stopped_at_target(self) -> bool:
        """With ``stop_at_target``, the training ends after the first epoch whose test accuracy reaches the target
        (a run that only times the training to it, as Jiang's Fig. 5)."""
        s = self.settings
        return s.stop_at_target and any(r["phase"] == "snn" and r["test_accuracy"] >= s.target_accuracy
                                        for r in self.progress.history)

    def _save(self, checkpoint, on_epoch) -> None:
        if checkpoint is not None:
            save_checkpoint(checkpoint, self.state())
        if on_epoch is not None:
            on_epoch(self.progress.history[-1])

    def _epoch(self, phase: str, show_progress: bool) -> None:
        s, p, d = self.settings, self.progress, self.data
        epoch = p.epochs + 1
        start = time.perf_counter()
        if phase == "ann":
            loss = conversion.train_ann_epoch(self.ann, d.train_x, d.train_y, self.ann_optimizer, s.ann_batch_size,
                                              self.generator)
        elif s.conversion_based:
            table = {**self.document["train"], "lr": s.lr}
            for group in self.optimizer.param_groups:
                group["lr"] = conversion.learning_rate(table, epoch, s.epochs)
            train = conversion.train_stdb_epoch if s.method == "stdb" else conversion.train_diet_epoch
            loss = train(self.snn, self.document, d.train_x, d.train_y, self.optimizer, s.timesteps, s.batch_size,
                         self.generator)
        else:
            from tqdm import tqdm
            order = torch.randperm(len(d.train_y), generator=self.generator)
            batches = ((d.train_x[i], d.train_y[i]) for i in order.split(s.batch_size))
            batches = tqdm(batches, total=math.ceil(len(order) / s.batch_size), desc=f"epoch {epoch}", leave=False,
                           disable=not show_progress)
            loss = noise_module.train_epoch(self.snn, batches, self.optimizer, s.train_timesteps, self.scheduler)
        p.train_seconds += time.perf_counter() - start
        net = self.ann if phase == "ann" else self.snn
        record = {"phase": phase, "epoch": epoch, "loss": float(loss), "train_seconds": p.train_seconds}
        if phase == "ann":
            record["test_accuracy"] = self.score(net, d.test_x, d.test_y, 1, ann=True)["accuracy"]
        else:
            record["test_accuracy"] = self.score(net, d.test_x, d.test_y, s.timesteps, alpha=s.alpha)["accuracy"]
            if not s.conversion_based:
                record["test_accuracy_t1"] = self.score(net, d.test_x, d.test_y, 1)["accuracy"]
        if len(d.validation_y):
            record["validation_accuracy"] = self.score(net, d.validation_x, d.validation_y,
                                                       1 if phase == "ann" else s.timesteps, ann=phase == "ann",
                                                       alpha=s.alpha)["accuracy"]
            best = p.best.get(phase)
            if best is None or record["validation_accuracy"] > best["validation_accuracy"]:
                p.best[phase] = {"epoch": epoch, "validation_accuracy": record["validation_accuracy"],
                                 "state": copy.deepcopy(net.state_dict())}
        p.history.append(record)
        p.epochs = epoch

    def _keep_best(self, phase: str) -> None:
        """Put the phase's selected epoch (best on validation, else the last) back into its network."""
        best = self.progress.best.get(phase)
        if best is not None:
            (self.ann if phase == "ann" else self.snn).load_state_dict(best["state"])

    def selected_epoch(self, phase: str) -> int:
        best = self.progress.best.get(phase)
        epochs = [r["epoch"] for r in self.progress.history if r["phase"] == phase]
        return best["epoch"] if best is not None else (epochs[-1] if epochs else 0)

    def _balanced(self) -> list[float]:
        """Threshold balancing of the spiking twin on the first training images; sets the scaled thresholds."""
        s, d = self.settings, self.data
        self._new_snn()
        images = d.train_x[:s.balance_images]
        percentile = conversion.threshold_percentile(self.document["conversion"])
        balanced = conversion.balance_thresholds(self.snn, images, s.balance_timesteps, self.coding, percentile,
                                                 self.generator,
                                                 piece_steps=conversion.piece_steps_for(self.snn, len(images)))
        conversion.set_thresholds(self.snn, self._scaled(balanced))
        return balanced

    def _convert(self) -> None:
        """The conversion at the run's T, scored with the ANN beside it (stdb, diet)."""
        s, d = self.settings, self.data
        start = time.perf_counter()
        balanced = self._balanced()
        seconds = time.perf_counter() - start
        self.memo = {}
        ann = self.score(self.ann, d.test_x, d.test_y, 1, ann=True)
        converted = self.score(self.snn, d.test_x, d.test_y, s.timesteps)
        curve = self.curve(self.snn)
        self.memo = None
        self.progress.converted = {
            "balanced_thresholds": balanced, "conversion_seconds": seconds, "ann_accuracy": ann["accuracy"],
            "ann_epoch": self.selected_epoch("ann"), "converted_accuracy": converted["accuracy"],
            "converted_spikes_per_image": converted["spikes_per_image"],
            "converted_layer_spikes_per_image": converted["layer_spikes_per_image"],
            "converted_layer_spike_rates": converted["layer_spike_rates"],
            "converted_energy_ratio_vs_ann": self.energy_ratio(self.snn, converted),
            "converted_accuracy_vs_timesteps": curve}

    def _convert_and_score_long(self) -> None:
        """The conversion method: balanced thresholds at the long T, scaled ones at the run's T."""
        s, d = self.settings, self.data
        self._convert()
        if s.long_timesteps:
            conversion.set_thresholds(self.snn, self.progress.converted["balanced_thresholds"])
            long = self.score(self.snn, d.test_x, d.test_y, s.long_timesteps)
            conversion.set_thresholds(self.snn, self._scaled(self.progress.converted["balanced_thresholds"]))
            self.progress.converted.update(converted_long_accuracy=long["accuracy"],
                                           converted_long_spikes_per_image=long["spikes_per_image"])

    def converted_network(self) -> TimestepNet:
        """The network as converted (stdb, diet, conversion): the ANN's spiking twin with the balanced thresholds
        scaled for the run's T, whatever spiking training came after."""
        if self.progress.converted is None:
            raise ValueError("the run has not been converted yet: its checkpoint is from the ANN's training")
        twin = conversion.spiking_twin(self.ann, self.document, self.settings.dropout)
        conversion.set_thresholds(twin, self._scaled(self.progress.converted["balanced_thresholds"]))
        return twin

    def _scaled(self, balanced) -> list[float]:
        """The thresholds at the run's T: the balanced ones times the threshold scale."""
        return [self.settings.threshold_scale * v for v in balanced]

    def curve(self, net: TimestepNet, stage: int = 3) -> list[dict]:
        """Test accuracy at T = 1, 2, 5, 10 and the run's T."""
        s, d = self.settings, self.data
        steps = sorted(set(CURVE_TIMESTEPS) | {s.timesteps})
        return [{"timesteps": t, "accuracy": self.score(net, d.test_x, d.test_y, t, stage=stage,
                                                        alpha=s.alpha)["accuracy"]} for t in steps]

    # ------------------------------------------------------------ the result

    def finish(self, checkpoint=None) -> dict:
        """Score the selected network: the result file's numbers (without the Brian2 check and provenance). The
        scores go into the checkpoint: a run killed after them (in its Brian2 check) does not score again."""
        if self.progress.scores is None:
            self.memo = {}
            try:
                self.progress.scores = _plain(self._finish())
            finally:
                self.memo = None
            if checkpoint is not None:
                save_checkpoint(checkpoint, self.state())
        return self.progress.scores

    def _finish(self) -> dict:
        s, p, d = self.settings, self.progress, self.data
        net = self.snn
        final = self.score(net, d.test_x, d.test_y, s.timesteps, alpha=s.alpha)
        result = {"test_accuracy": final["accuracy"], "spikes_per_image": final["spikes_per_image"],
                  "layer_spikes_per_image": final["layer_spikes_per_image"],
                  "layer_spike_rates": final["layer_spike_rates"], "input_spike_rate": final["input_spike_rate"],
                  "energy_ratio_vs_ann": self.energy_ratio(net, final), "train_seconds": p.train_seconds,
                  "history": p.history, "selected_epoch": self.selected_epoch("snn") if s.method != "conversion"
                  else None, "accuracy_vs_timesteps": self.curve(net),
                  "thresholds": [float(_neuron(layer).threshold.detach()) for layer in net.spiking_layers],
                  "leaks": [float(_neuron(layer).leak.detach()) for layer in net.spiking_layers]}
        if s.conversion_based:
            converted = dict(p.converted)
            result.update(converted)
            result["ann_train_seconds"] = max([r["train_seconds"] for r in p.history if r["phase"] == "ann"],
                                              default=0.0)
            if s.method != "conversion":
                result["spike_reduction_vs_converted"] = (converted["converted_spikes_per_image"]
                                                          / max(final["spikes_per_image"], 1e-12))
        else:
            result["test_accuracy_t1"] = self.score(net, d.test_x, d.test_y, 1)["accuracy"]
            reached = [r for r in p.history if r["test_accuracy"] >= s.target_accuracy]
            result["seconds_to_accuracy"] = reached[0]["train_seconds"] if reached else None
            result["epochs_to_accuracy"] = reached[0]["epoch"] if reached else None
        if s.method == "noise":
            result["stage2_accuracy"] = self.score(net, d.test_x, d.test_y, s.timesteps, stage=2)["accuracy"]
            result["stage2_accuracy_vs_timesteps"] = self.curve(net, stage=2)
            result["alpha_ablation"] = self.alpha_ablation()
        return result

    def alpha_ablation(self) -> list[dict]:
        """Jiang's Fig. 6: stage 3's test accuracy for every alpha of the model file at T = 1, 5 and 10."""
        d = self.data
        rows = []
        for alpha in self.document["noise"]["ablation_alphas"]:
            for steps in ABLATION_TIMESTEPS:
                scored = self.score(self.snn, d.test_x, d.test_y, steps, stage=3, alpha=float(alpha))
                rows.append({"alpha": "inf" if math.isinf(alpha) else float(alpha), "timesteps": steps,
                             "accuracy": scored["accuracy"]})
        return rows

    def network_for_brian2(self) -> TimestepNet:
        """The network the Brian2 check re-simulates: the selected one, a noise network at stage 3."""
        net = copy.deepcopy(self.snn).requires_grad_(False).eval()
        if self.settings.method == "noise":
            noise_module.set_stage(net, 3, self.settings.alpha)
        return net

    def coded_test_inputs(self, count: int) -> tuple[torch.Tensor, str]:
        """The first ``count`` test images coded over the run's T ``(T, count, *shape)``, float64, and the coding;
        Poisson spikes drawn with a generator seeded from the run's seed."""
        s = self.settings
        x = self.data.test_x[:count].double()
        coding = self.coding
        if coding == "poisson":
            return encoding.poisson(x, s.timesteps, _seeded(s.seed + _BRIAN2)), coding
        return encoding.direct(x, s.timesteps), coding


def _plain(value):
    """``value`` with numpy's numbers and arrays as Python's: a checkpoint holds plain types only."""
    return json.loads(json.dumps(value, default=lambda v: v.tolist()))


def _neuron(layer):
    """The LIF layer inside a noise network's :class:`~brainnets.timestep.noise.NoisyNeuron`, or the layer."""
    return layer.neuron if isinstance(layer, noise_module.NoisyNeuron) else layer


def brian2_check(run: Run, count: int, device: str, directory) -> dict:
    """The Brian2 re-simulation of the first ``count`` test images (:func:`brainnets.timestep.bridge.compare`):
    its keys; a network the bridge cannot re-simulate yet gives ``brian2_images`` 0 and the reason."""
    count = min(count, len(run.data.test_y))
    if count == 0:
        return {"brian2_images": 0, "brian2_spike_mismatches": None}
    from . import bridge
    net = run.network_for_brian2()
    coded, coding = run.coded_test_inputs(count)
    try:
        return bridge.compare(net, coded, coding, device, directory=directory)
    except NotImplementedError as error:
        return {"brian2_images": 0, "brian2_spike_mismatches": None,
                "brian2_not_checked": f"the Brian2 bridge cannot re-simulate this network: {error}"}
