"""One training of Bacho's methods, epoch by epoch, with checkpoints (what ``brainnets spike-time`` runs).

Spiking methods (``bats``, ``fast_deep``, ``sfdfa``, ``dfa``) train the exact event-driven networks of this
package in float32 and are evaluated in float64 (the spike times the Brian2 bridge checks). The dense methods
(``bp``, ``fdfa``, ``dfa``, ``fg_w``, ``fg_a`` with ``dense=True``) train non-spiking ReLU networks
(:mod:`brainnets.feedback`, ch. 4). Each method's constants are a section of a model file: spiking
``{dataset}_{method}`` of ``bacho2024_bats.toml``, dense ``[network]`` / ``[training]`` of ``bacho2024_fdfa.toml``.
"""
from __future__ import annotations

import copy
import io
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from ..config import read_toml
from . import feedback as direct_feedback
from .network import SpikingFC, accuracy, exact_gradients, image_inputs, train_epoch

SPIKING_METHODS = ("bats", "fast_deep", "sfdfa", "dfa")
#: Thesis test accuracies of the spiking networks (Tables 4 and 17; fractions, as the package reports accuracies).
THESIS_ACCURACY = {("bats", "mnist"): 0.9888, ("fast_deep", "mnist"): 0.9783, ("sfdfa", "mnist"): 0.9856,
                   ("dfa", "mnist"): 0.9842, ("bats", "fashion_mnist"): 0.9019, ("fast_deep", "fashion_mnist"): 0.8847,
                   ("sfdfa", "fashion_mnist"): 0.8973, ("dfa", "fashion_mnist"): 0.8941}
#: Thesis Table 14, two-layer fully connected non-spiking networks.
THESIS_DENSE_ACCURACY = {("bp", "mnist"): 0.9825, ("fg_w", "mnist"): 0.8587, ("fg_a", "mnist"): 0.9339,
                         ("dfa", "mnist"): 0.9804, ("fdfa", "mnist"): 0.9821, ("bp", "fashion_mnist"): 0.8937,
                         ("fg_w", "fashion_mnist"): 0.7772, ("fg_a", "fashion_mnist"): 0.8473,
                         ("dfa", "fashion_mnist"): 0.8867, ("fdfa", "fashion_mnist"): 0.8927}


def thesis_accuracy(method: str, dataset: str, dense: bool, n_layers: int) -> float | None:
    """The thesis' test accuracy of a run like this one, if it reports one (dense: two-layer nets only)."""
    if dense:
        return THESIS_DENSE_ACCURACY.get((method, dataset)) if n_layers == 2 else None
    return THESIS_ACCURACY.get((method, dataset))


def spiking_section(method: str, dataset: str, model_file: str = "bacho2024_bats") -> tuple[dict, dict]:
    """``(section, whole model file)`` of a spiking method on a data set."""
    config = read_toml(model_file)
    name = f"{dataset}_{method}"
    if name not in config:
        known = sorted(key for key in config if isinstance(config[key], dict) and "hidden" in config[key])
        raise ValueError(f"{model_file} has no section [{name}]; it has {known}")
    return config[name], config


