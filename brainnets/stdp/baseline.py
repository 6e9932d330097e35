"""The per-image training loop of published Brian2 ports, kept as a speed baseline.

The same :class:`~brainnets.stdp.ensemble.DiehlCookLayer` (same equations, same constants) is driven
the way Diehl & Cook's script and its Brian2 ports drive it: Brian2 runtime mode, a ``PoissonGroup``
whose rates Python sets before each presentation, weights normalized in numpy (by the numpy twin of the
in-simulation normalization, :func:`~brainnets.stdp.ensemble.normalize_columns`), and ``run()`` calls for
every presentation and every rest. ``brainnets study bench`` times it against
:class:`~brainnets.stdp.simulation.EnsembleSimulation`.
"""
from __future__ import annotations

import numpy as np
from brian2 import Hz, Network, PoissonGroup, Quantity, SpikeMonitor

from .ensemble import DiehlCookLayer, normalize_columns
from .model import DiehlCookModel


class PerImageLoop:
    def __init__(self, model: DiehlCookModel, n_exc: int, n_input: int = 784, *, rng: np.random.Generator):
        self.model = model
        self.input = PoissonGroup(n_input, rates=0 * Hz, name="poisson_input")
        self.layer = DiehlCookLayer(model, n_exc, self.input, rng=rng)
        self.layer.input_synapses.w = self.layer.initial_weights
        for name, values in model.stdp.initial_state(len(self.layer.initial_weights)).items():
            view = getattr(self.layer.input_synapses, name)
            view[:] = Quantity(values, dim=view.dim)
        self.layer.exc.learning = 1.0
        self.spikes = SpikeMonitor(self.layer.exc, name="baseline_spikes")
        self.network = Network(self.input, *self.layer.objects, self.spikes)

    def normalize(self) -> None:
        synapses = self.layer.input_synapses
        weights = np.asarray(synapses.w[:]).reshape(self.layer.n_input, self.layer.n_exc)
        synapses.w[:] = normalize_columns(weights, self.model.protocol.weight_sum)[0].ravel()

    def train(self, images: np.ndarray) -> int:
        """Learn from each image in turn; returns the number of presentations it took."""
        p = self.model.protocol
        presentations = 0
        for image in images.reshape(len(images), -1):
            intensity, retries = p.intensity_start, 0
            while True:
                self.normalize()
                before = self.spikes.num_spikes
                self.input.rates = image * p.rate_per_pixel * intensity
                self.network.run(p.t_present)
                fired = self.spikes.num_spikes - before
                self.input.rates = 0 * Hz
                self.network.run(p.t_rest)
                presentations += 1
                if fired >= p.min_spikes or retries >= p.max_retries:
                    break
                intensity, retries = intensity + p.intensity_step, retries + 1
        return presentations
