"""A complete unimodal experiment: train with STDP, label the neurons, test; resumable at every step.

The three phases share one compiled network (``learning`` is a run argument):

1. ``train``  - the training images, ``epochs`` times, with STDP and homeostasis on;
2. ``assign`` - the same training images (or the first ``n_assign`` of them) again with plasticity off,
   to label the neurons (Diehl & Cook's published numbers use training-set responses, not the test set);
3. ``test``   - the test images, plasticity off.

A :class:`~.compression.Compression` prunes and quantizes the input weights at batch boundaries of the
training phase; when training ends, :meth:`UnimodalExperiment.finalize` removes the remaining
non-critical synapses for good, so that the labelled and tested network is the sparse one.

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

from ..checkpoint import check_run_folder, load_arrays, save_arrays_atomic, write_json_atomic
from ..datasets import LabelledImages
from ..devices import DEVICES, use_device
from ..provenance import provenance
from .compression import Compression, normalize_columns
from .ensemble import UnimodalEnsemble
from .model import DiehlCookModel
from .readout import assign_labels, confusion_matrix, predict
from .simulation import EnsembleSimulation



class ExperimentError(RuntimeError):
    """The output folder or the settings do not allow this run (finished, or a different run)."""


@dataclass(frozen=True)
class Settings:
    model: str
    dataset: str = "mnist"  # mnist, fashion_mnist or idx:FOLDER (datasets.load_images)
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
    checkpoint_seconds: float = 60.0

    def __post_init__(self):
        check_run_settings(self, ("n_exc", "n_train", "n_test", "epochs", "slots_per_run"))

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


def run_identity(settings) -> dict:
    """What must match for a checkpoint to be resumed (not how often it is written)."""
    document = dataclasses.asdict(settings)
    document.pop("checkpoint_seconds")
    return document


def training_order(n_train: int, epochs: int, order: str, seed: int) -> np.ndarray:
    """Indices of the training images in the order they are shown: ``epochs`` passes, each in the dataset's
    order or, for ``order="shuffled"``, a fresh permutation drawn from ``seed``."""
    if order == "dataset":
        return np.tile(np.arange(n_train), epochs)
    rng = np.random.default_rng([seed, 2])  # not the streams of the connections, delays and weights
    return np.concatenate([rng.permutation(n_train) for _ in range(epochs)])


class PhasedExperiment:
    """Phases of presentations to one network, checkpointed and resumable.

    Subclasses say what the phases are (``phases``: name -> whether it learns), what each shows
    (:meth:`_phase_items`), how the network is built (:meth:`_build_simulation`) and what the results are
    (:meth:`_finish`); ``counts[phase]`` receives the excitatory spike counts of every item shown.
    """

    phases: dict[str, bool]

    def __init__(self, settings, out_dir: str | Path, resume: bool, progress: bool):
        self.settings = settings
        self.out = Path(out_dir)
        self.progress = progress
        self._check_out_dir(resume)
        self.sim: EnsembleSimulation | None = None
        self.phase, self.position = 0, 0
        self.counts: dict[str, np.ndarray] = {}
        self.tries = {phase: 0 for phase in self.phases}
        self.activity = {phase: {"exc_spikes": 0, "input_spikes": 0, "synaptic_ops": 0} for phase in self.phases}
        self.seconds = {"build": 0.0, **{phase: 0.0 for phase in self.phases}}
        self.provenance = provenance()  # the code as it was when the run started, not when it ends

    @property
    def checkpoint_path(self) -> Path:
        return self.out / "checkpoint.npz"

    def _check_out_dir(self, resume: bool) -> None:
        check_run_folder(self.out, resume, self.checkpoint_path)
        if resume:
            saved = json.loads((self.out / "settings.json").read_text())
            if saved != self.settings.identity():
                raise ExperimentError(f"--resume: {self.out} was started with different settings {saved}")

    # -- what subclasses provide -------------------------------------------------------------------
    def _phase_items(self, phase: str):
        raise NotImplementedError

    def _build_simulation(self, structure: dict) -> None:
        """Build ``self.sim``; ``structure`` holds the arrays of :meth:`_structure` when resuming."""
        raise NotImplementedError

    def _finish(self) -> dict:
        raise NotImplementedError

    def _structure(self) -> dict[str, np.ndarray]:
        """Arrays the network's build depends on beyond the settings (checkpointed)."""
        return {}

    def _judged(self, phase: str) -> dict[str, bool] | None:
        return None

    def _batch_stops(self, phase: str) -> list[int]:
        """Positions a run must stop at, besides every ``slots_per_run`` items."""
        return []

    def _after_batch(self, phase: str) -> None:
        pass

    def _after_phase(self, phase: str) -> None:
        pass

    # -- running -----------------------------------------------------------------------------------
    def _phase_length(self, phase: str) -> int:
        return len(self._phase_items(phase))

    def build(self) -> None:
        """Build (and compile) the network, as the checkpoint left it if there is one."""
        self.out.mkdir(parents=True, exist_ok=True)
        if self.checkpoint_path.exists():
            saved = load_arrays(self.checkpoint_path)
            self._build_simulation({key.split("/", 1)[1]: saved.pop(key) for key in list(saved)
                                    if key.startswith("structure/")})
            self._restore(saved)
        else:
            self._build_simulation({})
            write_json_atomic(self.out / "settings.json", self.settings.identity())

    def _timed_build(self, build) -> None:
        started = time.perf_counter()
        self.sim = build()
        self.seconds["build"] += time.perf_counter() - started

    def run(self) -> dict:
        """All remaining phases; returns the metrics (also written to ``metrics.json``)."""
        if self.sim is None:
            self.build()
        last_save = time.perf_counter()
        names = list(self.phases)
        while self.phase < len(names):
            name = names[self.phase]
            items = self._phase_items(name)
            bar = tqdm(total=len(items), initial=self.position, desc=name, unit="item",
                       disable=not self.progress, smoothing=0.05)
            stops = self._batch_stops(name) + [len(items)]
            while self.position < len(items):
                started = time.perf_counter()
                stop = min(self.position + self.settings.slots_per_run,
                           min(s for s in stops if s > self.position))
                shown = self.sim.present(items[self.position:stop], learning=self.phases[name],
                                         judged=self._judged(name))
                if name in self.counts:
                    self.counts[name][self.position:self.position + shown.n_done] = shown.counts
                self.position += shown.n_done
                self._count_activity(name, shown)
                self._after_batch(name)
                self.seconds[name] += time.perf_counter() - started
                bar.update(shown.n_done)
                if time.perf_counter() - last_save > self.settings.checkpoint_seconds:
                    self._save()
                    last_save = time.perf_counter()
            bar.close()
            self._after_phase(name)
            self.phase, self.position = self.phase + 1, 0
            self._save()
        return self._finish()

    def _fan_out(self) -> np.ndarray:
        """Synapses each input neuron drives (for the synaptic-operation count)."""
        return np.concatenate([layer.connections.sum(axis=1) for layer in self.sim.ensemble.layers])

    def _count_activity(self, phase: str, shown) -> None:
        counters = self.activity[phase]
        counters["exc_spikes"] += shown.exc_spikes
        counters["input_spikes"] += int(shown.input_spikes.sum())
        counters["synaptic_ops"] += int(shown.input_spikes @ self._fan_out())
        self.tries[phase] += int(shown.tries.sum())

    # -- checkpoints -------------------------------------------------------------------------------
    def _extra_progress(self) -> dict:
        return {}

    def _restore_extra(self, progress: dict) -> None:
        pass

    def _save(self) -> None:
        arrays = {f"state/{owner}/{name}": value for (owner, name), value in self.sim.state.items()}
        arrays.update({f"counts/{phase}": counts for phase, counts in self.counts.items()})
        arrays.update({f"structure/{name}": value for name, value in self._structure().items()})
        progress = {"phase": self.phase, "position": self.position, "runs_done": self.sim.runs_done,
                    "tries": self.tries, "activity": self.activity, "seconds": self.seconds,
                    **self._extra_progress()}
        arrays["progress"] = np.array(json.dumps(progress))
        save_arrays_atomic(self.checkpoint_path, arrays)

    def _restore(self, arrays: dict) -> None:
        progress = json.loads(str(arrays.pop("progress")))
        carried = {(group.name, name) for group, names in self.sim.ensemble.state_variables().items()
                   for name in names} | set(self.sim.state)
        for key, value in arrays.items():
            kind, *rest = key.split("/")
            if kind == "state":
                if tuple(rest) not in carried:
                    raise ExperimentError(f"--resume: {self.checkpoint_path} holds {'.'.join(rest)}, which this "
                                          "version's network does not have; it was written by another version")
                self.sim.state[tuple(rest)] = value
            else:
                self.counts[rest[0]] = value
        self.phase, self.position = progress["phase"], progress["position"]
        self.sim.runs_done = progress["runs_done"]
        self.tries, self.seconds, self.activity = progress["tries"], progress["seconds"], progress["activity"]
        self._restore_extra(progress)

    def _close(self) -> None:
        """The run is finished: drop the checkpoint and the compiled project."""
        self.checkpoint_path.unlink(missing_ok=True)
        shutil.rmtree(self.out / "standalone", ignore_errors=True)


