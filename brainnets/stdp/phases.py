"""Phases of presentations to one network, run a simulation run at a time, checkpointed and resumable.

An experiment lists its :class:`Phase` objects (what each shows, whether it learns, where it stops to act
on the network) and says how its network is built and what its report is; :class:`PhasedExperiment` runs
them. After any simulation run it may write ``checkpoint.npz`` (atomically): the network's state, the
counts recorded so far and where the loop stands. With ``resume=True`` a run continues from there and
ends bit-identical to one never stopped. A folder whose ``metrics.json`` exists is never overwritten.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from ..checkpoint import (LEFTOVER_PATTERN, check_run_folder, hold_folder, load_arrays, release_folder,
                          save_arrays_atomic, write_json_atomic)
from ..config import read_toml
from ..devices import check_runnable, use_device
from ..provenance import provenance
from .ensemble import PresentedNetwork
from .simulation import BatchedSimulation, EnsembleSimulation

#: A running experiment's items shown so far over all phases, for a parent process's progress bar.
PROGRESS_FILE = "progress.json"
#: What a run writes before its first checkpoint. A folder holding only these (or nothing) is a run killed before
#: it saved anything of value: it is started again, with or without --resume.
BEFORE_FIRST_CHECKPOINT = ("settings.json", "standalone", "standalone_eval", PROGRESS_FILE)


def _remove(paths: list[Path]) -> None:
    for path in paths:
        shutil.rmtree(path) if path.is_dir() else path.unlink()


def _first_missing(folder: Path) -> Path | None:
    """The outermost of ``folder`` and its parents that does not exist yet (what making it creates), or None."""
    missing = None
    for path in (folder, *folder.parents):
        if path.exists():
            return missing
        missing = path
    return missing


def model_digest(model: str | Path) -> str:
    """SHA-256 of a model file's constants as read (its base file's included), so that a run cannot resume
    on an edited model."""
    document = json.dumps(read_toml(model), sort_keys=True, default=str)
    return hashlib.sha256(document.encode()).hexdigest()


class ExperimentError(RuntimeError):
    """The output folder or the settings do not allow this run (finished, or a different run)."""


@dataclass(frozen=True)
class Phase:
    """One pass over ``items``, in order, with plasticity on or off.

    ``items``: whatever the network's :meth:`~.simulation.EnsembleSimulation.present` takes (images,
    :class:`~.multimodal.Pairs`), shown at most ``slots_per_run`` per simulation run.
    ``keeps_counts``: record each item's excitatory spike counts in ``counts[name]``, for the report.
    ``unjudged``: layers whose input is missing; their silence does not make an item be shown again.
    ``stops``: ``{position: action}``: a simulation run ends after that many items, and the action
    changes the network before the next run.
    ``after``: changes the network once the last item is done, before the checkpoint that ends the phase.
    """

    name: str
    items: Any
    learning: bool
    keeps_counts: bool = False
    unjudged: tuple[str, ...] = ()
    stops: Mapping[int, Callable[[], None]] = field(default_factory=dict)
    after: Callable[[], None] | None = None


class PhasedExperiment:
    """Runs ``self.phases`` (set by the subclass's ``__init__``) on the network of :meth:`network`, then
    writes :meth:`report`.

    The loop keeps, per phase: ``counts`` (the phases that keep them), ``tries`` (presentations, repeats
    included), ``activity`` (spikes and synaptic operations) and ``seconds`` (plus ``"build"``).
    """

    phases: list[Phase]
    #: attributes (JSON values) that the subclass changes while running, checkpointed with the progress
    checkpointed: tuple[str, ...] = ()

    def __init__(self, settings, out_dir: str | Path, resume: bool, progress: bool):
        self.settings = settings
        self.out = Path(out_dir)
        self.progress = progress
        check_runnable(settings.device)
        self._claim_out_dir(resume)
        self.sim: EnsembleSimulation | None = None
        self.evaluator: BatchedSimulation | None = None  # the frozen copies that show the phases without learning
        self.evaluator_runs = 0  # runs the evaluator has done (its random streams), kept across resumptions
        self.phase, self.position = 0, 0
        self.provenance = provenance()  # the code as it was when the run started, not when it ends
        self._told_at = -np.inf  # when PROGRESS_FILE was last written

    # -- what subclasses provide -------------------------------------------------------------------
    def network(self, structure: dict[str, np.ndarray], copies: int = 1, plastic: bool = True) -> PresentedNetwork:
        """The network to build; ``structure`` holds the arrays of :meth:`structure` when resuming. With
        ``copies`` > 1 and ``plastic=False``: the frozen copies of it that evaluate (settings' ``eval_copies``)."""
        raise NotImplementedError

    def structure(self) -> dict[str, np.ndarray]:
        """Arrays the network's build depends on beyond the settings (checkpointed)."""
        return {}

    def report(self) -> dict:
        """Write the results of the finished run, ``metrics.json`` last; returns the metrics."""
        raise NotImplementedError

    # -- running -----------------------------------------------------------------------------------
    @property
    def checkpoint_path(self) -> Path:
        return self.out / "checkpoint.npz"

    def build(self) -> None:
        """Build (and compile) the network, as the checkpoint left it if there is one. A fresh run whose build
        fails (a refused value, a compiler error) leaves no folder behind."""
        fresh, made = not self.checkpoint_path.exists(), _first_missing(self.out)
        self.out.mkdir(parents=True, exist_ok=True)
        hold_folder(self.out)
        try:
            self._build()
        except BaseException:
            if fresh:
                release_folder(self.out)
                _remove([made] if made else list(self.out.iterdir()))
            raise

    def _build(self) -> None:
        names = [phase.name for phase in self.phases]
        self.tries = dict.fromkeys(names, 0)
        self.activity = {name: {"exc_spikes": 0, "input_spikes": 0, "synaptic_ops": 0} for name in names}
        self.seconds = {"build": 0.0, **dict.fromkeys(names, 0.0)}
        saved = load_arrays(self.checkpoint_path) if self.checkpoint_path.exists() else {}
        self._build_network({key.split("/", 1)[1]: saved.pop(key) for key in list(saved)
                             if key.startswith("structure/")})
        self.counts = {phase.name: np.zeros((len(phase.items), self.sim.ensemble.n_exc), dtype=np.int32)
                       for phase in self.phases if phase.keeps_counts}
        if saved:
            self._restore(saved)
        else:
            write_json_atomic(self.out / "settings.json", self.identity())

    def _build_network(self, structure: dict[str, np.ndarray]) -> None:
        """Build (and compile) a fresh network into ``self.sim``."""
        started = time.perf_counter()
        s = self.settings
        build_dir = self.out / "standalone"
        use_device(s.device, build_dir)
        self.sim = EnsembleSimulation(self.network(structure), s.device, build_dir, seed=s.seed)
        self.seconds["build"] += time.perf_counter() - started

    def run(self) -> dict:
        """All remaining phases; returns the metrics (also written to ``metrics.json``)."""
        if self.sim is None:
            self.build()
        self._saved_at = time.perf_counter()
        while self.phase < len(self.phases):
            phase = self.phases[self.phase]
            self._show_rest_of(phase)
            if phase.after is not None:
                phase.after()
            self.phase, self.position = self.phase + 1, 0
            self._save()
        metrics = self.report()
        self._close()
        return metrics

    @property
    def eval_copies(self) -> int:
        return getattr(self.settings, "eval_copies", 1)

    def _simulation_for(self, phase: Phase) -> tuple[EnsembleSimulation, int]:
        """What shows ``phase`` and how many items at a time: the trained network, ``slots_per_run`` at a time,
        or for a phase without learning, with ``eval_copies`` > 1, its frozen copies, each given four fifths of
        ``slots_per_run`` (the rest is room for repeats)."""
        if phase.learning and self.evaluator is not None:
            raise ExperimentError(f"phase {phase.name!r} learns after the frozen copies were built: the phases "
                                  "without learning must come last when eval_copies > 1")
        if phase.learning or self.eval_copies == 1:
            return self.sim, self.settings.slots_per_run
        if self.evaluator is None:
            self._build_evaluator()
        share = max(1, self.settings.slots_per_run * 4 // 5)
        return self.evaluator, share * self.eval_copies

    def _build_evaluator(self) -> None:
        """Build (and compile) the frozen copies, each set to the trained network's state. The trained network's
        compiled project is of no further use then: the phases without learning come last."""
        started = time.perf_counter()
        s = self.settings
        build_dir = self.out / "standalone_eval"
        use_device(s.device, build_dir)
        network = self.network(self.structure(), copies=self.eval_copies, plastic=False)
        self.evaluator = BatchedSimulation(network, s.device, build_dir, seed=s.seed)
        self.evaluator.load(self.sim.state)
        self.evaluator.runs_done = self.evaluator_runs
        self.seconds["build"] += time.perf_counter() - started

    def _show_rest_of(self, phase: Phase) -> None:
        """The phase's items from ``self.position`` on, as many per simulation run as :meth:`_simulation_for`
        says."""
        n_items = len(phase.items)
        bar = tqdm(total=n_items, initial=self.position, desc=phase.name, unit="item",
                   disable=not self.progress, smoothing=0.05)
        while self.position < n_items:
            started = time.perf_counter()
            sim, at_a_time = self._simulation_for(phase)
            stop = min(self.position + at_a_time,
                       min(end for end in (*phase.stops, n_items) if end > self.position))
            shown = sim.present(phase.items[self.position:stop], learning=phase.learning,
                                judged=dict.fromkeys(phase.unjudged, False))
            if sim is self.evaluator:
                self.evaluator_runs = sim.runs_done
            if phase.keeps_counts:
                self.counts[phase.name][self.position:self.position + shown.n_done] = shown.counts
            self.position += shown.n_done
            self._count_activity(phase.name, shown)
            if shown.n_done and self.position in phase.stops:  # not again after a run that finished nothing
                phase.stops[self.position]()
            self.seconds[phase.name] += time.perf_counter() - started
            bar.update(shown.n_done)
            self._tell_progress()
            if time.perf_counter() - self._saved_at > self.settings.checkpoint_seconds:
                self._save()
        bar.close()

    def _tell_progress(self) -> None:
        """Write :data:`PROGRESS_FILE` (items shown, items in all phases), at most every few seconds."""
        now = time.perf_counter()
        if now - self._told_at < 2.0:
            return
        self._told_at = now
        done = sum(len(phase.items) for phase in self.phases[:self.phase]) + self.position
        write_json_atomic(self.out / PROGRESS_FILE, {"done": done, "total": sum(len(p.items) for p in self.phases)})

    def _count_activity(self, phase: str, shown) -> None:
        fan_out = np.concatenate([layer.connections.sum(axis=1) for layer in self.sim.ensemble.layers])
        counters = self.activity[phase]
        counters["exc_spikes"] += shown.exc_spikes
        counters["input_spikes"] += int(shown.input_spikes.sum())
        counters["synaptic_ops"] += int(shown.input_spikes @ fan_out)
        self.tries[phase] += int(shown.tries.sum())

    # -- checkpoints -------------------------------------------------------------------------------
    def identity(self) -> dict:
        """What must match for a checkpoint to be resumed: the settings and the model file's contents."""
        return {**self.settings.identity(), "model_sha256": model_digest(self.settings.model)}

    def _claim_out_dir(self, resume: bool) -> None:
        """Take the output folder, if it exists, as this process's own (a second run in it is refused), then
        check that it can take this run. An absent folder is made (and taken) by :meth:`build`, so that a run
        refused before it builds leaves nothing behind."""
        if self.out.is_dir():
            hold_folder(self.out)
        self._check_out_dir(resume)

    def _check_out_dir(self, resume: bool) -> None:
        if self._killed_before_first_checkpoint():
            _remove(list(self.out.iterdir()))
            resume = False
        check_run_folder(self.out, resume, self.checkpoint_path)
        if resume:
            saved = json.loads((self.out / "settings.json").read_text())
            digest = saved.pop("model_sha256", None)  # None: a run started before model files were hashed
            current = self.settings.identity()
            changed = [f"{key} {saved.get(key)!r} (now {current.get(key)!r})"
                       for key in sorted(set(saved) | set(current)) if saved.get(key) != current.get(key)]
            if changed:
                raise ExperimentError(f"--resume: {self.out} was started with other settings: {'; '.join(changed)}")
            if digest is not None and digest != model_digest(self.settings.model):
                raise ExperimentError(f"--resume: {self.out} was started on another version of the model file "
                                      f"{self.settings.model} (it was edited since); start a new run")

    def _killed_before_first_checkpoint(self) -> bool:
        if not self.out.is_dir() or self.checkpoint_path.exists():
            return False
        found = [path.name for path in self.out.iterdir() if not fnmatch(path.name, LEFTOVER_PATTERN)]
        return all(name in BEFORE_FIRST_CHECKPOINT for name in found)  # an empty folder too: nothing lost

    def _save(self) -> None:
        arrays = {f"state/{owner}/{name}": value for (owner, name), value in self.sim.state.items()}
        arrays.update({f"counts/{phase}": counts for phase, counts in self.counts.items()})
        arrays.update({f"structure/{name}": value for name, value in self.structure().items()})
        progress = {"phase": self.phase, "position": self.position, "runs_done": self.sim.runs_done,
                    "evaluator_runs": self.evaluator_runs,
                    "tries": self.tries, "activity": self.activity, "seconds": self.seconds,
                    **{name: getattr(self, name) for name in self.checkpointed}}
        arrays["progress"] = np.array(json.dumps(progress))
        save_arrays_atomic(self.checkpoint_path, arrays)
        self._saved_at = time.perf_counter()

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
        self.evaluator_runs = progress.get("evaluator_runs", 0)  # absent: written before evaluators existed
        self.tries, self.seconds, self.activity = progress["tries"], progress["seconds"], progress["activity"]
        for name in self.checkpointed:
            setattr(self, name, progress[name])

    def _close(self) -> None:
        """The run is finished: drop the checkpoint and the compiled project."""
        self.checkpoint_path.unlink(missing_ok=True)
        for project in ("standalone", "standalone_eval"):
            shutil.rmtree(self.out / project, ignore_errors=True)
        release_folder(self.out)
