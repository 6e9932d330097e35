"""The layers of :mod:`brainnets.exact.lif` in NEST, with its precise-spike-time models: the reference.

``'delta'`` runs ``iaf_psc_delta_ps``, ``'exp'`` runs ``iaf_psc_exp_ps``, each input is a ``spike_generator`` with
``precise_times=True`` (its times keep their offsets within the step instead of being rounded to the grid).
NEST delivers every spike after a synaptic delay of at least one step, so each input is emitted ``delay_ms``
(one step by default) before the time at which it must reach the neurons: the neurons see exactly the input
times given, and their spike times need no correction. Input times must therefore be later than the delay.
NEST rounds ``t_ref`` to a whole number of steps; use a multiple of ``dt_ms`` to compare with Brian2.
"""
from __future__ import annotations

import os

import numpy as np

from .lif import as_events, model_params

NEST_MODELS = {"delta": "iaf_psc_delta_ps", "exp": "iaf_psc_exp_ps"}


def _nest():
    """Import NEST quietly (it prints a banner and info messages otherwise)."""
    os.environ.setdefault("PYNEST_QUIET", "1")
    import nest
    try:
        nest.verbosity = nest.VerbosityLevel.ERROR
    except AttributeError:  # older NEST
        nest.set_verbosity("M_ERROR")
    return nest


def simulate_nest(model: str, params: dict | None, weights, input_times, duration_ms: float, dt_ms: float = 0.1,
                  delay_ms: float | None = None) -> list:
    """Spike times (ms) of the layer of :func:`brainnets.exact.lif.simulate` simulated by NEST for ``duration_ms``
    at resolution ``dt_ms``: one sorted array per output neuron."""
    nest = _nest()
    p = model_params(model, params)
    weights = np.atleast_2d(np.asarray(weights, dtype=float))
    n_in, n_out = weights.shape
    sources, times = as_events(input_times, n_in)
    keep = times <= duration_ms
    sources, times = sources[keep], times[keep]
    delay = dt_ms if delay_ms is None else delay_ms
    if times.size and times.min() <= delay:
        raise ValueError(f"input times must be later than the synaptic delay ({delay} ms)")

    nest.ResetKernel()
    nest.resolution = dt_ms
    nest_params = {k: v for k, v in p.items()}
    neurons = nest.Create(NEST_MODELS[model], n_out, params=nest_params)
    generators = nest.Create("spike_generator", n_in, params={"precise_times": True})
    for i in range(n_in):
        own = np.sort(times[sources == i]) - delay
        if own.size:
            generators[i].spike_times = own.tolist()
        targets = np.flatnonzero(weights[i])
        if targets.size:
            nest.Connect(generators[i], neurons[targets.tolist()], "all_to_all",
                         syn_spec={"weight": weights[i, targets].reshape(-1, 1), "delay": delay})
    recorder = nest.Create("spike_recorder")
    nest.Connect(neurons, recorder)
    nest.Simulate(duration_ms)
    events = recorder.get("events")
    senders, spike_times = np.asarray(events["senders"]), np.asarray(events["times"], dtype=float)
    first = neurons[0].global_id
    return [np.sort(spike_times[senders == first + j]) for j in range(n_out)]
