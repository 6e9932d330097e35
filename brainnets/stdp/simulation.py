"""Running an ensemble as a sequence of equal runs, on any device, with its state carried between them.

On the standalone devices the network is built and compiled once; each :meth:`EnsembleSimulation.present`
is then one ``device.run(run_args=...)`` of the same binary, with the stimulus and the network's state
passed in and read back out. In runtime mode the same calls become ordinary ``Network.run`` calls, each
from the network as built (``Network.restore``), so that, as on the standalone devices, every run starts at
t = 0 and needs nothing but the state passed in. Either way ``self.state`` (numpy arrays keyed ``(object name, variable)``) is the network's state
between runs, so it can be checkpointed and restored.
"""
from __future__ import annotations

from pathlib import Path

import brian2
import numpy as np
from brian2 import Quantity, second

from ..devices import build_standalone, is_standalone
from .ensemble import PresentedNetwork
from .protocol import Presentations, decode_presentations

#: Runtime mode: the network as built, restored before every run so that each starts at t = 0 (as a standalone
#: run does) and its results do not depend on how many runs came before, to the last bit.
_START = "as built"
#: Each OpenMP thread has a generator of its own (one without OpenMP): thread k's is seeded with seed + k.
_SEED_FROM_RUN_ARGS = ("for (size_t _k = 0; _k < brian::_random_generators.size(); _k++) "
                       "brian::_random_generators[_k].seed((unsigned long){seed}[0] + _k);")


