"""Running an ensemble as a sequence of equal runs, on any device, with its state carried between them.

On the standalone devices the network is built and compiled once; each :meth:`EnsembleSimulation.present`
is then one ``device.run(run_args=...)`` of the same binary, with the stimulus and the network's state
passed in and read back out. In runtime mode the same calls become ordinary ``Network.run`` calls.
Either way ``self.state`` (numpy arrays keyed ``(object name, variable)``) is the network's state
between runs, so it can be checkpointed and restored.
"""
from __future__ import annotations

from pathlib import Path

import brian2
import numpy as np
from brian2 import Quantity, second

from ..devices import is_standalone
from .ensemble import UnimodalEnsemble
from .protocol import Presentations, decode_presentations

_SEED_FROM_RUN_ARGS = "brian::_random_generators[0].seed((unsigned long){seed}[0]);"


class EnsembleSimulation:
    """One ensemble, built for one device ('runtime', 'cpp' or 'cuda'), run one stimulus at a time."""

    def __init__(self, ensemble: UnimodalEnsemble, device: str, directory: str | Path | None = None,
                 seed: int = 0):
        self.ensemble = ensemble
        self.device = device
        self.seed = seed
        self.state: dict[tuple[str, str], np.ndarray] = ensemble.initial_state()
        self.runs_done = 0
        self._seen = {}  # runtime mode: events of each monitor already read
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
            standalone.build(run=False, compile=True, directory=str(directory) if directory else None)
            self._standalone = standalone

    def run_seed(self) -> int:
        return int(np.random.SeedSequence([self.seed, self.runs_done]).generate_state(1)[0] % 2**31)

    def present(self, images: np.ndarray, learning: bool) -> Presentations:
        """Show ``images`` (at most ``slots_per_run``) in order; returns the counts of those accepted.

        Images not finished when the run ends (because of repeats) are left for the next call.
        """
        protocol = self.ensemble.protocol
        values = {("exc", "learning"): float(learning),
                  ("protocol", "n_images"): len(images),
                  ("protocol", "image"): 0,
                  ("protocol", "n_spikes"): 0,
                  ("protocol", "rng_seed"): self.run_seed(),
                  ("input", "n_emitted"): np.zeros(self.ensemble.n_input, dtype=np.int32),
                  **self.state}
        stimulus = protocol.stimulus(images)
        if is_standalone(self.device):
            records = self._run_standalone(stimulus, values)
        else:
            records = self._run_runtime(stimulus, values)
        self.runs_done += 1
        return decode_presentations(self.ensemble.model, self.ensemble.n_exc, len(images), *records,
                                    input_spikes=protocol.input.n_emitted[:])

    def _view(self, owner: str, name: str):
        return getattr(self.ensemble.network[owner], name)

    def _run_standalone(self, stimulus, values):
        protocol = self.ensemble.protocol
        run_args = {protocol.pixels: stimulus}
        for (owner, name), value in values.items():
            view = self._view(owner, name)
            run_args[view] = Quantity(value, dim=view.dim)
        self._standalone.run(run_args=run_args, with_output=False)
        self._forget_run_arg_files()
        self._read_state(run_start=0 * second)
        judged, spikes = protocol.judgements, protocol.spikes
        return (judged.image[:], judged.n_spikes[:], judged.retries[:],
                spikes.i[:], _steps(spikes.t[:], self.ensemble.model.dt))

    def _forget_run_arg_files(self):
        """Brian2 writes every run-argument array to a file named by its hash and never removes it."""
        folder = Path(self._standalone.project_dir) / "static_arrays"
        for name in self._standalone.run_args_arrays:
            (folder / name).unlink(missing_ok=True)

    def _run_runtime(self, stimulus, values):
        protocol = self.ensemble.protocol
        network = self.ensemble.network
        start = network.t
        protocol.pixels.values[:] = stimulus
        brian2.seed(values[("protocol", "rng_seed")])
        for (owner, name), value in values.items():
            view = self._view(owner, name)
            shift = float(start) if (owner, name) in self._stamps else 0.0
            view[:] = Quantity(np.asarray(value) + shift, dim=view.dim)
        network.run(protocol.duration)
        self._read_state(run_start=start)
        judged, spikes = protocol.judgements, protocol.spikes
        j0, s0 = self._seen.get("judged", 0), self._seen.get("spikes", 0)
        self._seen = {"judged": judged.num_spikes, "spikes": spikes.num_spikes}
        return (judged.image[j0:], judged.n_spikes[j0:], judged.retries[j0:],
                spikes.i[s0:], _steps(spikes.t[s0:] - start, self.ensemble.model.dt))

    def _read_state(self, run_start):
        """Copy the carried variables out of the network; times become relative to the next run's start."""
        next_start = float(run_start + self.ensemble.protocol.duration)
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
