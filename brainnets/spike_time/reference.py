"""The same neuron as a clock-driven Brian2 model: the reference for the exact event-driven solver (bacho.md §7.2).

In the normalised units of :mod:`brainnets.spike_time.neuron` the kernel ``exp(-t/tau) - exp(-t/tau_s)`` with ``tau = 2 tau_s`` is
the potential of

    du/dt = (-u + I)/tau,    dI/dt = -I/tau_s,    I += w per input spike,

integrated exactly (the equations are linear), with threshold ``u >= ϑ`` and subtractive reset ``u -= Δ`` (the
current is not reset; no refractory period). On a grid of step ``dt`` an input acts at the end of the step that
holds it and a crossing is found at the end of the step in which it happens, the spike being reported at that
step's start: with inputs on the grid, a neuron's first spike comes at most one step after the exact one, and
later spikes drift by a few steps, since each reset is applied up to a step late.
"""
from __future__ import annotations

import numpy as np
from brian2 import Network, NeuronGroup, SpikeGeneratorGroup, SpikeMonitor, Synapses, second

from .neuron import Neuron

EQUATIONS = """
du/dt = (-u + I) / tau : 1
dI/dt = -I / tau_s : 1
"""


def brian2_spikes(in_times: np.ndarray, weight: np.ndarray, neuron: Neuron, dt: float,
                  duration: float) -> list[np.ndarray]:
    """Spike times (s) of each of the ``weight.shape[0]`` neurons driven by ``in_times`` (n_in, k; s, inf =
    none) through ``weight`` (n, n_in), simulated by Brian2 with step ``dt`` for ``duration``."""
    n, n_in = weight.shape
    source, slot = np.nonzero(np.isfinite(in_times))
    inputs = SpikeGeneratorGroup(n_in, source, in_times[source, slot] * second, dt=dt * second)
    group = NeuronGroup(n, EQUATIONS, threshold="u >= theta", reset="u -= delta", method="exact", dt=dt * second,
                        namespace=dict(tau=neuron.tau * second, tau_s=neuron.tau_s * second,
                                       theta=neuron.threshold, delta=neuron.delta))
    synapses = Synapses(inputs, group, "w : 1", on_pre="I_post += w", dt=dt * second)
    synapses.connect()
    synapses.w[:] = weight[synapses.j[:], synapses.i[:]]
    monitor = SpikeMonitor(group)
    Network(inputs, group, synapses, monitor).run(duration * second, namespace={})
    trains = monitor.spike_trains()
    return [np.asarray(trains[i] / second) for i in range(n)]