class EnsembleSimulation:
    """One ensemble, built for one device ('runtime', 'cpp' or 'cuda'), run one stimulus at a time."""

    def __init__(self, ensemble: PresentedNetwork, device: str, directory: str | Path | None = None,
                 seed: int = 0):
        self.ensemble = ensemble
        self.device = device
        self.seed = seed
        self.state: dict[tuple[str, str], np.ndarray] = ensemble.initial_state()
        self.runs_done = 0
        self._stamps = ensemble.time_stamps()
        network = ensemble.network
        if is_standalone(device):
            standalone = brian2.get_device()
            if device == "cpp":
                # Brian2 seeds each standalone run from the clock unless told otherwise; the seed is
                # passed as a run argument so that every run is reproducible and different.
                standalone.apply_run_args()
                seed_array = standalone.get_array_name(ensemble.protocol.group.variables["rng_seed"])
                standalone.insert_code("main", _SEED_FROM_RUN_ARGS.format(seed=seed_array))
            network.run(ensemble.protocol.duration)
            build_standalone(directory, run=False, compile=True)
            self._standalone = standalone
            self._forget_run_arg_files(everyone=True)  # a killed earlier process's
        else:
            network.store(_START)

    def run_seed(self) -> int:
        return int(np.random.SeedSequence([self.seed, self.runs_done]).generate_state(1)[0] % 2**31)

    def present(self, items, learning: bool, judged: dict[str, bool] | None = None) -> Presentations:
        """Show ``items`` (at most ``slots_per_run``; images, or whatever the network's ``stimuli`` takes)
        in order; returns the counts of those accepted. ``judged`` can exempt layers from the judgement
        (``{name: False}``), e.g. one whose input is missing.

        Items not finished when the run ends (because of repeats) are left for the next call.
        """
        judged = self._judged(judged)
        self._run(self._stimuli(items), learning, judged, first_image=0, n_images=len(items))
        return self._decode(len(items), [judged[name] for name in self.ensemble.protocol.layers])

    def _judged(self, judged: dict[str, bool] | None) -> dict[str, bool]:
        return {name: True for name in self.ensemble.protocol.layers} | (judged or {})

    def _stimuli(self, items) -> dict:
        protocol = self.ensemble.protocol
        return {protocol.stimuli[name]: protocol.stimulus(name, values_of_stream)
                for name, values_of_stream in self.ensemble.stimuli(items).items()}

    def _run(self, stimuli: dict, learning: bool, judged: dict[str, bool], first_image, n_images) -> None:
        """One run: each copy shows the items ``first_image`` (its first) to ``first_image + n_images`` of
        ``stimuli``, from the carried state."""
        network, protocol = self.ensemble, self.ensemble.protocol
        values = {**{(layer.exc.name, "learning"): float(learning) for layer in network.layers},
                  ("protocol", "n_images"): n_images,
                  ("protocol", "first_image"): first_image,
                  ("protocol", "image"): 0,
                  ("protocol", "rng_seed"): self.run_seed(),
                  **{("protocol", f"n_spikes_{name}"): 0 for name in protocol.layers},
                  **{("protocol", f"judge_{name}"): judged[name] for name in protocol.layers},
                  **{(group.name, "n_emitted"): np.zeros(len(group), dtype=np.int32)
                     for group in protocol.inputs.values()},
                  **self.state}
        if is_standalone(self.device):
            self._run_standalone(stimuli, values)
        else:
            self._run_runtime(stimuli, values)
        self.runs_done += 1

    def _view(self, owner: str, name: str):
        return getattr(self.ensemble.network[owner], name)

    def _run_standalone(self, stimuli, values):
        run_args = dict(stimuli)
        for (owner, name), value in values.items():
            view = self._view(owner, name)
            run_args[view] = Quantity(value, dim=view.dim)
        self._standalone.run(run_args=run_args, with_output=False)
        self._forget_run_arg_files()
        self._read_state()

    def _forget_run_arg_files(self, everyone: bool = False):
        """Brian2 writes every run-argument array to ``static_arrays/init_..._<md5 of the values>.dat`` (beside a
        ``.lock`` file) and never removes them; this run's are removed, or with ``everyone`` all there are.
        Those of a process killed mid-write must go before the next run: a half-written file with the name
        of the values about to be passed would be taken as written (Brian2 writes only absent files)."""
        folder = Path(self._standalone.project_dir) / "static_arrays"
        names = ([path.name for path in folder.glob("init_*.dat*")] if everyone else
                 [f"{name}{suffix}" for name in self._standalone.run_args_arrays for suffix in ("", ".lock")])
        for name in names:
            (folder / name).unlink(missing_ok=True)

    def _run_runtime(self, stimuli, values):
        network = self.ensemble.network
        network.restore(_START)
        for timed_array, stimulus in stimuli.items():
            timed_array.values[:] = stimulus
        brian2.seed(values[("protocol", "rng_seed")])
        for (owner, name), value in values.items():
            view = self._view(owner, name)
            view[:] = Quantity(value, dim=view.dim)
        network.run(self.ensemble.protocol.duration, namespace={})
        self._read_state()

    def _events(self, monitor, variable: str) -> np.ndarray:
        return np.asarray(getattr(monitor, variable)[:])

    def _recorded(self) -> dict:
        """What the last run's monitors recorded, read once (a standalone device reads them from files): the
        judgements' variables, each layer's spikes as (neuron, step), the spikes each input neuron sent."""
        protocol = self.ensemble.protocol
        judged = protocol.judgements
        return {"judged": {name: self._events(judged, name)
                           for name in ("i", "image", "retries", *(f"n_spikes_{layer}" for layer in protocol.layers))},
                "spikes": [(self._events(monitor, "i"), _steps(self._events(monitor, "t") * second,
                                                               self.ensemble.model.dt))
                           for monitor in protocol.spikes],
                "emitted": [np.asarray(group.n_emitted[:]) for group in protocol.inputs.values()]}

    def _decode(self, n_items, judged_layers: list[bool], copy: int = 0, recorded: dict | None = None) -> Presentations:
        """What copy ``copy`` did in the last run, showing ``n_items`` items (from :meth:`_recorded`)."""
        protocol = self.ensemble.protocol
        recorded = self._recorded() if recorded is None else recorded
        judged = recorded["judged"]
        mine = judged["i"] == copy
        spikes_per_layer = np.stack([judged[f"n_spikes_{name}"][mine] for name in protocol.layers], axis=1)
        neurons, steps, offset = [], [], 0
        for (neuron, step), layer in zip(recorded["spikes"], self.ensemble.layers):
            ours = neuron // layer.n_exc == copy
            neurons.append(neuron[ours] % layer.n_exc + offset)
            steps.append(step[ours])
            offset += layer.n_exc
        input_spikes = [emitted.reshape(protocol.copies, -1)[copy] for emitted in recorded["emitted"]]
        return decode_presentations(
            self.ensemble.model, self.ensemble.n_exc, n_items, judged["image"][mine], spikes_per_layer,
            judged["retries"][mine], np.concatenate(neurons), np.concatenate(steps),
            input_spikes=np.concatenate(input_spikes), judged_layers=judged_layers)

    def _read_state(self):
        """Copy the carried variables out of the network; times become relative to the next run's start."""
        next_start = float(self.ensemble.protocol.duration)
        for group, names in self.ensemble.state_variables().items():
            for name in names:
                value = np.array(getattr(group, name)[:], copy=True)
                if np.isnan(value).any():
                    raise FloatingPointError(f"the simulation produced NaN in {group.name}.{name} "
                                             f"(run {self.runs_done})")
                if (group.name, name) in self._stamps:
                    value = value - next_start
                self.state[(group.name, name)] = value


