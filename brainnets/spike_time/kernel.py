"""The event loop of :mod:`brainnets.spike_time.forward` compiled for the CPU (numba), one job per (sample, neuron).

This is the thesis' simulator design (Sec 3.6.6: one GPU thread per sample and neuron walking through the
sorted input events) on CPU threads. Each job keeps its neuron's ``a`` and ``b`` as scalars, so the cost is
one pass over the sample's events per neuron, with no tensor allocated per event. It computes in float64
whatever the storage dtype; the rule it applies, step by step, is the one of the vectorised torch loop
(:func:`brainnets.spike_time.forward.simulate_layer_torch`), and the tests hold the two equal.
"""
from __future__ import annotations

import math
from contextlib import contextmanager

import numba
import numpy as np


@numba.njit(cache=True, inline="always")
def _crossing(a: float, b: float, threshold: float, tau: float):
    """:func:`brainnets.spike_time.neuron.crossing` for scalars: ``(t, x, e^{t/tau})``, ``t`` NaN if none."""
    discriminant = b * b - 4 * a * threshold
    x = math.sqrt(max(discriminant, 0.0))
    exp_tau = 2 * a / (b + x) if b + x != 0 else math.inf
    if discriminant >= 0 and a > 0 and b + x > 0:
        return tau * math.log(exp_tau), x, exp_tau
    return math.nan, x, exp_tau


@numba.njit(parallel=True, cache=True)
def simulate(times, source, exp_s, exp_m, n_events, weight, threshold, delta, tau, n_max, duration,
             out_times, out_a, out_x, out_exp_tau, out_events, overflow):
    """Fill the ``out_*`` buffers (batch, n, n_max) and ``overflow`` (batch, n) in place. ``times``, ``source``,
    ``exp_s``, ``exp_m``: (batch, E) sorted input events (time, presynaptic neuron, ``e^{t/tau_s}``,
    ``e^{t/tau}``), of which the first ``n_events[sample]`` are real; ``weight``: (n, n_in)."""
    batch, n = out_times.shape[0], out_times.shape[1]
    for job in numba.prange(batch * n):
        sample, cell = job // n, job % n
        a = b = 0.0
        last = -math.inf
        count = 0
        for z in range(n_events[sample]):
            w = weight[cell, source[sample, z]]
            a += w * exp_s[sample, z]
            b += w * exp_m[sample, z]
            last = max(last, times[sample, z])
            end = times[sample, z + 1] if z + 1 < n_events[sample] else math.inf
            end = min(end, duration)
            while True:
                t, x, exp_tau = _crossing(a, b, threshold, tau)
                if not (t > last and t <= end):
                    break
                if count == n_max:
                    overflow[sample, cell] = True
                    break
                out_times[sample, cell, count] = t
                out_a[sample, cell, count] = a
                out_x[sample, cell, count] = x
                out_exp_tau[sample, cell, count] = exp_tau
                out_events[sample, cell, count] = z + 1
                b -= delta * exp_tau
                last = t
                count += 1
            if overflow[sample, cell]:
                break


def buffers(batch: int, n: int, n_max: int) -> dict[str, np.ndarray]:
    """Empty spike buffers in float64, with the fill of empty slots (:class:`.forward.LayerRun`)."""
    shape = (batch, n, n_max)
    return dict(times=np.full(shape, np.inf), a=np.ones(shape), x=np.ones(shape), exp_tau=np.zeros(shape),
                events=np.zeros(shape, np.int64), overflow=np.zeros((batch, n), np.bool_))


def set_threads(threads: int) -> None:
    """torch's and numba's thread counts, both ``threads``."""
    # the compiled loop runs on numba's OpenMP threads, and each of its launches sets the OpenMP thread count
    # that torch shares: only both set alike keep either at the number asked for
    import torch
    torch.set_num_threads(threads)
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))


@contextmanager
def threads_set(threads: int):
    """:func:`set_threads` inside the block, the previous counts restored after it."""
    import torch
    before = torch.get_num_threads(), numba.get_num_threads()
    set_threads(threads)
    try:
        yield
    finally:
        numba.set_num_threads(before[1])
        torch.set_num_threads(before[0])