@dataclass
class SpikingTraining:
    """A spiking network, its optimiser and (DFA, SFDFA) its direct feedback."""

    method: str
    section: dict
    encoding: dict
    net: SpikingFC
    optimizer: torch.optim.Optimizer
    generator: torch.Generator
    feedback: direct_feedback.Feedback | None = None
    bounded: bool = False

    @classmethod
    def new(cls, method: str, section: dict, encoding: dict, n_inputs: int, n_classes: int, seed: int,
            bounded: bool | None = None) -> "SpikingTraining":
        generator = torch.Generator().manual_seed(seed)
        net = SpikingFC.from_config(section, n_inputs, n_classes, generator=generator, dtype=torch.float32)
        optimizer = torch.optim.Adam(net.parameters(), lr=section["lr"], betas=(0.9, 0.999), eps=1e-8)
        feedback = direct_feedback.Feedback(net, method, generator) if method in direct_feedback.METHODS else None
        if bounded is None:
            bounded = section.get("local_gradient", "exact") == "bounded"
        return cls(method, section, encoding, net, optimizer, generator, feedback, bounded)

    def inputs(self, images: np.ndarray, labels: np.ndarray, dtype=torch.float32):
        return image_inputs(images, labels, self.encoding, dtype)

    def epoch(self, images: np.ndarray, labels: np.ndarray, progress: bool) -> dict:
        x, y = self.inputs(images, labels)
        gradients = (exact_gradients(self.section) if self.feedback is None
                     else direct_feedback.direct_feedback_gradients(self.section, self.feedback, self.bounded))
        return train_epoch(self.net, self.optimizer, self.section, x, y, self.section["batch_size"], self.generator,
                           gradients, progress)

    def reference_net(self) -> SpikingFC:
        """A float64 copy of the network: the reference whose spikes Brian2 re-simulates."""
        return copy.deepcopy(self.net).to(torch.float64)

    def test_accuracy(self, images: np.ndarray, labels: np.ndarray) -> float:
        x, y = self.inputs(images, labels, torch.float64)
        return accuracy(self.reference_net(), self.section, x, y, batch_size=200)

    def state(self) -> dict:
        return {"net": self.net.state_dict(), "optimizer": self.optimizer.state_dict(),
                "feedback": None if self.feedback is None else self.feedback.state_dict(),
                "generator": self.generator.get_state()}

    def load(self, state: dict) -> None:
        self.net.load_state_dict(state["net"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.feedback is not None:
            self.feedback.load_state_dict(state["feedback"])
        self.generator.set_state(state["generator"])


@dataclass
class DenseTraining:
    """A non-spiking ReLU network trained by one of ch. 4's methods."""

    method: str
    net: object
    estimator: object
    optimizer: torch.optim.Optimizer
    scheduler: object
    batch_size: int
    generator: torch.Generator

    @classmethod
    def new(cls, method: str, sizes: list[int], training: dict, alpha: float, activation: str,
            seed: int) -> "DenseTraining":
        from ..feedback.training import new_training
        generator = torch.Generator().manual_seed(seed)
        name = method.upper().replace("_", "-")
        parts = new_training(name, sizes, lr=training["lr"], lr_decay=training["lr_decay"], alpha=alpha,
                             activation=activation, generator=generator)
        return cls(method, *parts, training["batch_size"], generator)

    def epoch(self, images: np.ndarray, labels: np.ndarray, progress: bool) -> dict:
        from ..feedback.training import mnist_tensors, train_epoch as dense_epoch
        x, y = mnist_tensors(images, labels)
        loss = dense_epoch(self.net, self.estimator, self.optimizer, x, y, self.batch_size, self.generator, progress)
        self.scheduler.step()
        return {"loss": loss}

    def test_accuracy(self, images: np.ndarray, labels: np.ndarray) -> float:
        from ..feedback.training import accuracy as dense_accuracy, mnist_tensors
        return dense_accuracy(self.net, *mnist_tensors(images, labels))

    def state(self) -> dict:
        return {"weights": self.net.weights, "feedback": self.net.feedback, "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(), "generator": self.generator.get_state()}

    def load(self, state: dict) -> None:
        with torch.no_grad():
            for mine, saved in zip(self.net.weights + self.net.feedback, state["weights"] + state["feedback"]):
                mine.copy_(saved)
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.generator.set_state(state["generator"])


@dataclass
class Progress:
    """What a checkpoint holds beside the training's state: epochs done, their records, training seconds, and
    (with validation images) the state after the epoch that scored best on them."""

    epochs: int = 0
    history: list = field(default_factory=list)
    train_seconds: float = 0.0
    best: dict | None = None

    @property
    def selected(self) -> dict:
        """The record of the epoch whose network is kept: the best on validation, else the last."""
        if self.best is None:
            return self.history[-1]
        return self.history[self.best["epoch"] - 1]


def save_checkpoint(path, training, progress: Progress) -> None:
    from ..checkpoint import write_bytes_atomic
    buffer = io.BytesIO()
    torch.save({"training": training.state(), "epochs": progress.epochs, "history": progress.history,
                "train_seconds": progress.train_seconds, "best": progress.best}, buffer)
    write_bytes_atomic(path, buffer.getvalue())


def load_checkpoint(path, training) -> Progress:
    from ..checkpoint import CorruptFileError
    try:
        saved = torch.load(path, weights_only=True)
    except (RuntimeError, EOFError, OSError) as error:
        raise CorruptFileError(f"{path}: truncated or corrupt checkpoint ({error}); start again in a new folder") \
            from None
    training.load(saved["training"])
    return Progress(saved["epochs"], saved["history"], saved["train_seconds"], saved.get("best"))


def train(training, train_set, test_set, epochs: int, checkpoint=None, progress: Progress | None = None,
          show_progress: bool = True, on_epoch=None, validation_set=None) -> Progress:
    """Train until ``epochs`` are done, testing after each and checkpointing it (``checkpoint``: a path). With a
    ``validation_set`` (images held out of training) each epoch is also scored on it and the best one's state is
    kept (:attr:`Progress.best`); :func:`keep_selected` restores it."""
    from tqdm import tqdm
    progress = progress or Progress()
    for epoch in tqdm(range(progress.epochs, epochs), desc="epochs", initial=progress.epochs, total=epochs,
                      disable=not show_progress):
        start = time.perf_counter()
        record = training.epoch(train_set.images, train_set.labels, show_progress)
        progress.train_seconds += time.perf_counter() - start
        record.update(epoch=epoch + 1, test_accuracy=training.test_accuracy(test_set.images, test_set.labels),
                      train_seconds=progress.train_seconds)
        if validation_set is not None:
            record["validation_accuracy"] = training.test_accuracy(validation_set.images, validation_set.labels)
            if progress.best is None or record["validation_accuracy"] > progress.best["validation_accuracy"]:
                progress.best = {"epoch": epoch + 1, "validation_accuracy": record["validation_accuracy"],
                                 "state": copy.deepcopy(training.state())}
        progress.history.append(record)
        progress.epochs = epoch + 1
        if checkpoint is not None:
            save_checkpoint(checkpoint, training, progress)
        if on_epoch is not None:
            on_epoch(record)
    return progress


def keep_selected(training, progress: Progress) -> None:
    """Put the network of the selected epoch (:attr:`Progress.selected`) back into ``training``."""
    if progress.best is not None:
        training.load(progress.best["state"])