def _steps(times, dt) -> np.ndarray:
    return np.round(np.asarray(times / dt)).astype(np.int64)


class BatchedSimulation(EnsembleSimulation):
    """A frozen network evaluated many items at once: the ensemble is built with ``copies`` > 1 and
    ``plastic=False``, and each copy shows its own share of the items, judged by its own protocol neuron (the
    repeat rule per copy). :meth:`present` shows every item it is given, in as many runs as that takes (a copy
    that repeated items goes on with the rest of its share in the next run); :meth:`load` takes the state of
    the trained one-copy network.

    Its numbers are those of :class:`EnsembleSimulation` showing the items one after the other, up to the
    random draws: every copy starts from the same state, where one network would carry each item's leftover
    activity into the next (after a rest that lets it decay)."""

    def __init__(self, ensemble: PresentedNetwork, device: str, directory: str | Path | None = None,
                 seed: int = 0):
        if ensemble.layers[0].plastic:
            raise ValueError("a batched simulation evaluates a frozen network: build it with plastic=False")
        super().__init__(ensemble, device, directory, seed)

    def load(self, state: dict) -> None:
        """Every copy set to ``state``, the state of the one-copy network (plastic or not)."""
        self.state = self.ensemble.replicated(state)

    def present(self, items, learning: bool = False, judged: dict[str, bool] | None = None) -> Presentations:
        """Show every one of ``items`` (up to the protocol's :attr:`~.protocol.Protocol.capacity`), shared out
        in order among the copies; returns their counts, in the order of ``items``."""
        if learning:
            raise ValueError("a batched simulation evaluates a frozen network: learning=False only")
        protocol = self.ensemble.protocol
        judged = self._judged(judged)
        looked = [judged[name] for name in protocol.layers]
        n_items = len(items)
        shares = np.diff(np.linspace(0, n_items, protocol.copies + 1).round().astype(int))
        first = np.concatenate([[0], np.cumsum(shares)[:-1]])
        left = shares.copy()
        counts = np.zeros((n_items, self.ensemble.n_exc), dtype=np.int64)
        tries = np.zeros(n_items, dtype=np.int64)
        exc_spikes, input_spikes = 0, 0
        unfinished_tries = np.zeros(protocol.copies, dtype=np.int64)  # of the item a copy was showing at a run's end
        stimuli = self._stimuli(items)
        self._start_afresh()
        while left.any():
            self._run(stimuli, False, judged, first_image=first.copy(), n_images=left.copy())
            recorded = self._recorded()
            judged_copy, judged_image = recorded["judged"]["i"], recorded["judged"]["image"]
            for copy in range(protocol.copies):
                shown = self._decode(left[copy], looked, copy, recorded)
                done = slice(first[copy], first[copy] + shown.n_done)
                counts[done], tries[done] = shown.counts, shown.tries
                if shown.n_done:
                    tries[first[copy]] += unfinished_tries[copy]
                    unfinished_tries[copy] = 0
                exc_spikes += shown.exc_spikes
                input_spikes = input_spikes + shown.input_spikes
                first[copy] += shown.n_done
                left[copy] -= shown.n_done
                if left[copy]:
                    unfinished_tries[copy] += np.sum((judged_copy == copy) & (judged_image == shown.n_done))
        return Presentations(counts=counts, tries=tries, exc_spikes=exc_spikes,
                             input_spikes=np.asarray(input_spikes, dtype=np.int64))

    def _start_afresh(self) -> None:
        """Every copy's judgement as at its first item: a copy that ran out of items last time went on judging
        empty slots (and brightening its input) until the run ended."""
        p = self.ensemble.model.protocol
        self.state[("protocol", "retries")] = np.zeros(self.ensemble.protocol.copies, dtype=np.int32)
        for name in self.ensemble.protocol.layers:
            self.state[("protocol", f"intensity_{name}")] = np.full(self.ensemble.protocol.copies,
                                                                    float(p.intensity_start))
