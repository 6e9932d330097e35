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
_SEED_FROM_RUN_ARGS = "brian::_random_generators[0].seed((unsigned long){seed}[0]);"


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
        network, protocol = self.ensemble, self.ensemble.protocol
        judged = {name: True for name in protocol.layers} | (judged or {})
        values = {**{(layer.exc.name, "learning"): float(learning) for layer in network.layers},
                  ("protocol", "n_images"): len(items),
                  ("protocol", "image"): 0,
                  ("protocol", "rng_seed"): self.run_seed(),
                  **{("protocol", f"n_spikes_{name}"): 0 for name in protocol.layers},
                  **{("protocol", f"judge_{name}"): judged[name] for name in protocol.layers},
                  **{(group.name, "n_emitted"): np.zeros(len(group), dtype=np.int32)
                     for group in protocol.inputs.values()},
                  **self.state}
        stimuli = {protocol.stimuli[name]: protocol.stimulus(name, values_of_stream)
                   for name, values_of_stream in network.stimuli(items).items()}
        if is_standalone(self.device):
            self._run_standalone(stimuli, values)
        else:
            self._run_runtime(stimuli, values)
        self.runs_done += 1
        return self._decode(len(items), [judged[name] for name in protocol.layers])

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

    def _decode(self, n_items: int, judged_layers: list[bool]) -> Presentations:
        protocol = self.ensemble.protocol
        judged = protocol.judgements
        spikes_per_layer = np.stack([self._events(judged, f"n_spikes_{name}") for name in protocol.layers],
                                    axis=1)
        neurons, steps, offset = [], [], 0
        for monitor, layer in zip(protocol.spikes, self.ensemble.layers):
            neurons.append(self._events(monitor, "i") + offset)
            steps.append(_steps(self._events(monitor, "t") * second, self.ensemble.model.dt))
            offset += layer.n_exc
        shown = decode_presentations(
            self.ensemble.model, self.ensemble.n_exc, n_items, self._events(judged, "image"),
            spikes_per_layer, self._events(judged, "retries"), np.concatenate(neurons), np.concatenate(steps),
            input_spikes=np.concatenate([group.n_emitted[:] for group in protocol.inputs.values()]),
            judged_layers=judged_layers)
        return shown

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
