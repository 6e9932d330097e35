"""A complete unimodal experiment: train with STDP, label the neurons, test; resumable at every step.

The three phases share one compiled network (``learning`` is a run argument):

1. ``train``  - the training images, ``epochs`` times, with STDP and homeostasis on;
2. ``assign`` - the same training images again with plasticity off, to label the neurons
   (Diehl & Cook's published numbers use training-set responses, not the test set);
3. ``test``   - the test images, plasticity off.

After every run of the simulation the experiment may write ``checkpoint.npz`` (atomically); with
``resume=True`` it continues from there. A folder whose ``metrics.json`` exists is never overwritten.
"""
from __future__ import annotations

import dataclasses
import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..checkpoint import load_arrays, save_arrays_atomic, write_json_atomic
from ..datasets import LabelledImages
from ..devices import DEVICES, use_device
from ..provenance import provenance
from .ensemble import UnimodalEnsemble
from .model import DiehlCookModel
from .readout import assign_labels, confusion_matrix, predict
from .simulation import EnsembleSimulation

PHASES = ("train", "assign", "test")


class ExperimentError(RuntimeError):
    """The output folder or the settings do not allow this run (finished, or a different run)."""


@dataclass(frozen=True)
class Settings:
    model: str
    n_exc: int = 100
    n_train: int = 60000
    n_test: int = 10000
    epochs: int = 1
    seed: int = 0
    device: str = "cpp"
    inhibition: bool = True
    homeostasis: bool = True
    slots_per_run: int = 250
    checkpoint_seconds: float = 60.0

    def __post_init__(self):
        for name in ("n_exc", "n_train", "n_test", "epochs", "slots_per_run"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.device not in DEVICES:
            raise ValueError(f"device must be one of {DEVICES}, got {self.device!r}")

    def identity(self) -> dict:
        """What must match for a checkpoint to be resumed (not how often it is written)."""
        document = dataclasses.asdict(self)
        document.pop("checkpoint_seconds")
        return document


class UnimodalExperiment:
    def __init__(self, settings: Settings, train: LabelledImages, test: LabelledImages,
                 out_dir: str | Path, resume: bool = False, progress: bool = True):
        if len(train) < settings.n_train or len(test) < settings.n_test:
            raise ValueError(f"asked for {settings.n_train} training and {settings.n_test} test images, "
                             f"have {len(train)} and {len(test)}")
        self.settings = settings
        self.train, self.test = train.head(settings.n_train), test.head(settings.n_test)
        self.out = Path(out_dir)
        self.progress = progress
        self._check_out_dir(resume)
        self.model = DiehlCookModel.load(settings.model)
        self.sim: EnsembleSimulation | None = None
        self.phase, self.position = 0, 0
        self.counts = {"assign": np.zeros((settings.n_train, settings.n_exc), dtype=np.int32),
                       "test": np.zeros((settings.n_test, settings.n_exc), dtype=np.int32)}
        self.tries = {phase: 0 for phase in PHASES}
        self.seconds = {"build": 0.0, **{phase: 0.0 for phase in PHASES}}

    @property
    def checkpoint_path(self) -> Path:
        return self.out / "checkpoint.npz"

    def _check_out_dir(self, resume: bool) -> None:
        if (self.out / "metrics.json").exists():
            raise ExperimentError(f"{self.out} holds a finished run (metrics.json); choose another --out")
        if resume:
            if not self.checkpoint_path.exists():
                raise ExperimentError(f"--resume: no checkpoint in {self.out}")
            saved = json.loads((self.out / "settings.json").read_text())
            if saved != self.settings.identity():
                raise ExperimentError(f"--resume: {self.out} was started with different settings {saved}")
            return
        if self.out.exists() and any(self.out.iterdir()):
            hint = " (it has a checkpoint: add --resume)" if self.checkpoint_path.exists() else ""
            raise ExperimentError(f"{self.out} is not empty{hint}; choose another --out")

    def _phase_length(self, phase: str) -> int:
        return {"train": self.settings.n_train * self.settings.epochs, "assign": self.settings.n_train,
                "test": self.settings.n_test}[phase]

    def _phase_images(self, phase: str) -> np.ndarray:
        if phase == "train":
            return np.tile(self.train.images, (self.settings.epochs, 1, 1))
        return (self.train if phase == "assign" else self.test).images

    def build(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        build_dir = self.out / "standalone"
        use_device(self.settings.device, build_dir)
        ensemble = UnimodalEnsemble(self.model, self.settings.n_exc, slots_per_run=self.settings.slots_per_run,
                                    inhibition=self.settings.inhibition,
                                    homeostasis=self.settings.homeostasis,
                                    rng=np.random.default_rng(self.settings.seed))
        self.sim = EnsembleSimulation(ensemble, self.settings.device, build_dir, seed=self.settings.seed)
        self.seconds["build"] += time.perf_counter() - started
        if self.checkpoint_path.exists():
            self._restore()
        else:
            write_json_atomic(self.out / "settings.json", self.settings.identity())

    def run(self) -> dict:
        """All remaining phases; returns the metrics (also written to ``metrics.json``)."""
        if self.sim is None:
            self.build()
        last_save = time.perf_counter()
        while self.phase < len(PHASES):
            name = PHASES[self.phase]
            images = self._phase_images(name)
            bar = tqdm(total=len(images), initial=self.position, desc=name, unit="img",
                       disable=not self.progress, smoothing=0.05)
            while self.position < len(images):
                started = time.perf_counter()
                chunk = images[self.position:self.position + self.settings.slots_per_run]
                shown = self.sim.present(chunk, learning=(name == "train"))
                if name in self.counts:
                    self.counts[name][self.position:self.position + shown.n_done] = shown.counts
                self.position += shown.n_done
                self.tries[name] += int(shown.tries.sum())
                self.seconds[name] += time.perf_counter() - started
                bar.update(shown.n_done)
                if time.perf_counter() - last_save > self.settings.checkpoint_seconds:
                    self._save()
                    last_save = time.perf_counter()
            bar.close()
            self.phase, self.position = self.phase + 1, 0
            self._save()
        return self._finish()

    # -- checkpoints -------------------------------------------------------------------------------
    def _save(self) -> None:
        arrays = {f"state/{owner}/{name}": value for (owner, name), value in self.sim.state.items()}
        arrays.update({f"counts/{phase}": counts for phase, counts in self.counts.items()})
        progress = {"phase": self.phase, "position": self.position, "runs_done": self.sim.runs_done,
                    "tries": self.tries, "seconds": self.seconds}
        arrays["progress"] = np.array(json.dumps(progress))
        save_arrays_atomic(self.checkpoint_path, arrays)

    def _restore(self) -> None:
        arrays = load_arrays(self.checkpoint_path)
        progress = json.loads(str(arrays.pop("progress")))
        for key, value in arrays.items():
            kind, *rest = key.split("/")
            if kind == "state":
                self.sim.state[tuple(rest)] = value
            else:
                self.counts[rest[0]] = value
        self.phase, self.position = progress["phase"], progress["position"]
        self.sim.runs_done = progress["runs_done"]
        self.tries, self.seconds = progress["tries"], progress["seconds"]

    # -- results -----------------------------------------------------------------------------------
    def _finish(self) -> dict:
        from ..plotting import plot_confusion, plot_receptive_fields

        s = self.settings
        assignments = assign_labels(self.counts["assign"], self.train.labels)
        predictions = predict(self.counts["test"], assignments)
        confusion = confusion_matrix(self.test.labels, predictions)
        weights = self.sim.ensemble.weights(self.sim.state)
        theta = self.sim.state[("exc", "theta")]
        n_trained = s.n_train * s.epochs
        metrics = {
            "accuracy": float(np.mean(predictions == self.test.labels)),
            "n_exc": s.n_exc, "n_train": s.n_train, "n_test": s.n_test, "epochs": s.epochs,
            "seed": s.seed, "device": s.device, "inhibition": s.inhibition, "homeostasis": s.homeostasis,
            "model": s.model, "stdp_rule": type(self.model.stdp).__name__,
            **provenance(),
            "build_seconds": self.seconds["build"],
            "train_seconds": self.seconds["train"],
            "train_ms_per_image": 1000 * self.seconds["train"] / n_trained,
            "eval_seconds": self.seconds["assign"] + self.seconds["test"],
            "presentations_per_image": {phase: self.tries[phase] / self._phase_length(phase)
                                        for phase in PHASES},
            "neurons_assigned_per_class": np.bincount(assignments[assignments >= 0], minlength=10).tolist(),
            "connectivity": float(np.mean(weights > 0)),
            "confusion_matrix": confusion.tolist(),
        }
        save_arrays_atomic(self.out / "network.npz", {"weights": weights, "theta": theta,
                                                      "assignments": assignments})
        save_arrays_atomic(self.out / "responses.npz", {
            "assign_counts": self.counts["assign"], "assign_labels": self.train.labels,
            "test_counts": self.counts["test"], "test_labels": self.test.labels, "test_predictions": predictions})
        plot_receptive_fields(weights, self.out / "receptive_fields.png",
                              title=f"{s.n_exc} neurons, {n_trained} training images")
        plot_confusion(confusion, self.out / "confusion.png",
                       title=f"accuracy {100 * metrics['accuracy']:.1f}% on {s.n_test} test images")
        write_json_atomic(self.out / "metrics.json", metrics)
        self.checkpoint_path.unlink(missing_ok=True)
        shutil.rmtree(self.out / "standalone", ignore_errors=True)
        return metrics