class UnimodalExperiment(PhasedExperiment):
    """Train a :class:`UnimodalEnsemble` on images, label its neurons, test it."""

    phases = {"train": True, "assign": False, "test": False}

    def __init__(self, settings: Settings, train: LabelledImages, test: LabelledImages,
                 out_dir: str | Path, resume: bool = False, progress: bool = True):
        if len(train) < settings.n_train or len(test) < settings.n_test:
            raise ValueError(f"asked for {settings.n_train} training and {settings.n_test} test images, "
                             f"have {len(train)} and {len(test)}")
        super().__init__(settings, out_dir, resume, progress)
        self.train, self.test = train[:settings.n_train], test[:settings.n_test]
        self.model = DiehlCookModel.load(settings.model)
        self.training_order = training_order(settings.n_train, settings.epochs,
                                             self.model.protocol.training_order, settings.seed)
        self.assign = self.train[:settings.n_assign or settings.n_train]
        self.compression_steps = settings.compression.steps(self._phase_length("train"))
        self.steps_done: list[dict] = []  # one entry per compression step
        self.counts = {"assign": np.zeros((len(self.assign), settings.n_exc), dtype=np.int32),
                       "test": np.zeros((settings.n_test, settings.n_exc), dtype=np.int32)}

    def _phase_items(self, phase: str) -> np.ndarray:
        if phase == "train":
            return self.train.images[self.training_order]
        return (self.assign if phase == "assign" else self.test).images

    def _phase_length(self, phase: str) -> int:
        return {"train": len(self.training_order), "assign": len(self.assign),
                "test": self.settings.n_test}[phase]

    def _build_simulation(self, structure: dict) -> None:
        s = self.settings
        connections = structure.get("connections")
        if connections is None:
            shape = (self.train.images[0].size, s.n_exc)
            rng = np.random.default_rng([s.seed, 1])  # not the stream of the delays and weights
            connections = s.compression.initial_connections(shape, rng)

        def build():
            build_dir = self.out / "standalone"
            use_device(s.device, build_dir)
            ensemble = UnimodalEnsemble(self.model, s.n_exc, self.train.images[0].size,
                                        slots_per_run=s.slots_per_run, connections=connections,
                                        inhibition=s.inhibition, homeostasis=s.homeostasis,
                                        rng=np.random.default_rng(s.seed))
            return EnsembleSimulation(ensemble, s.device, build_dir, seed=s.seed)
        self._timed_build(build)

    def _structure(self) -> dict[str, np.ndarray]:
        return {"connections": self.sim.ensemble.layer.connections}

    def _batch_stops(self, phase: str) -> list[int]:
        return self.compression_steps if phase == "train" else []

    def _after_batch(self, phase: str) -> None:
        if phase == "train" and self.position in self.compression_steps:
            self.compress()

    def _after_phase(self, phase: str) -> None:
        if phase == "train" and self.settings.compression.removes_synapses:
            self.finalize()

    def _extra_progress(self) -> dict:
        return {"steps_done": self.steps_done}

    def _restore_extra(self, progress: dict) -> None:
        self.steps_done = progress["steps_done"]

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
        self._build_simulation({"connections": survivors})
        self.sim.state = old.ensemble.layer.restricted_state(old.state, survivors)
        self.sim.runs_done = old.runs_done

    # -- results -----------------------------------------------------------------------------------
    def _finish(self) -> dict:
        from ..plotting import plot_confusion, plot_receptive_fields

        s = self.settings
        assignments = assign_labels(self.counts["assign"], self.assign.labels)
        predictions = predict(self.counts["test"], assignments)
        confusion = confusion_matrix(self.test.labels, predictions)
        weights = self.sim.ensemble.layer.weights(self.sim.state)
        theta = self.sim.state[("exc", "theta")]
        n_trained = s.n_train * s.epochs
        metrics = {
            "accuracy": float(np.mean(predictions == self.test.labels)),
            "n_exc": s.n_exc, "n_train": s.n_train, "n_test": s.n_test, "n_assign": len(self.assign),
            "epochs": s.epochs,
            "seed": s.seed, "device": s.device, "inhibition": s.inhibition, "homeostasis": s.homeostasis,
            "model": s.model, "dataset": s.dataset, "stdp_rule": type(self.model.stdp).__name__,
            **self.provenance,
            "build_seconds": self.seconds["build"],
            "train_seconds": self.seconds["train"],
            "train_ms_per_image": 1000 * self.seconds["train"] / n_trained,
            "eval_seconds": self.seconds["assign"] + self.seconds["test"],
            "presentations_per_image": {phase: self.tries[phase] / self._phase_length(phase)
                                        for phase in self.phases},
            "neurons_assigned_per_class": np.bincount(assignments[assignments >= 0], minlength=10).tolist(),
            # existing synapses / all possible ones (Rathi 2.5: the devices of the crossbar); the nonzero
            # fraction also counts the synapses STDP drove to 0 as absent (the baseline's dot in Fig. 2.6a)
            "connectivity": float(self.sim.ensemble.layer.connections.mean()),
            "nonzero_fraction": float(np.mean(weights > 0)),
            "n_synapses": int(self.sim.ensemble.layer.connections.sum()),
            "compression": dataclasses.asdict(s.compression),
            "compression_steps": self.steps_done,
            "activity": self.activity,
            "test_exc_spikes": self.activity["test"]["exc_spikes"],
            "test_synaptic_ops": self.activity["test"]["synaptic_ops"],
            "confusion_matrix": confusion.tolist(),
        }
        save_arrays_atomic(self.out / "network.npz", {"weights": weights, "theta": theta,
                                                      "assignments": assignments})
        save_arrays_atomic(self.out / "responses.npz", {
            "assign_counts": self.counts["assign"], "assign_labels": self.assign.labels,
            "test_counts": self.counts["test"], "test_labels": self.test.labels, "test_predictions": predictions})
        plot_receptive_fields(weights, self.out / "receptive_fields.png",
                              title=f"{s.n_exc} neurons, {n_trained} training images")
        plot_confusion(confusion, self.out / "confusion.png",
                       title=f"accuracy {100 * metrics['accuracy']:.1f}% on {s.n_test} test images")
        write_json_atomic(self.out / "metrics.json", metrics)
        self._close()
        return metrics
